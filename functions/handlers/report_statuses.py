"""POST /status-reports — report up to 100 devices' statuses, each on its own."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends

from registry.batch.runner import report_all
from registry.batch.schemas import StatusReportBatch, StatusReportResults
from registry.batch.views import report_results
from registry.devices.service import DeviceService
from registry.http.app import RouteApp
from registry.http.identity import principal
from registry.http.lambda_entry import entry
from registry.http.operation_docs import batch_answers
from registry.http.params import IdempotencyKey
from registry.wiring import get_service

app = RouteApp("report_statuses")


@app.operation(
    summary="Report up to 100 devices' statuses",
    description=(
        "Each report means what `PUT /devices/{device_id}/status` means: a new status or reason is a new "
        "version and a history entry, the same again changes nothing (`changed: false`). `results` answers "
        "each, in the order sent (200, or 404/409/422/503 with a problem document). The current statuses are "
        "read together, then each change is written on its own. A device reported twice in one request is "
        "422 for the whole request, which then changes nothing. Send `Idempotency-Key` to make a retry safe."
    ),
    responses=batch_answers(app.route_served, "Each report's result"),
    tags=["status"],
)
def report_statuses(
    batch: StatusReportBatch,
    service: Annotated[DeviceService, Depends(get_service)],
    idempotency_key: IdempotencyKey = None,
) -> StatusReportResults:
    return report_results(report_all(service, batch.reports, principal(app)))


lambda_handler = entry(app)
