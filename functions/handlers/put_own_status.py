"""PUT /device/status — the calling device reports its own status (device credential)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends, Response

from registry.devices.service import DeviceService
from registry.http.app import RouteApp
from registry.http.identity import own_device, principal
from registry.http.lambda_entry import entry
from registry.http.operation_docs import ETAG, IF_MATCH, answer, errors
from registry.http.params import IdempotencyKey, IfMatch
from registry.http.preconditions import expected_version
from registry.http.views import status_response
from registry.schemas import DeviceStatus, StatusUpdate
from registry.wiring import get_service

app = RouteApp("put_own_status")


@app.operation(
    summary="Report this device's status",
    description=(
        "As `PUT /devices/{id}/status` for the device that owns the credential sent; its history entry "
        "says `changed_by: device:<credential_id>`. Every accepted report is a sign of life (`last_seen_at`). "
        + IF_MATCH
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
    state, seen = service.report(own_device(app), update, expected=expected_version(if_match), principal=principal(app))
    return status_response(state, seen)


lambda_handler = entry(app)
