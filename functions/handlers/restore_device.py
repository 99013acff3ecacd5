"""POST /devices/{device_id}/restore — bring a deleted device back as it was when deleted."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends, Response

from registry.devices.service import DeviceService
from registry.http.app import RouteApp
from registry.http.identity import principal
from registry.http.lambda_entry import entry
from registry.http.operation_docs import ETAG, answer, errors
from registry.http.params import DeviceIdPath, IdempotencyKey
from registry.http.views import device_response
from registry.schemas import DeviceDetail, RestoreRequest
from registry.wiring import get_service

app = RouteApp("restore_device")


@app.operation(
    summary="Restore a deleted device",
    description=(
        "The device comes back with the attributes and status it had when deleted, as a new `restored` "
        "history entry (with the `reason`, if given), and claims its MAC address again: 409 if another "
        "device holds it now (named), or if the device is not deleted. Send `Idempotency-Key` to make "
        "retries safe."
    ),
    responses={
        200: answer("The restored device", ETAG, replayable=True),
        **errors(400, 404, 409, 413, 415, 422),
    },
    tags=["devices"],
)
def restore_device(
    device_id: DeviceIdPath,
    request: RestoreRequest,
    service: Annotated[DeviceService, Depends(get_service)],
    idempotency_key: IdempotencyKey = None,
) -> Response[DeviceDetail]:
    state = service.restore(device_id, reason=request.reason, principal=principal(app))
    return device_response(state)


lambda_handler = entry(app)
