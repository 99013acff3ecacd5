"""GET /jobs/{job_id} — a job, its state and counts."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends

from registry.http.app import RouteApp
from registry.http.lambda_entry import entry
from registry.http.operation_docs import errors
from registry.jobs.schemas import JobDetail, JobIdPath
from registry.jobs.service import JobService
from registry.jobs.views import job_detail
from registry.wiring import get_job_service

app = RouteApp("get_job")


@app.operation(
    summary="Get a job",
    description="Its `state` and `counts` as it runs: poll until `finished_at` is set.",
    responses={200: {"description": "The job"}, **errors(400, 404, 422)},
    tags=["jobs"],
)
def get_job(job_id: JobIdPath, jobs: Annotated[JobService, Depends(get_job_service)]) -> JobDetail:
    return job_detail(jobs.get(job_id))


lambda_handler = entry(app)
