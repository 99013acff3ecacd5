"""The smoke run's two steps that only a deployed stage can answer (the local server checks no
operator token), each on the answer it must refuse and the one it must accept; and where its
read-only token comes from. The API's answers here are what API Gateway's customised gateway
responses send (infra/gateway_problems.py), served by an httpx MockTransport."""

from __future__ import annotations

import json
from typing import Any

import boto3
import httpx
from moto import mock_aws

from ops.report import Verdict
from ops.smoke import READ_SCOPE, Settings, Smoke, reader_from
from registry_cli.client import Credentials


def problem(status: int, title: str) -> httpx.Response:
    body = {"type": f"urn:problem-type:{title.lower()}", "title": title, "status": status, "detail": f"{title}."}
    return httpx.Response(status, headers={"Content-Type": "application/problem+json"}, content=json.dumps(body))


def smoke(answer: Any, *, reader: Credentials | None = None) -> tuple[Smoke, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    settings = Settings("https://api.example.com/prod", Credentials(token="operator"), reader, tag="smoke-unit")
    return Smoke(settings, transport=httpx.MockTransport(handle), sleep=lambda _: None), seen


def test_a_request_without_a_token_must_get_the_gateways_401_problem() -> None:
    run, seen = smoke(lambda _: problem(401, "Unauthorized"))
    finding = run.step("401 without a token", run.unauthenticated)
    assert finding.verdict is Verdict.PASS
    assert "Authorization" not in seen[0].headers


def test_a_request_without_a_token_that_gets_in_fails_the_run() -> None:
    run, _ = smoke(lambda _: httpx.Response(200, json={"items": [], "next_cursor": None}))
    finding = run.step("401 without a token", run.unauthenticated)
    assert finding.verdict is Verdict.FAIL
    assert finding.message.startswith("GET /prod/devices answered 200, not 401")


def test_a_401_that_is_no_problem_document_fails() -> None:
    run, _ = smoke(lambda _: httpx.Response(401, json={"message": "Unauthorized"}))
    finding = run.step("401 without a token", run.unauthenticated)
    assert finding.verdict is Verdict.FAIL
    assert "not application/problem+json" in finding.message


def test_a_write_with_the_read_only_token_must_be_refused_403() -> None:
    run, seen = smoke(lambda _: problem(403, "Forbidden"), reader=Credentials(token="read-only"))
    assert run.step("403 read-only write", run.read_only_write).verdict is Verdict.PASS
    assert seen[0].headers["Authorization"] == "Bearer read-only"


def test_a_write_the_read_only_token_gets_through_fails_and_the_device_is_cleaned_up() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(201, json={"id": "d-1", "tags": ["smoke-unit"]})
        if request.method == "GET":
            return httpx.Response(200, json={"items": [], "next_cursor": None})
        return httpx.Response(204)

    run, seen = smoke(answer, reader=Credentials(token="read-only"))
    assert run.step("403 read-only write", run.read_only_write).verdict is Verdict.FAIL
    assert run.cleanup().message == "deleted 1 device(s) tagged smoke-unit"
    assert (seen[-1].method, seen[-1].url.path) == ("DELETE", "/prod/devices/d-1")


def test_the_read_only_token_is_the_same_client_asking_for_read_scope_only() -> None:
    operator = Credentials(client_id="id", client_secret="secret", token_url="https://auth.example/oauth2/token")
    reader = reader_from(operator, {})
    assert reader is not None
    assert (reader.client_id, reader.client_secret, reader.scope) == ("id", "secret", READ_SCOPE)
    assert reader_from(Credentials(token="t"), {}) is None
    assert reader_from(Credentials(token="t"), {"REGISTRY_READ_TOKEN": "r"}) == Credentials(token="r")


def test_a_bearer_token_without_a_read_only_one_fails_the_step_saying_what_to_set() -> None:
    run, seen = smoke(lambda _: problem(403, "Forbidden"))
    finding = run.step("403 read-only write", run.read_only_write)
    assert finding.verdict is Verdict.FAIL
    assert "set REGISTRY_READ_TOKEN" in finding.message
    assert seen == []


def test_events_from_a_queue_are_the_devices_own_and_only_those_are_taken_off_it() -> None:
    """An SQS target of a rule on the bus gets each event as EventBridge's JSON (``detail-type``,
    ``detail``); another device's events stay on the queue for whoever else reads it."""
    with mock_aws():
        sqs = boto3.client("sqs")
        queue = sqs.create_queue(QueueName="smoke-events")["QueueUrl"]
        for device, revision, kind in [
            ("d-1", 1, "Device registered"),
            ("d-2", 1, "Device registered"),
            ("d-1", 2, "Device updated"),
        ]:
            event = {
                "source": "device-registry",
                "detail-type": kind,
                "detail": {"device_id": device, "revision": revision},
            }
            sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(event))
        run, _ = smoke(lambda _: httpx.Response(404))
        assert run._queued_events(queue, "d-1") == {1: "Device registered", 2: "Device updated"}
        left = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
        assert [json.loads(m["Body"])["detail"]["device_id"] for m in left] == ["d-2"]
