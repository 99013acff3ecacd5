"""The HTTP edge of the route functions, through API Gateway REST proxy events as AWS sends them:
HEAD, conditional GET (If-None-Match → 304), If-Match on several lines, CORS, a custom domain's
base path in ``path``, ids in other spellings and a method in lower case."""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest

from local.proxy_events import LambdaContext, proxy_event
from registry.http.routes import route_for
from registry.settings import get_edge_settings
from tests.support import assert_problem

ORIGIN = "https://app.example.com"


def call(handler: str, target: str, *, headers: list[tuple[str, str]] | None = None, **fields: Any) -> dict[str, Any]:
    """The route's function on an event for ``target`` whose header lines are given as sent;
    ``fields`` replace the event's (``path`` as API Gateway passes it behind a custom domain, say)."""
    route = route_for(handler)
    event = proxy_event(route, path=target, path_parameters=route.match(target), headers=headers)
    event.update(fields)
    response = dict(importlib.import_module(f"handlers.{handler}").lambda_handler(event, LambdaContext()))
    headers_out = dict(response.get("headers") or {})
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers_out[name] = values[-1]
    return {**response, "headers": headers_out}


@pytest.fixture
def device(make_device) -> dict[str, Any]:
    return make_device()


@pytest.fixture
def cors_origins(monkeypatch):
    def allow(*origins: str) -> None:
        monkeypatch.setenv("CORS_ORIGINS", ",".join(origins))
        get_edge_settings.cache_clear()

    yield allow
    get_edge_settings.cache_clear()


@pytest.mark.parametrize(
    ("handler", "path"),
    [
        ("get_device", "/devices/{id}"),
        ("get_status", "/devices/{id}/status"),
        ("list_history", "/devices/{id}/history"),
        ("list_devices", "/devices"),
        ("swagger", "/swagger"),
    ],
)
def test_head_answers_as_get_without_a_body(device, handler, path):
    path = path.replace("{id}", device["id"])
    get = call(handler, path)
    head = call(handler, path, httpMethod="HEAD")
    assert (head["statusCode"], head["body"]) == (200, "")
    assert head["headers"] == get["headers"] and get["body"]


def test_head_of_a_missing_device_is_404_without_a_body(dynamodb):
    head = call("get_device", "/devices/0190f5e2-7a3b-7c1d-9e2f-3a4b5c6d7e8f", httpMethod="HEAD")
    assert head["statusCode"] == 404 and head["body"] == ""


@pytest.mark.parametrize(
    "condition",
    ['"1"', "*", '"7", "1"', 'W/"1"', '"3",W/"1"'],
)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_if_none_match_naming_the_current_etag_is_304_with_the_etag_and_no_body(device, condition, method):
    answer = call("get_device", f"/devices/{device['id']}", headers=[("If-None-Match", condition)], httpMethod=method)
    assert answer["statusCode"] == 304 and answer["body"] == ""
    assert answer["headers"]["ETag"] == '"1"' and "Content-Type" not in answer["headers"]


@pytest.mark.parametrize("condition", ['"2"', '"2", W/"3"', ""])
def test_if_none_match_naming_another_version_is_the_full_answer(device, condition):
    answer = call("get_device", f"/devices/{device['id']}", headers=[("If-None-Match", condition)])
    assert answer["statusCode"] == 200 and json.loads(answer["body"]) == device


@pytest.mark.parametrize("condition", ['"1" garbage', "1", "0", '"1",', "**", '"' + "9" * 300 + '"'])
@pytest.mark.parametrize(("handler", "suffix"), [("get_device", ""), ("get_status", "/status")])
def test_if_none_match_that_is_no_list_of_entity_tags_is_400(device, condition, handler, suffix):
    """Each spelling of If-None-Match is a cache key of its own (docs/caching.md): what the document's
    pattern refuses is a 400 problem naming the header, as a malformed If-Match is (issue 21, item 10)."""
    answer = call(handler, f"/devices/{device['id']}{suffix}", headers=[("If-None-Match", condition)])
    assert answer["statusCode"] == 400, answer
    assert "If-None-Match" in json.loads(answer["body"])["detail"]


def test_if_none_match_on_two_lines_is_one_list(device):
    lines = [("If-None-Match", '"5"'), ("If-None-Match", '"1"')]
    assert call("get_status", f"/devices/{device['id']}/status", headers=lines)["statusCode"] == 304


def test_an_answer_without_etag_is_never_304(device):
    # A past state (as_of) has no ETag: nothing to compare with.
    answer = call(
        "get_device",
        f"/devices/{device['id']}",
        headers=[("If-None-Match", "*")],
        queryStringParameters={"as_of": device["updated_at"]},
        multiValueQueryStringParameters={"as_of": [device["updated_at"]]},
    )
    assert answer["statusCode"] == 200 and "ETag" not in answer["headers"]


def test_if_match_on_two_lines_is_one_list(device):
    path = f"/devices/{device['id']}"
    body = json.dumps({"location": "Cellar"})
    content = ("Content-Type", "application/json")
    first = call("update_device", path, headers=[content, ("If-Match", '"1"'), ("If-Match", '"9"')], body=body)
    assert first["statusCode"] == 200 and first["headers"]["ETag"] == '"2"'
    second = call("update_device", path, headers=[content, ("If-Match", '"1"'), ("If-Match", '"9"')], body=body)
    assert_problem(second, 412, "precondition-failed")


