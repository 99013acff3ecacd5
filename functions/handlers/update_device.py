"""PATCH /devices/{device_id} — change attributes with a JSON merge patch."""

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
from registry.schemas import DeviceDetail, DevicePatch
from registry.wiring import get_service

app = RouteApp("update_device")


@app.operation(
    summary="Change a device's attributes",
    description=(
        "A JSON merge patch (RFC 7396): fields sent replace the current ones, `null` clears an optional "
        "field or removes a key of `attributes`. " + IF_MATCH
    ),
    responses={
        200: answer("The changed device", ETAG, replayable=True),
        **errors(400, 404, 409, 412, 413, 415, 422),
    },
    tags=["devices"],
)
def update_device(
    device_id: DeviceIdPath,
    patch: DevicePatch,
    service: Annotated[DeviceService, Depends(get_service)],
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> Response[DeviceDetail]:
    state = service.update(device_id, patch.changes(), expected=expected_version(if_match), principal=principal(app))
    return device_response(state)


lambda_handler = entry(app)
