"""GET /devices/stats — how many live devices there are, by status, device type and firmware version."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends

from registry.devices.service import DeviceService
from registry.http.app import RouteApp
from registry.http.lambda_entry import entry
from registry.http.operation_docs import errors
from registry.schemas import FleetStats
from registry.wiring import get_service

app = RouteApp("device_stats")


@app.operation(
    summary="Fleet statistics",
    description=(
        "Counts of the live devices (deleted ones excluded): in all, per status, per device type and per "
        "firmware version. Maintained from the table's change stream: eventually consistent, seconds behind "
        "the writes (`as_of` says up to when), and one DynamoDB request whatever the fleet size."
    ),
    responses={200: {"description": "The fleet's counts"}, **errors(422)},
    tags=["devices"],
)
def device_stats(service: Annotated[DeviceService, Depends(get_service)]) -> FleetStats:
    return FleetStats.model_validate(service.stats())


lambda_handler = entry(app)
