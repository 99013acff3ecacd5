"""DELETE /devices/{device_id} — retire a device; its history stays readable."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends, Response

from registry.devices.service import DeviceService
from registry.http.app import RouteApp
from registry.http.identity import principal
from registry.http.lambda_entry import entry
from registry.http.operation_docs import IF_MATCH, answer, errors
from registry.http.params import DeviceIdPath, IdempotencyKey, IfMatch
from registry.http.preconditions import expected_version
from registry.wiring import get_service

app = RouteApp("delete_device")


@app.operation(
    summary="Delete a device",
    description=(
        "Removes the device from reads and lists and frees its MAC address. Its history stays readable "
        "and ends with a `deleted` entry. " + IF_MATCH
    ),
    responses={204: answer("Deleted", replayable=True, body=False), **errors(400, 404, 409, 412, 413, 422)},
    tags=["devices"],
)
def delete_device(
    device_id: DeviceIdPath,
    service: Annotated[DeviceService, Depends(get_service)],
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> Response[None]:
    service.delete(device_id, expected=expected_version(if_match), principal=principal(app))
    return Response(status_code=204)


lambda_handler = entry(app)
