"""GET /devices/{device_id}/credentials — a device's active credentials (never their secrets)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends

from registry.credentials.service import CredentialService
from registry.http.app import RouteApp
from registry.http.lambda_entry import entry
from registry.http.operation_docs import errors
from registry.http.params import DeviceIdPath
from registry.http.views import credential_page
from registry.schemas import CredentialPage
from registry.wiring import get_credential_service

app = RouteApp("list_credentials")


@app.operation(
    summary="List a device's credentials",
    description="Ids, creation and last use (kept to within an hour) of its active credentials; never a secret.",
    responses={200: {"description": "The device's active credentials"}, **errors(404, 422)},
    tags=["credentials"],
)
def list_credentials(
    device_id: DeviceIdPath, credentials: Annotated[CredentialService, Depends(get_credential_service)]
) -> CredentialPage:
    return credential_page(credentials.of_device(device_id))


lambda_handler = entry(app)
