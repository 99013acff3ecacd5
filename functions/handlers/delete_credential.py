"""DELETE /devices/{device_id}/credentials/{credential_id} — revoke a device credential."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.openapi.params import Path

from registry.credentials.service import CredentialService
from registry.http.app import RouteApp
from registry.http.lambda_entry import entry
from registry.http.operation_docs import answer, errors
from registry.http.params import DeviceIdPath, IdempotencyKey
from registry.schemas import CredentialId
from registry.wiring import get_credential_service

app = RouteApp("delete_credential")


@app.operation(
    summary="Revoke a device credential",
    description=(
        "The credential stops working at once locally and within 60 s in AWS (the device authorizer "
        "caches a verdict that long)."
    ),
    responses={204: answer("Revoked", replayable=True, body=False), **errors(400, 404, 409, 413, 422)},
    tags=["credentials"],
)
def delete_credential(
    device_id: DeviceIdPath,
    credential_id: Annotated[CredentialId, Path(description="Credential id (UUID)")],
    credentials: Annotated[CredentialService, Depends(get_credential_service)],
    idempotency_key: IdempotencyKey = None,
) -> Response[None]:
    credentials.revoke(device_id, credential_id)
    return Response(status_code=204)


lambda_handler = entry(app)
