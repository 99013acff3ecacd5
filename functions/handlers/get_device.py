"""GET /devices/{device_id} — a device's attributes (not its status), now or as of a past time."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends, Response

from registry.devices.service import DeviceService
from registry.http.app import RouteApp
from registry.http.lambda_entry import entry
from registry.http.operation_docs import ETAG, answer, errors, not_modified
from registry.http.params import AsOf, DeviceIdPath
from registry.http.views import device_as_of_response, device_response
from registry.schemas import DeviceDetail
from registry.wiring import get_service

app = RouteApp("get_device")


@app.operation(
    summary="Get a device",
    description=(
        "With `as_of`: the attributes in force at that time and their `config_version`, deleted devices "
        "included; 404 if the device did not exist then (before its registration, at or after its deletion)."
    ),
    responses={
        200: answer("The device; `ETag` is its config version (none on an `as_of` answer)", sometimes=(ETAG,)),
        **not_modified(),
        **errors(404, 422),
    },
    tags=["devices"],
)
def get_device(
    device_id: DeviceIdPath, service: Annotated[DeviceService, Depends(get_service)], as_of: AsOf = None
) -> Response[DeviceDetail]:
    if as_of is not None:
        return device_as_of_response(device_id, service.config_as_of(device_id, as_of))
    return device_response(service.get(device_id))


lambda_handler = entry(app)
