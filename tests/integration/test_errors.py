"""Bad requests get a clear RFC 9457 4xx and change nothing; a failing DynamoDB gets a 503 with
Retry-After. Never a 500, never internal wording."""

import base64
import json

import pytest
from botocore.exceptions import ConnectTimeoutError

from handlers import create_device
from local.proxy_events import LambdaContext, proxy_event
from registry import wiring
from registry.http.guard import MAX_BODY_BYTES
from registry.http.routes import ROUTES, route_for
from registry.storage import keys as table
from tests.support import assert_problem, cancelled, error_fields

WRITES_WITH_BODY = [
    ("create_device", "", {"name": "n", "device_type": "t", "mac_address": "00:00:00:00:00:01"}),
    ("update_device", "", {"location": "x"}),
    ("put_status", "/status", {"status": "online"}),
]


@pytest.fixture
def device_path(make_device):
    return f"/devices/{make_device()['id']}"


def path_for(handler, device_path, suffix):
    return "/devices" if handler == "create_device" else device_path + suffix


@pytest.mark.parametrize(("handler", "suffix", "body"), WRITES_WITH_BODY)
def test_malformed_json_is_400(invoke, device_path, table_items, subtests, handler, suffix, body):
    before = table_items()
    for raw in ['{"name": ', "{'name': 'x'}", "{", '{"a": 1,}', "\ufeff{}", "[" * 5000 + "]" * 5000]:
        with subtests.test(body=raw[:20]):
            response = invoke(
                handler,
                path_for(handler, device_path, suffix),
                raw_body=raw,
                headers={"Content-Type": "application/json"},
            )
            if raw.startswith("[["):  # deeply nested but valid JSON: still not an object
                assert response["statusCode"] in {400, 422}
                assert_problem(response, response["statusCode"])
            else:
                assert_problem(response, 400, "malformed-json")
    assert table_items() == before


@pytest.mark.parametrize(("handler", "suffix", "body"), WRITES_WITH_BODY)
def test_body_that_is_not_utf8_is_400(invoke, device_path, handler, suffix, body):
    response = invoke(
        handler,
        path_for(handler, device_path, suffix),
        raw_body=b"\xff\xfe{}",
        headers={"Content-Type": "application/json"},
    )
    assert_problem(response, 400, "malformed-json")


@pytest.mark.parametrize(("handler", "suffix", "body"), WRITES_WITH_BODY)
def test_body_over_64_kib_is_413_naming_the_limit(invoke, device_path, table_items, handler, suffix, body):
    before = table_items()
    padded = {**body, "padding": "x" * MAX_BODY_BYTES}
    problem = assert_problem(invoke(handler, path_for(handler, device_path, suffix), body=padded), 413)
    assert str(MAX_BODY_BYTES) in problem["detail"]
    assert table_items() == before


def test_body_of_exactly_64_kib_is_not_413(invoke):
    body = '{"name": "n", "device_type": "t", "mac_address": "00:00:00:00:00:01", "location": "'
    raw = body + "x" * (MAX_BODY_BYTES - len(body) - 2) + '"}'
    assert len(raw) == MAX_BODY_BYTES
    response = invoke("create_device", raw_body=raw, headers={"Content-Type": "application/json"})
    assert_problem(response, 422)  # location is over 256 characters: the body was read and validated


@pytest.mark.parametrize(("handler", "suffix", "body"), WRITES_WITH_BODY)
def test_body_that_is_not_json_is_415(invoke, device_path, handler, suffix, body):
    for content_type in ["text/plain", "application/xml", "application/x-www-form-urlencoded"]:
        response = invoke(
            handler,
            path_for(handler, device_path, suffix),
            raw_body=json.dumps(body),
            headers={"Content-Type": content_type},
        )
        problem = assert_problem(response, 415, "unsupported-media-type")
        assert content_type in problem["detail"]


