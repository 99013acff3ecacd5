"""POST /jobs/{job_id}/cancel — stop a job before its next chunk."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends, Response

from registry.http.app import RouteApp
from registry.http.lambda_entry import entry
from registry.http.operation_docs import LOCATION, answer, errors
from registry.http.params import IdempotencyKey
from registry.jobs.schemas import JobAction, JobDetail, JobIdPath
from registry.jobs.service import JobService
from registry.jobs.views import accepted
from registry.wiring import get_job_service

app = RouteApp("cancel_job")


@app.operation(
    summary="Cancel a job",
    description=(
        "A queued or running job stops within seconds (before its next chunk) and ends `cancelled`; what it "
        "has done stays done. 409 once it has finished."
    ),
    responses={202: answer("Cancelling", LOCATION, replayable=True), **errors(400, 404, 409, 413, 415, 422)},
    tags=["jobs"],
)
def cancel_job(
    job_id: JobIdPath,
    request: JobAction,
    jobs: Annotated[JobService, Depends(get_job_service)],
    idempotency_key: IdempotencyKey = None,
) -> Response[JobDetail]:
    return accepted(jobs.cancel(job_id))


lambda_handler = entry(app)
