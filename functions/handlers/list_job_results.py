"""GET /jobs/{job_id}/results — what a job did to each device."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.openapi.params import Query

from registry.domain.jobs import Outcome
from registry.http.app import RouteApp
from registry.http.lambda_entry import entry
from registry.http.operation_docs import errors
from registry.http.params import PageCursor, PageSize
from registry.jobs.schemas import JobIdPath, JobResultPage
from registry.jobs.service import JobService
from registry.jobs.views import result_item
from registry.schemas import PAGE_SIZE_DEFAULT
from registry.wiring import get_job_service

app = RouteApp("list_job_results")


@app.operation(
    summary="List a job's results",
    description=(
        "One result per device the job has acted on so far, by device id: `changed` (with the revision "
        "and its changes), `unchanged`, `failed` or `skipped` (with a problem), `would_change` (a dry run)."
    ),
    responses={200: {"description": "A page of results"}, **errors(400, 404, 422)},
    tags=["jobs"],
)
def list_job_results(
    job_id: JobIdPath,
    jobs: Annotated[JobService, Depends(get_job_service)],
    outcome: Annotated[Outcome | None, Query(description="Only results with this outcome")] = None,
    limit: PageSize = PAGE_SIZE_DEFAULT,
    cursor: PageCursor = None,
) -> JobResultPage:
    items, next_cursor = jobs.results(job_id, outcome=outcome.value if outcome else None, limit=limit, cursor=cursor)
    return JobResultPage(items=[result_item(item) for item in items], next_cursor=next_cursor)


lambda_handler = entry(app)
