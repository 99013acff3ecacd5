"""GET /devices/{device_id}/status — a device's reported status."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends, Response

from registry.entry import entry
from registry.models import DeviceStatus
from registry.operation_docs import ETAG, answer, errors
from registry.params import DeviceIdPath
from registry.resolver import RouteApp
from registry.service import DeviceService
from registry.views import status_response
from registry.wiring import get_service

app = RouteApp("get_status")


@app.operation(
    summary="Get a device's status",
    responses={200: answer("The status; `ETag` is its version", ETAG), **errors(404, 422)},
    tags=["status"],
)
def get_status(
    device_id: DeviceIdPath, service: Annotated[DeviceService, Depends(get_service)]
) -> Response[DeviceStatus]:
    return status_response(service.get(device_id))


lambda_handler = entry(app)
