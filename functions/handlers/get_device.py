"""GET /devices/{device_id} — a device's attributes (not its status)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends, Response

from registry.api import create_app, lambda_entry, route
from registry.docs import ETAG, answer, errors
from registry.models import DeviceDetail
from registry.params import DeviceIdPath
from registry.service import DeviceService
from registry.views import device_response
from registry.wiring import get_service

app = create_app()


@route(
    app,
    "get_device",
    summary="Get a device",
    responses={200: answer("The device; `ETag` is its config version", ETAG), **errors(404, 422)},
    tags=["devices"],
)
def get_device(
    device_id: DeviceIdPath, service: Annotated[DeviceService, Depends(get_service)]
) -> Response[DeviceDetail]:
    return device_response(service.get(device_id))


lambda_handler = lambda_entry(app, "get_device")
