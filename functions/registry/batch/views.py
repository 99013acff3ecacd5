"""A batch's outcomes → its answer: each item's result in the order sent, and the counts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from registry.batch.runner import Outcome, Reported
from registry.batch.schemas import (
    DeviceBatchResults,
    DeviceRegistered,
    ItemProblem,
    RegistrationFailed,
    ReportFailed,
    StatusReported,
    StatusReportResults,
)
from registry.domain.records import Device
from registry.http.problems import problem_document
from registry.http.views import device_detail


def registration_results(outcomes: Sequence[Outcome[Device]]) -> DeviceBatchResults:
    results: list[DeviceRegistered | RegistrationFailed] = [
        DeviceRegistered(index=outcome.index, status=201, device=device_detail(outcome.value))
        if outcome.value is not None
        else RegistrationFailed.model_validate(_failure(outcome))
        for outcome in outcomes
    ]
    created = sum(1 for outcome in outcomes if outcome.value is not None)
    return DeviceBatchResults(results=results, created=created, failed=len(outcomes) - created)


def report_results(outcomes: Sequence[Outcome[Reported]]) -> StatusReportResults:
    results: list[StatusReported | ReportFailed] = []
    for outcome in outcomes:
        if outcome.value is None:
            results.append(ReportFailed.model_validate(_failure(outcome)))
            continue
        device = outcome.value.device
        results.append(
            StatusReported(
                index=outcome.index,
                device_id=device.id,
                status=200,
                changed=outcome.value.changed,
                version=device.status_version,
            )
        )
    changed = sum(1 for outcome in outcomes if outcome.value is not None and outcome.value.changed)
    failed = sum(1 for outcome in outcomes if outcome.value is None)
    return StatusReportResults(
        results=results, changed=changed, unchanged=len(outcomes) - changed - failed, failed=failed
    )


def _failure(outcome: Outcome[Any]) -> dict[str, Any]:
    assert outcome.error is not None
    problem = ItemProblem.model_validate(problem_document(outcome.error))
    return {"index": outcome.index, "status": outcome.error.status, "problem": problem}
