"""POST /jobs — change every device a fleet query matches, as a job."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends, Response

from registry.http.app import RouteApp
from registry.http.identity import principal
from registry.http.lambda_entry import entry
from registry.http.operation_docs import LOCATION, answer, errors
from registry.http.params import IdempotencyKey
from registry.jobs.schemas import JobDetail, JobRequest
from registry.jobs.service import JobService
from registry.jobs.views import accepted
from registry.wiring import get_job_service

app = RouteApp("create_job")


@app.operation(
    summary="Start a fleet job",
    description=(
        "Applies `patch` (a merge patch, as `PATCH /devices/{id}`) to every device matching `filter` (the "
        "filters of `GET /devices`) when the job starts: each change an ordinary revision whose history "
        'entry carries `job_id`. No filter: every device, with `"all": true`. `dry_run`: nothing changes; '
        "each result says what would. The filter and patch are validated before anything is created."
    ),
    responses={
        202: answer("Queued; `Location` names the job", LOCATION, replayable=True),
        **errors(400, 413, 415, 422),
    },
    tags=["jobs"],
)
def create_job(
    request: JobRequest,
    jobs: Annotated[JobService, Depends(get_job_service)],
    idempotency_key: IdempotencyKey = None,
) -> Response[JobDetail]:
    return accepted(jobs.create(request, principal(app)))


lambda_handler = entry(app)