@pytest.mark.parametrize("base", ["/registry", "/v1/registry", "/prod"])
def test_a_custom_domains_base_path_changes_nothing(device, base):
    path = f"/devices/{device['id']}"
    for handler, route_path in [
        ("get_device", path),
        ("get_status", f"{path}/status"),
        ("list_history", f"{path}/history"),
    ]:
        plain = call(handler, route_path)
        behind = call(handler, route_path, path=base + route_path)
        assert behind["statusCode"] == 200 and behind["body"] == plain["body"], handler
    put = call(
        "put_status",
        f"{path}/status",
        path=f"{base}{path}/status",
        headers=[("Content-Type", "application/json")],
        body=json.dumps({"status": "online"}),
    )
    assert put["statusCode"] == 200 and json.loads(put["body"])["status"] == "online"


@pytest.mark.parametrize(
    "spell",
    [
        lambda i: i.replace("-", "%2D"),
        lambda i: i.replace("-", "%2d"),
        lambda i: "%" + f"{ord(i[0]):02X}" + i[1:],
        str.upper,
    ],
)
def test_an_id_in_another_spelling_of_the_same_uuid_is_the_same_device(device, spell):
    spelled = spell(device["id"])
    answer = call("get_device", f"/devices/{spelled}", pathParameters={"device_id": spelled})
    assert answer["statusCode"] == 200 and json.loads(answer["body"]) == device


@pytest.mark.parametrize(
    "alias",
    [
        "{0190f5e2-7a3b-7c1d-9e2f-3a4b5c6d7e8f}",
        "urn:uuid:0190f5e2-7a3b-7c1d-9e2f-3a4b5c6d7e8f",
        "0190f5e27a3b7c1d9e2f3a4b5c6d7e8f",
        "0190f5e27a3b7c1d9e2f3a4b5c6d7e8f----",
        "0190f5e2-7a3b-7c1d-9e2f-3a4b5c6d7e8f%0A",
        "0190f5e2+7a3b+7c1d+9e2f+3a4b5c6d7e8f",
        "0190f5e2-7a3b-7c1d-9e2f-3a4b5c6d7e8\uff46",
        "%7B0190f5e2-7a3b-7c1d-9e2f-3a4b5c6d%7D",
    ],
)
def test_other_aliases_of_a_uuid_are_not_ids(dynamodb, alias):
    assert_problem(call("get_device", f"/devices/{alias}", pathParameters={"device_id": alias}), 422)


@pytest.mark.parametrize("method", ["get", "Get", "head"])
def test_a_method_in_lower_case_is_the_method(device, method):
    answer = call("get_device", f"/devices/{device['id']}", httpMethod=method)
    assert answer["statusCode"] == 200 and answer["headers"]["ETag"] == '"1"'


def test_a_write_in_lower_case_takes_its_body(device):
    answer = call(
        "put_status",
        f"/devices/{device['id']}/status",
        httpMethod="put",
        headers=[("Content-Type", "application/json")],
        body=json.dumps({"status": "offline"}),
    )
    assert answer["statusCode"] == 200 and json.loads(answer["body"])["status"] == "offline"


def test_cors_headers_for_an_allowed_origin_on_answers_and_errors(device, cors_origins):
    cors_origins("https://other.example.com", ORIGIN)
    origin = [("Origin", ORIGIN)]
    answers = [
        call("get_device", f"/devices/{device['id']}", headers=origin),
        call("get_device", f"/devices/{device['id']}", headers=[*origin, ("If-None-Match", '"1"')]),
        call("get_device", "/devices/not-a-uuid", headers=origin),
        call("create_device", "/devices", headers=[*origin, ("Content-Type", "text/plain")], body="x"),
    ]
    assert [answer["statusCode"] for answer in answers] == [200, 304, 422, 415]
    for answer in answers:
        assert answer["headers"]["Access-Control-Allow-Origin"] == ORIGIN
        assert answer["headers"]["Access-Control-Expose-Headers"] == "ETag, Location, Retry-After, Idempotent-Replayed"
        assert "Origin" in answer["headers"]["Vary"]


def test_no_cors_headers_for_another_origin_or_without_the_setting(device, cors_origins):
    path = f"/devices/{device['id']}"
    cors_origins(ORIGIN)
    other = call("get_device", path, headers=[("Origin", "https://evil.example.com")])
    assert "Access-Control-Allow-Origin" not in other["headers"] and other["headers"]["Vary"] == "Origin"
    cors_origins()
    unset = call("get_device", path, headers=[("Origin", ORIGIN)])
    assert not {name for name in unset["headers"] if name.startswith("Access-Control") or name == "Vary"}


@pytest.mark.parametrize("text", ["*", "app.example.com", "https://app.example.com/path", "ftp://x"])
def test_a_cors_origins_setting_that_is_not_a_list_of_origins_fails_at_cold_start(cors_origins, text):
    from registry.settings import SettingsError

    with pytest.raises(SettingsError, match="CORS_ORIGINS"):
        cors_origins(text)
        get_edge_settings()
