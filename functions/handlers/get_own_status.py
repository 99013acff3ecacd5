"""GET /device/status — the calling device's own status (device credential)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends, Response

from registry.devices.service import DeviceService
from registry.http.app import RouteApp
from registry.http.identity import own_device
from registry.http.lambda_entry import entry
from registry.http.operation_docs import ETAG, answer, errors
from registry.http.views import status_response
from registry.schemas import DeviceStatus
from registry.wiring import get_service

app = RouteApp("get_own_status")


@app.operation(
    summary="Get this device's status",
    description="As `GET /devices/{id}/status` for the device that owns the credential sent.",
    responses={200: answer("The status; `ETag` is its version", ETAG), **errors(404, 422)},
    tags=["device"],
)
def get_own_status(service: Annotated[DeviceService, Depends(get_service)]) -> Response[DeviceStatus]:
    return status_response(*service.status_of(own_device(app)))


lambda_handler = entry(app)
