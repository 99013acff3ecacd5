"""Job records → the /jobs routes' answers."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from registry.domain.jobs import Job, JobResult
from registry.http.media import JSON
from registry.jobs.schemas import JobDetail, JobResultItem


def job_detail(job: Job) -> JobDetail:
    return JobDetail.model_validate(job.answered())


def result_item(result: JobResult) -> JobResultItem:
    return JobResultItem.model_validate(result.to_item())


def accepted(job: Job) -> Response[JobDetail]:
    """202: the job is queued (or, cancelled, stops before its next chunk); ``Location`` names it."""
    return Response(
        status_code=202,
        content_type=JSON,
        body=job_detail(job),
        headers={"Location": f"/jobs/{job.id}", "Cache-Control": "no-store"},
    )