def test_merge_patch_content_type_is_only_for_patch(invoke, device_path):
    response = invoke(
        "put_status",
        f"{device_path}/status",
        raw_body='{"status": "online"}',
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert_problem(response, 415)


def test_json_with_charset_is_accepted(invoke):
    response = invoke(
        "create_device",
        raw_body='{"name": "n", "device_type": "t", "mac_address": "00:00:00:00:00:01"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response["statusCode"] == 201


def test_base64_encoded_body_is_decoded_and_a_broken_one_is_400(invoke):
    body = b'{"name": "n", "device_type": "t", "mac_address": "00:00:00:00:00:01"}'
    event = proxy_event(route_for("create_device"), path="/devices", headers={"Content-Type": "application/json"})
    encoded = {**event, "body": base64.b64encode(body).decode(), "isBase64Encoded": True}
    assert create_device.lambda_handler(encoded, LambdaContext())["statusCode"] == 201
    broken = create_device.lambda_handler({**event, "body": "not base64!", "isBase64Encoded": True}, LambdaContext())
    assert_problem(broken, 400, "malformed-json")


@pytest.mark.parametrize("route", [r for r in ROUTES if r.is_write], ids=lambda r: r.handler)
def test_query_parameter_on_a_write_is_422_naming_it(invoke, device_path, route):
    path = route.path.replace("/devices/{device_id}", device_path).replace("{revision}", "1")
    problem = assert_problem(invoke(route.handler, path, query="colour=red"), 422)
    assert error_fields(problem) == {"colour": "is not a known query parameter"}


@pytest.mark.parametrize("route", [r for r in ROUTES if not r.is_write], ids=lambda r: r.handler)
def test_get_ignores_a_query_parameter_outside_its_cache_key(invoke, device_path, route):
    # A cached answer must depend on the cache key alone, or one client's 422 would be served
    # to everyone sharing the key.
    path = route.path.replace("/devices/{device_id}", device_path).replace("{revision}", "1")
    path = path.replace("{mac}", "00-1A-2B-3C-4D-5E").replace("{ip}", "192.0.2.10")
    if "{job_id}" in path:  # a job to read
        job = invoke("create_job", body={"filter": {"location": "x"}, "patch": {"location": "y"}})["json"]
        path = path.replace("{job_id}", job["id"])
    needed = "from=1" if route.handler == "diff_device" else ""  # the one required query parameter
    # A device route acts on the device its authorizer names (registry.http.app.own_device).
    device = {"device_id": device_path.rsplit("/", 1)[1], "credential_id": "c"} if route.auth == "device" else None
    plain = invoke(route.handler, path, query=needed, authorizer=device)
    odd = invoke(route.handler, path, query="&".join(filter(None, [needed, "colour=red"])), authorizer=device)
    assert odd["statusCode"] == plain["statusCode"] == 200
    if route.handler != "swagger":
        assert odd["json"] == plain["json"]


def test_repeated_query_parameter_takes_its_last_value_as_the_cache_key_does(invoke, make_device):
    for _ in range(3):
        make_device()
    response = invoke("list_devices", query="limit=5&limit=2")
    assert response["statusCode"] == 200
    assert len(response["json"]["items"]) == 2


@pytest.mark.parametrize("handler", ["list_devices", "list_history"])
def test_limit_out_of_range_or_not_a_number_is_422(invoke, device_path, subtests, handler):
    path = "/devices" if handler == "list_devices" else f"{device_path}/history"
    # one spelling per cache key: 1.0, +5 (%2B), " 5", 05 are other spellings of a number (issue 21, item 10)
    for limit in ["0", "101", "-1", "ten", "1.5", "", "1.0", "%2B5", "%205", "5%20", "05", "0x5", "5_0"]:
        with subtests.test(limit=limit):
            problem = assert_problem(invoke(handler, path, query=f"limit={limit}"), 422)
            assert "limit" in error_fields(problem)
    for limit in ["1", "100"]:
        assert invoke(handler, path, query=f"limit={limit}")["statusCode"] == 200


@pytest.mark.parametrize("handler", ["list_devices", "list_history"])
def test_bad_cursor_is_400(invoke, device_path, make_device, subtests, handler):
    make_device()
    invoke("put_status", f"{device_path}/status", body={"status": "online"})
    path = "/devices" if handler == "list_devices" else f"{device_path}/history"
    issued = invoke(handler, path, query="limit=1")["json"]["next_cursor"]
    assert issued
    forged = base64.urlsafe_b64encode(b'{"d": "../../etc"}').decode().rstrip("=")
    for cursor in ["garbage", issued[:-3], issued + "AA", forged, "eyJyIjogdHJ1ZX0"]:
        with subtests.test(cursor=cursor):
            assert_problem(invoke(handler, path, query=f"cursor={cursor}"), 400, "invalid-cursor")


def test_a_device_list_cursor_is_refused_by_the_history_and_the_other_way_round(invoke, make_device, device_path):
    make_device()
    make_device()
    list_cursor = invoke("list_devices", query="limit=1")["json"]["next_cursor"]
    invoke("put_status", f"{device_path}/status", body={"status": "online"})
    history_cursor = invoke("list_history", f"{device_path}/history", query="limit=1")["json"]["next_cursor"]
    assert_problem(invoke("list_history", f"{device_path}/history", query=f"cursor={list_cursor}"), 400)
    assert_problem(invoke("list_devices", query=f"cursor={history_cursor}"), 400)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("kind=created", "kind"),
        ("kind=everything", "kind"),
        ("order=newest", "order"),
        ("since=yesterday", "since"),
        ("until=2026-11-27T06:00:00", "until"),  # no timezone
    ],
)
def test_bad_history_filter_is_422(invoke, device_path, query, field):
    assert field in error_fields(assert_problem(invoke("list_history", f"{device_path}/history", query=query), 422))


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=rebooting", "status"),
        ("mac_address=00:1a:2b:3c:3r:5e", "mac_address"),
        ("device_type=", "device_type"),
        ("view=full", "view"),
        ("view=detail&status=rebooting", "status"),
    ],
)
def test_bad_list_filter_is_422(invoke, query, field):
    assert field in error_fields(assert_problem(invoke("list_devices", query=query), 422))


