"""POST /jobs/{job_id}/rollback — a new job undoing exactly what a finished job changed."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends, Response

from registry.http.app import RouteApp
from registry.http.identity import principal
from registry.http.lambda_entry import entry
from registry.http.operation_docs import LOCATION, answer, errors
from registry.http.params import IdempotencyKey
from registry.jobs.schemas import JobAction, JobDetail, JobIdPath
from registry.jobs.service import JobService
from registry.jobs.views import accepted
from registry.wiring import get_job_service

app = RouteApp("rollback_job")


@app.operation(
    summary="Roll a job back",
    description=(
        "A new job (`rollback_of`) that, on each device the job `changed`, sets exactly the fields the job "
        "changed back to their values just before its revision, keeping every later change to other fields. "
        "A device where a later revision changed one of those fields is `skipped`, its problem naming that "
        "revision. 409 when the job has not finished, or was a dry run."
    ),
    responses={
        202: answer("The rollback job, queued; `Location` names it", LOCATION, replayable=True),
        **errors(400, 404, 409, 413, 415, 422),
    },
    tags=["jobs"],
)
def rollback_job(
    job_id: JobIdPath,
    request: JobAction,
    jobs: Annotated[JobService, Depends(get_job_service)],
    idempotency_key: IdempotencyKey = None,
) -> Response[JobDetail]:
    return accepted(jobs.rollback(job_id, principal(app)))


lambda_handler = entry(app)
