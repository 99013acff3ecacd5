"""GET /devices/{device_id} — a device's attributes (not its status)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends, Response

from registry.entry import entry
from registry.models import DeviceDetail
from registry.operation_docs import ETAG, answer, errors
from registry.params import DeviceIdPath
from registry.resolver import RouteApp
from registry.service import DeviceService
from registry.views import device_response
from registry.wiring import get_service

app = RouteApp("get_device")


@app.operation(
    summary="Get a device",
    responses={200: answer("The device; `ETag` is its config version", ETAG), **errors(404, 422)},
    tags=["devices"],
)
def get_device(
    device_id: DeviceIdPath, service: Annotated[DeviceService, Depends(get_service)]
) -> Response[DeviceDetail]:
    return device_response(service.get(device_id))


lambda_handler = entry(app)
