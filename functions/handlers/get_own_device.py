"""GET /device — the calling device's own attributes (device credential)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends, Response

from registry.devices.service import DeviceService
from registry.http.app import RouteApp
from registry.http.identity import own_device
from registry.http.lambda_entry import entry
from registry.http.operation_docs import ETAG, answer, errors
from registry.http.views import device_response
from registry.schemas import DeviceDetail
from registry.wiring import get_service

app = RouteApp("get_own_device")


@app.operation(
    summary="Get this device",
    description="As `GET /devices/{id}` for the device that owns the credential sent.",
    responses={200: answer("The device; `ETag` is its config version", ETAG), **errors(404, 422)},
    tags=["device"],
)
def get_own_device(service: Annotated[DeviceService, Depends(get_service)]) -> Response[DeviceDetail]:
    return device_response(service.get(own_device(app)))


lambda_handler = entry(app)
