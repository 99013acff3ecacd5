"""PUT /device/status — the calling device reports its own status (device credential)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends, Response

from registry.entry import entry
from registry.models import DeviceStatus, StatusUpdate
from registry.operation_docs import ETAG, IF_MATCH, answer, errors
from registry.params import IdempotencyKey, IfMatch
from registry.preconditions import expected_version
from registry.resolver import RouteApp, own_device, principal
from registry.service import DeviceService
from registry.views import status_response
from registry.wiring import get_service

app = RouteApp("put_own_status")


@app.operation(
    summary="Report this device's status",
    description=(
        "As `PUT /devices/{id}/status` for the device that owns the credential sent; its history entry "
        "says `changed_by: device:<credential_id>`. " + IF_MATCH
    ),
    responses={200: answer("The status now", ETAG, replayable=True), **errors(400, 404, 409, 412, 413, 415, 422)},
    tags=["device"],
)
def put_own_status(
    update: StatusUpdate,
    service: Annotated[DeviceService, Depends(get_service)],
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> Response[DeviceStatus]:
    state = service.set_status(own_device(app), update, expected=expected_version(if_match), principal=principal(app))
    return status_response(state)


lambda_handler = entry(app)