def test_malformed_idempotency_key_or_if_match_is_400(invoke, device_path):
    bad_key = invoke("update_device", device_path, body={"location": "x"}, headers={"Idempotency-Key": "a b"})
    assert_problem(bad_key, 400, "invalid-header")
    bad_tag = invoke("update_device", device_path, body={"location": "x"}, headers={"If-Match": "1"})
    assert_problem(bad_tag, 400, "invalid-header")


# -- DynamoDB failing: 503 with Retry-After, nothing written ----------------------------

ROUTE_CALLS = [
    ("create_device", "", {"name": "n", "device_type": "t", "mac_address": "00:00:00:00:00:99"}, "TransactWriteItems"),
    ("update_device", "", {"location": "x"}, "TransactWriteItems"),
    ("delete_device", "", None, "TransactWriteItems"),
    ("put_status", "/status", {"status": "online"}, "TransactWriteItems"),
    ("update_device", "", {"location": "x"}, "GetItem"),
    ("get_device", "", None, "GetItem"),
    ("get_status", "/status", None, "Query"),  # the state and its sign of life, one Query
    ("get_history_entry", "/history/1", None, "GetItem"),
    ("list_history", "/history", None, "Query"),
    ("list_devices", "", None, "Query"),
]


@pytest.mark.parametrize(
    ("handler", "suffix", "body", "operation"), ROUTE_CALLS, ids=[f"{c[0]}-{c[3]}" for c in ROUTE_CALLS]
)
def test_dynamodb_failure_is_503_with_retry_after_and_changes_nothing(
    invoke,
    device_path,
    table_items,
    assert_table_consistent,
    inject_dynamodb_error,
    subtests,
    handler,
    suffix,
    body,
    operation,
):
    path = "/devices" if handler in {"create_device", "list_devices"} else device_path + suffix
    before = table_items()
    client = wiring.dynamodb_client()
    failures = {
        "throughput": "ProvisionedThroughputExceededException",
        "throttling": "ThrottlingException",
        "internal": "InternalServerError",
        "connect-timeout": ConnectTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"),
    }
    for name, failure in failures.items():
        with subtests.test(failure=name):
            inject_dynamodb_error(client, operation, failure, times=1)
            response = invoke(handler, path, body=body)
            problem = assert_problem(response, 503, "service-unavailable")
            assert response["headers"]["Retry-After"] == "1"
            assert "retry" in problem["detail"].lower()
            assert table_items() == before
            assert_table_consistent()


def test_a_write_refused_with_an_idempotency_key_runs_again_on_retry(invoke, inject_dynamodb_error, table_items):
    body = {"name": "n", "device_type": "t", "mac_address": "00:00:00:00:00:98"}
    inject_dynamodb_error(wiring.dynamodb_client(), "TransactWriteItems", "ThrottlingException", times=1)
    first = invoke("create_device", body=body, headers={"Idempotency-Key": "retry-after-throttle"})
    assert_problem(first, 503)
    assert table_items() == []
    second = invoke("create_device", body=body, headers={"Idempotency-Key": "retry-after-throttle"})
    assert second["statusCode"] == 201
    assert len([item for item in table_items() if item[table.SK] == table.STATE_SK]) == 1


def test_a_write_that_keeps_losing_its_race_is_409_concurrent_update_with_retry_after(
    invoke, ticking_clock, device_path, inject_dynamodb_error, table_items
):
    before = table_items()
    conflict = cancelled("TransactionConflict", "None")
    refused = inject_dynamodb_error(wiring.dynamodb_client(), "TransactWriteItems", conflict)
    response = invoke("put_status", f"{device_path}/status", body={"status": "online"})
    problem = assert_problem(response, 409, "concurrent-update")
    assert response["headers"]["Retry-After"] == "1" and "retry" in problem["detail"]
    assert len(refused) > 1  # it did retry before giving up
    assert table_items() == before
