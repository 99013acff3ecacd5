"""No leaks: error answers and logs carry no stack trace, no DynamoDB key or index name and no
internal exception text; every log line is a JSON object carrying the request's correlation id
(API Gateway's request id)."""

from __future__ import annotations

import importlib
import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError

from local.proxy_events import LambdaContext, proxy_event
from registry import wiring
from registry.http import lambda_entry as entry
from registry.http.routes import route_for
from registry.storage import keys as table
from tests.support import LEAKS

PUBLIC = {"device_id"}  # a key attribute that is also a field of the contract (the status document)
SECRET = f"internal detail pk={table.device_pk('x')} sk={table.STATE_SK} list_all h_at"
# Our storage layout and internal message text: in no answer and no log line.
INTERNALS = (
    r"Traceback|File \"|"
    + "|".join(re.escape(prefix) for prefix in (table.DEVICE_PREFIX, table.MAC_PREFIX, table.REVISION_PREFIX))
    + "|"
    + re.escape(SECRET)
    + r"|\b("
    + "|".join(re.escape(name) for name in table.string_attributes() if name not in PUBLIC)
    + r")\b"
)
IN_LOGS = re.compile(INTERNALS)
# Answers also never name the libraries under the API (logs may, by exception class or code).
IN_ANSWERS = re.compile(INTERNALS + "|" + "|".join(re.escape(leak) for leak in LEAKS))


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What the functions write to their log stream (CloudWatch in AWS), captured as written."""
    handler = entry.logger.registered_handler  # the functions' one Powertools logger
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        yield stream
    finally:
        handler.setStream(previous)


def _call(handler: str, path: str, query: str = "", body: Any = None) -> tuple[str, dict[str, Any]]:
    """Invoke the route's Lambda handler; returns the request id API Gateway gave the request."""
    route = route_for(handler)
    event = proxy_event(
        route,
        path=path,
        path_parameters=route.match(path),
        query=query,
        headers={"Content-Type": "application/json"},
        body=None if body is None else json.dumps(body),
    )
    request_id = event["requestContext"]["requestId"]
    module = importlib.import_module(f"handlers.{handler}")
    return request_id, dict(module.lambda_handler(event, LambdaContext()))


def _records(stream: io.StringIO) -> list[dict[str, Any]]:
    lines = [line for line in stream.getvalue().splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # every line is one JSON object


def _provocations(make_device: Any, inject: Any) -> Iterator[tuple[str, tuple[str, str, Any]]]:
    device = make_device()
    path = f"/devices/{device['id']}"
    yield "malformed id", ("get_device", "/devices/DEVICE%23x", None)
    yield "unknown device", ("put_status", "/devices/0190f5e2-7a3b-7c1d-9e2f-3a4b5c6d7e8f/status", {"status": "online"})
    yield "invalid body", ("create_device", "/devices", {"name": "", "mac_address": "00:1A:2B:3C:4D:5G", "owner": "x"})
    yield "duplicate MAC", ("create_device", "/devices", {**_body(device), "name": "twin"})
    yield "forged cursor", ("list_history", f"{path}/history?cursor=eyJwayI6IkRFVklDRSMifQ", None)
    client = wiring.dynamodb_client()
    inject(client, "TransactWriteItems", "ThrottlingException", times=1)
    yield "throttled write", ("update_device", path, {"location": "roof"})
    inject(client, "Query", ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com/"), times=1)
    yield "read timeout", ("list_devices", "/devices", None)
    inject(client, "Query", RuntimeError(SECRET), times=1)  # the status read is one Query (state + SEEN)
    yield "unexpected exception", ("get_status", f"{path}/status", None)


def _body(device: dict[str, Any]) -> dict[str, Any]:
    return {key: device[key] for key in ("name", "device_type", "mac_address")}


def test_error_answers_and_logs_leak_nothing_and_every_log_line_carries_its_request_id(
    dynamodb, make_device, inject_dynamodb_error, log_lines
):
    statuses: dict[str, int] = {}
    for name, (handler, target, body) in _provocations(make_device, inject_dynamodb_error):
        path, _, query = target.partition("?")
        log_lines.seek(0)
        log_lines.truncate()
        request_id, response = _call(handler, path, query, body)
        statuses[name] = response["statusCode"]
        assert response["statusCode"] >= 400, name
        assert not IN_ANSWERS.search(response["body"]), (name, response["body"])
        records = _records(log_lines)
        for record in records:
            assert record["correlation_id"] == request_id, (name, record)
            assert not IN_LOGS.search(json.dumps(record)), (name, record)
        if response["statusCode"] >= 500:  # a failure on our side is logged, under its request id
            assert records, name
    assert statuses["throttled write"] == statuses["read timeout"] == 503
    assert statuses["unexpected exception"] == 500
