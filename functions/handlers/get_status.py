"""GET /devices/{device_id}/status — a device's reported status, now or as of a past time."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends, Response

from registry.devices.service import DeviceService
from registry.http.app import RouteApp
from registry.http.lambda_entry import entry
from registry.http.operation_docs import ETAG, answer, errors, not_modified
from registry.http.params import AsOf, DeviceIdPath
from registry.http.views import status_as_of_response, status_response
from registry.schemas import DeviceStatus
from registry.wiring import get_service

app = RouteApp("get_status")


@app.operation(
    summary="Get a device's status",
    description=(
        "With `as_of`: the status in force at that time, deleted devices included; 404 if the device "
        "did not exist then (before its registration, at or after its deletion)."
    ),
    responses={
        200: answer("The status; `ETag` is its version (none on an `as_of` answer)", sometimes=(ETAG,)),
        **not_modified(),
        **errors(404, 422),
    },
    tags=["status"],
)
def get_status(
    device_id: DeviceIdPath, service: Annotated[DeviceService, Depends(get_service)], as_of: AsOf = None
) -> Response[DeviceStatus]:
    if as_of is not None:
        status = service.status_as_of(device_id, as_of)
        return status_as_of_response(device_id, {**status, **service.liveness_as_of(device_id, as_of)})
    return status_response(*service.status_of(device_id))


lambda_handler = entry(app)
