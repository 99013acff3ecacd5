"""The composition root: services created once per container and handed to routes with Powertools ``Depends``;
tests swap them with ``app.dependency_overrides``.

No ``from __future__ import annotations`` here: Powertools reads a dependency's type hints on
every request, and a postponed (string) annotation would be compiled each time."""

from functools import cache
from typing import TYPE_CHECKING

from registry import metrics
from registry.clients import CLIENT_CONFIG as CLIENT_CONFIG  # re-exported: the stores' client settings
from registry.clients import dynamodb_client, sqs_client
from registry.devices.service import DeviceService
from registry.domain.liveness import LivenessRules
from registry.settings import get_job_settings, get_liveness_settings, get_settings
from registry.storage.devices import DeviceStore

if TYPE_CHECKING:
    # Imported where they are built: a device route's cold start does not pay for the job and
    # credential records and schemas (docs/performance.md). Their getters' return annotations are
    # strings Powertools cannot resolve, which it takes as "no sub-dependencies": they have none.
    from registry.credentials.service import CredentialService
    from registry.jobs.service import JobService
    from registry.jobs.worker import JobWorker


@cache
def get_service() -> DeviceService:
    settings = get_settings()
    return DeviceService(
        DeviceStore(dynamodb_client(), settings.table_name),
        count=metrics.count,
        status_history_days=settings.status_history_days,
        rules=liveness_rules(),
    )


def liveness_rules() -> LivenessRules:
    return LivenessRules.of(get_liveness_settings())


@cache
def get_credential_service() -> "CredentialService":
    from registry.credentials.service import CredentialService
    from registry.storage.credentials import CredentialStore

    return CredentialService(CredentialStore(dynamodb_client(), get_settings().table_name))


@cache
def get_job_service() -> "JobService":
    from registry.jobs.queue import SqsJobQueue
    from registry.jobs.service import JobService
    from registry.storage.jobs import JobStore

    return JobService(
        JobStore(dynamodb_client(), get_settings().table_name),
        SqsJobQueue(sqs_client(), get_job_settings().queue_url),
    )


@cache
def get_job_worker() -> "JobWorker":
    from registry.jobs.queue import SqsJobQueue
    from registry.jobs.worker import JobWorker
    from registry.storage.jobs import JobStore

    jobs = get_job_settings()
    return JobWorker(
        JobStore(dynamodb_client(), get_settings().table_name),
        get_service(),
        SqsJobQueue(sqs_client(), jobs.queue_url),
        chunk_size=jobs.chunk_size,
        rate_per_s=jobs.rate_per_s,
        count=metrics.count,
    )
