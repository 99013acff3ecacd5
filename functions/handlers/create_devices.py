"""POST /devices/batch — register up to 100 devices, each on its own."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends

from registry.batch.runner import register_all
from registry.batch.schemas import DeviceBatch, DeviceBatchResults
from registry.batch.views import registration_results
from registry.devices.service import DeviceService
from registry.http.app import RouteApp
from registry.http.identity import principal
from registry.http.lambda_entry import entry
from registry.http.operation_docs import batch_answers
from registry.http.params import IdempotencyKey
from registry.wiring import get_service

app = RouteApp("create_devices")


@app.operation(
    summary="Register up to 100 devices",
    description=(
        "Each device registers on its own, as `POST /devices` would register it: `results` answers each, "
        "in the order sent (201 with the device, or 409/422/503 with a problem document), and one bad device "
        "stops no other. A MAC address sent twice registers once: the repeat gets 409. A request that is not "
        "a batch (malformed JSON, no `devices`, none or more than 100) registers nothing. Send "
        "`Idempotency-Key` to make a retry of the whole batch safe."
    ),
    responses=batch_answers(app.route_served, "Each device's result"),
    tags=["devices"],
)
def create_devices(
    batch: DeviceBatch,
    service: Annotated[DeviceService, Depends(get_service)],
    idempotency_key: IdempotencyKey = None,
) -> DeviceBatchResults:
    return registration_results(register_all(service, batch.devices, principal(app)))


lambda_handler = entry(app)
