"""POST /devices — register a device."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends, Response

from registry.devices.service import DeviceService
from registry.http.app import RouteApp
from registry.http.identity import principal
from registry.http.lambda_entry import entry
from registry.http.operation_docs import ETAG, LOCATION, answer, errors
from registry.http.params import IdempotencyKey
from registry.http.views import device_response
from registry.schemas import DeviceAttributes, DeviceDetail
from registry.wiring import get_service

app = RouteApp("create_device")


@app.operation(
    summary="Register a device",
    description="Status starts as `unknown`. The MAC address must not be registered to another device.",
    responses={
        201: answer("Registered; `Location` names the device", ETAG, LOCATION, replayable=True),
        **errors(400, 409, 413, 415, 422),
    },
    tags=["devices"],
)
def create_device(
    device: DeviceAttributes,
    service: Annotated[DeviceService, Depends(get_service)],
    idempotency_key: IdempotencyKey = None,
) -> Response[DeviceDetail]:
    state = service.register(device, principal(app))
    return device_response(state, 201, Location=f"/devices/{state.id}")


lambda_handler = entry(app)
