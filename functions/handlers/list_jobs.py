"""GET /jobs — the jobs, newest first."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends

from registry.http.app import RouteApp
from registry.http.lambda_entry import entry
from registry.http.operation_docs import errors
from registry.http.params import PageCursor, PageSize
from registry.jobs.schemas import JobListPage
from registry.jobs.service import JobService
from registry.jobs.views import job_detail
from registry.schemas import PAGE_SIZE_DEFAULT
from registry.wiring import get_job_service

app = RouteApp("list_jobs")


@app.operation(
    summary="List jobs",
    description="Newest first.",
    responses={200: {"description": "A page of jobs"}, **errors(400, 422)},
    tags=["jobs"],
)
def list_jobs(
    jobs: Annotated[JobService, Depends(get_job_service)],
    limit: PageSize = PAGE_SIZE_DEFAULT,
    cursor: PageCursor = None,
) -> JobListPage:
    items, next_cursor = jobs.list_jobs(limit=limit, cursor=cursor)
    return JobListPage(items=[job_detail(job) for job in items], next_cursor=next_cursor)


lambda_handler = entry(app)
