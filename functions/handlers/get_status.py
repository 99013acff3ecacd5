"""GET /devices/{device_id}/status — a device's reported status."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends, Response

from registry.api import create_app, lambda_entry, route
from registry.docs import ETAG, answer, errors
from registry.models import DeviceStatus
from registry.params import DeviceIdPath
from registry.service import DeviceService
from registry.views import status_response
from registry.wiring import get_service

app = create_app()


@route(
    app,
    "get_status",
    summary="Get a device's status",
    responses={200: answer("The status; `ETag` is its version", ETAG), **errors(404, 422)},
    tags=["status"],
)
def get_status(
    device_id: DeviceIdPath, service: Annotated[DeviceService, Depends(get_service)]
) -> Response[DeviceStatus]:
    return status_response(service.get(device_id))


lambda_handler = lambda_entry(app, "get_status")
