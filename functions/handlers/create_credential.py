"""POST /devices/{device_id}/credentials — a new credential for a device; its secret is answered once."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends, Response

from registry.credentials.service import CredentialService
from registry.http.app import RouteApp
from registry.http.lambda_entry import entry
from registry.http.media import JSON
from registry.http.operation_docs import answer, errors
from registry.http.params import DeviceIdPath
from registry.schemas import CredentialCreated, CredentialRequest
from registry.wiring import get_credential_service

app = RouteApp("create_credential")


@app.operation(
    summary="Create a device credential",
    description=(
        "The device authenticates its own routes (`/device`, `/device/status`) with it: "
        "`Authorization: Device <credential_id>:<secret>`. The secret is in this answer only; keep it. "
        "At most 2 active credentials per device: to rotate, create the new one, give it to the device, "
        "then revoke the old one. No `Idempotency-Key`: the answer holds a secret and is never stored, "
        "so a retried request makes another credential (revoke the one you did not keep)."
    ),
    responses={201: answer("Created; the secret is shown this once"), **errors(400, 404, 409, 413, 415, 422)},
    tags=["credentials"],
)
def create_credential(
    device_id: DeviceIdPath,
    request: CredentialRequest,
    credentials: Annotated[CredentialService, Depends(get_credential_service)],
) -> Response[CredentialCreated]:
    issued = credentials.create(device_id)
    body = CredentialCreated(
        credential_id=issued.record.credential_id, secret=issued.secret, created_at=issued.record.created_at
    )
    return Response(status_code=201, content_type=JSON, body=body, headers={"Cache-Control": "no-store"})


lambda_handler = entry(app)
