"""The fleet jobs' engine in AWS (issue 23, items 2 and 8; infra/jobs.py): a FIFO queue of job steps
with an encrypted FIFO dead-letter queue, the worker on it with partial batch responses and a bounded
concurrency, least-privilege roles (the worker's and the job routes'), and alarms on failed jobs, the
worker's errors and throttles, and dead-lettered steps."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.stage import STAGES
from registry import settings
from registry.http.routes import ROUTES, Route
from registry.jobs.worker import MAX_DELIVERIES
from tests.infra.cfn import actions, as_list, resources, role_of, statements_of_role

FUNCTION_ID = "RunJobs"
# Written out here, not imported from the stack: what PATCH's change and a job's bookkeeping take.
WORKER_TABLE_ACTIONS = {
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",  # a tag's item, when a patch drops a tag
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
}
JOB_ROUTES = [route for route in ROUTES if route.path.startswith("/jobs")]


def _queues(template: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The job queue and its dead-letter queue."""
    queues = resources(template, "AWS::SQS::Queue")
    (main,) = [q for q in queues.values() if "RedrivePolicy" in q["Properties"] and q["Properties"].get("FifoQueue")]
    target = main["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    return main, queues[target]


def _worker(template: dict[str, Any]) -> dict[str, Any]:
    return dict(resources(template, "AWS::Lambda::Function")[FUNCTION_ID])


def test_the_job_queue_is_fifo_encrypted_and_dead_letters_a_step_one_delivery_after_the_worker_gives_up(
    prod: dict[str, Any],
) -> None:
    queue, dead_letters = _queues(prod)

    for q in (queue, dead_letters):
        assert q["Properties"]["FifoQueue"] is True and q["Properties"]["SqsManagedSseEnabled"] is True
    assert queue["Properties"]["ContentBasedDeduplication"] is False  # each step names its own id
    assert queue["Properties"]["RedrivePolicy"]["maxReceiveCount"] == MAX_DELIVERIES + 1
    # SQS's guidance for a Lambda event source: visibility at least 6 x the function's timeout.
    assert queue["Properties"]["VisibilityTimeout"] >= 6 * _worker(prod)["Properties"]["Timeout"]


def test_both_queues_refuse_requests_without_tls(prod: dict[str, Any]) -> None:
    policies = [json.dumps(policy) for policy in resources(prod, "AWS::SQS::QueuePolicy").values()]
    queue_ids = [name for name, q in resources(prod, "AWS::SQS::Queue").items() if q["Properties"].get("FifoQueue")]

    for queue_id in queue_ids:
        assert any(queue_id in policy and "aws:SecureTransport" in policy for policy in policies), queue_id


@pytest.mark.parametrize("stage", ["prod", "dev"])
def test_the_worker_takes_one_step_at_a_time_reports_failed_ones_and_is_bounded_by_the_stage(
    stage: str, prod: dict[str, Any], dev: dict[str, Any]
) -> None:
    template = {"prod": prod, "dev": dev}[stage]
    mappings = [
        m for m in resources(template, "AWS::Lambda::EventSourceMapping").values() if "ScalingConfig" in m["Properties"]
    ]
    (mapping,) = mappings

    assert mapping["Properties"]["FunctionName"] == {"Ref": FUNCTION_ID}
    assert mapping["Properties"]["BatchSize"] == 1
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["Properties"]["ScalingConfig"]["MaximumConcurrency"] == max(2, STAGES[stage].job_concurrency)


def test_the_workers_environment_satisfies_its_settings(prod: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in _worker(prod)["Properties"]["Environment"]["Variables"].items():
        monkeypatch.setenv(name, value if isinstance(value, str) else f"resolved-{name}")
    settings.get_job_settings.cache_clear()
    try:
        parsed = settings.get_job_settings()
    finally:
        settings.get_job_settings.cache_clear()

    assert parsed.queue_url == "resolved-JOB_QUEUE_URL"
    assert parsed.rate_per_s == STAGES["prod"].job_rate_per_s and 1 <= parsed.chunk_size <= 100


def test_the_worker_may_change_devices_and_jobs_only_and_send_only_to_its_queue(prod: dict[str, Any]) -> None:
    statements = statements_of_role(prod, role_of(prod, FUNCTION_ID))
    table = [s for s in statements if any(a in WORKER_TABLE_ACTIONS for a in as_list(s["Action"])) and "Condition" in s]

    (on_items,) = table
    assert set(as_list(on_items["Action"])) == WORKER_TABLE_ACTIONS
    leading = set(on_items["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"])
    assert leading == {"DEVICE#*", "IPHOLDER#*", "JOBS", "JOB#*"}  # never a MAC claim, credential or counter
    granted = actions(statements)
    assert "dynamodb:Scan" not in granted and "events:PutEvents" not in granted
    assert {"sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage"} <= granted
    queue_id = next(
        name for name, q in resources(prod, "AWS::SQS::Queue").items() if "RedrivePolicy" in q["Properties"]
    )
    for statement in statements:
        if any(a.startswith("sqs:") for a in as_list(statement["Action"])):
            assert queue_id in json.dumps(statement["Resource"])


@pytest.mark.parametrize("route", [pytest.param(r, id=r.handler) for r in JOB_ROUTES])
def test_a_job_route_touches_only_the_jobs_items_and_only_the_starting_ones_enqueue(
    prod: dict[str, Any], route: Route
) -> None:
    statements = statements_of_role(prod, role_of(prod, route.function_id))
    tables = resources(prod, "AWS::DynamoDB::Table")
    device_table = next(t for t, r in tables.items() if "GlobalSecondaryIndexes" in r["Properties"])
    on_device_table = [s for s in statements if device_table in json.dumps(s["Resource"])]

    assert on_device_table
    for statement in on_device_table:
        assert set(statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]) == {"JOBS", "JOB#*"}
    assert ("sqs:SendMessage" in actions(statements)) == (route.handler in {"create_job", "rollback_job"})


def test_failed_jobs_a_failing_worker_and_dead_lettered_steps_raise_alarms(prod: dict[str, Any]) -> None:
    alarms = {name: json.dumps(alarm) for name, alarm in resources(prod, "AWS::CloudWatch::Alarm").items()}

    assert any("JobsFailed" in alarm and "DeviceRegistry" in alarm for alarm in alarms.values())
    assert any(FUNCTION_ID in alarm and "Throttles" in alarm and "Errors" in alarm for alarm in alarms.values())
    _, dead_letters = _queues(prod)
    dead_letter_id = next(n for n, q in resources(prod, "AWS::SQS::Queue").items() if q is dead_letters)
    assert any(dead_letter_id in alarm and "ApproximateNumberOfMessagesVisible" in alarm for alarm in alarms.values())
