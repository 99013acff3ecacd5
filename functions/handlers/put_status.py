"""PUT /devices/{device_id}/status — report a device's status."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends, Response

from registry.devices.service import DeviceService
from registry.http.app import RouteApp
from registry.http.identity import principal
from registry.http.lambda_entry import entry
from registry.http.operation_docs import ETAG, IF_MATCH, answer, errors
from registry.http.params import DeviceIdPath, IdempotencyKey, IfMatch
from registry.http.preconditions import expected_version
from registry.http.views import status_response
from registry.schemas import DeviceStatus, StatusUpdate
from registry.wiring import get_service

app = RouteApp("put_status")


@app.operation(
    summary="Report a device's status",
    description=(
        "A new status or reason is a new version and a history entry; the same status and reason again "
        "changes nothing (PUT is idempotent). Every accepted report, changed or not, is a sign of life: it "
        "refreshes `last_seen_at` (at most once per liveness resolution), and makes a pending or silent "
        "device `reporting` (a `liveness` history entry). " + IF_MATCH
    ),
    responses={200: answer("The status now", ETAG, replayable=True), **errors(400, 404, 409, 412, 413, 415, 422)},
    tags=["status"],
)
def put_status(
    device_id: DeviceIdPath,
    update: StatusUpdate,
    service: Annotated[DeviceService, Depends(get_service)],
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> Response[DeviceStatus]:
    state, seen = service.report(device_id, update, expected=expected_version(if_match), principal=principal(app))
    return status_response(state, seen)


lambda_handler = entry(app)
