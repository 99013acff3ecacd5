"""POST /devices/{device_id}/revert — make the attributes of an earlier revision current again."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends, Response

from registry.devices.service import DeviceService
from registry.http.app import RouteApp
from registry.http.identity import principal
from registry.http.lambda_entry import entry
from registry.http.operation_docs import ETAG, IF_MATCH, answer, errors
from registry.http.params import DeviceIdPath, IdempotencyKey, IfMatch
from registry.http.preconditions import expected_version
from registry.http.views import device_response
from registry.schemas import DeviceDetail, RevertRequest
from registry.wiring import get_service

app = RouteApp("revert_device")


@app.operation(
    summary="Revert a device's attributes to a revision",
    description=(
        "The attributes in force at `to_revision` become current again as a new `config` history entry "
        "that carries `reverted_to` and the `reason`; the status is not touched. Nothing to change: the "
        "current device, and no new revision. 404 names the latest revision when `to_revision` has no "
        "entry; 409 when that revision's MAC address is now another device's. " + IF_MATCH
    ),
    responses={
        200: answer("The device with the reverted attributes", ETAG, replayable=True),
        **errors(400, 404, 409, 412, 413, 415, 422),
    },
    tags=["devices"],
)
def revert_device(
    device_id: DeviceIdPath,
    request: RevertRequest,
    service: Annotated[DeviceService, Depends(get_service)],
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> Response[DeviceDetail]:
    state = service.revert(
        device_id,
        request.to_revision,
        reason=request.reason,
        expected=expected_version(if_match),
        principal=principal(app),
    )
    return device_response(state)


lambda_handler = entry(app)
