"""The OpenAPI document is the whole truth: every header a client sends or reads is declared on
the operations that take or answer it, each operation names its scope, and the docs function
points Swagger UI's Authorize at the deployment's token endpoint."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest

from local.proxy_events import LambdaContext, proxy_event
from registry import openapi, settings
from registry.http.routes import ROUTES, route_for

DOCUMENT = json.loads(Path(openapi.__file__).with_name("openapi.json").read_text())
# The response headers the contract names; any of them an answer carries must be declared there.
CONTRACT_HEADERS = ("ETag", "Location", "Retry-After", "Idempotent-Replayed")
DEVICE = {"name": "Declared", "device_type": "sensor"}


def operation(handler: str) -> dict[str, Any]:
    route = route_for(handler)
    return dict(DOCUMENT["paths"][route.path][route.method.lower()])


def declared_response_headers(handler: str, status: int) -> set[str]:
    return set(operation(handler)["responses"][str(status)].get("headers", {}))


# What each method honours: a registration has no version to match yet.
REQUEST_HEADERS = {
    "POST": {"Idempotency-Key"},
    "PATCH": {"If-Match", "Idempotency-Key"},
    "PUT": {"If-Match", "Idempotency-Key"},
    "DELETE": {"If-Match", "Idempotency-Key"},
    "GET": set(),
}
# A revert changes the version the client read (the detail's ETag); a restore has none to match.
# A credential has no version; its creation's answer holds the secret, never stored for replays.
HONOURED_BY_HANDLER = {
    "revert_device": {"If-Match", "Idempotency-Key"},
    "create_credential": set(),
    "delete_credential": {"Idempotency-Key"},
    # A read answering an ETag takes If-None-Match (304 when it names the current one).
    "get_device": {"If-None-Match"},
    "get_status": {"If-None-Match"},
    "get_own_device": {"If-None-Match"},
    "get_own_status": {"If-None-Match"},
}


def test_every_operation_declares_the_request_headers_it_honours_and_no_other():
    for route in ROUTES:
        headers = {p["name"] for p in operation(route.handler).get("parameters", []) if p["in"] == "header"}
        assert headers == HONOURED_BY_HANDLER.get(route.handler, REQUEST_HEADERS[route.method]), route.handler


def test_every_read_answering_an_etag_declares_its_304_with_the_etag():
    for handler in ("get_device", "get_status", "get_own_device", "get_own_status"):
        assert declared_response_headers(handler, 304) == {"ETag"}, handler
        assert operation(handler)["responses"]["304"]["content"] == {}, handler


def test_every_operation_requires_the_scope_of_its_route_the_device_routes_a_device_credential_and_the_docs_none():
    for route in ROUTES:
        security = operation(route.handler)["security"]
        if route.auth == "device":
            assert security == [{"device": []}], route.handler
        else:
            assert security == ([{"cognito": [route.scope]}, {"bearer": [route.scope]}] if route.scope else [])
    schemes = DOCUMENT["components"]["securitySchemes"]
    flows = schemes["cognito"]["flows"]
    assert set(flows["clientCredentials"]["scopes"]) == {route.scope for route in ROUTES if route.scope}
    assert schemes["device"] == {**schemes["device"], "type": "apiKey", "in": "header", "name": "Authorization"}


def test_document_holds_only_schemas_that_an_operation_uses():
    schemas = DOCUMENT["components"]["schemas"]
    assert not {"HTTPValidationError", "ValidationError", "ResponseValidationError"} & set(schemas)
    text = json.dumps(DOCUMENT["paths"]) + json.dumps(schemas)
    for name in schemas:
        assert f'"#/components/schemas/{name}"' in text, name


def test_patch_takes_a_merge_patch_or_plain_json_body_of_the_same_schema():
    content = operation("update_device")["requestBody"]["content"]
    assert set(content) == {"application/merge-patch+json", "application/json"}
    assert content["application/merge-patch+json"] == content["application/json"]


def _contract_headers(response: dict[str, Any]) -> set[str]:
    return {name for name in response["headers"] if name in CONTRACT_HEADERS}


def test_every_contract_header_the_handlers_answer_is_declared_for_that_answer(invoke, make_device):
    device = make_device()
    path = f"/devices/{device['id']}"
    key = {"Idempotency-Key": "declared-headers"}
    answers = [
        ("create_device", invoke("create_device", body={**DEVICE, "mac_address": "02:aa:00:00:00:01"}, headers=key)),
        ("create_device", invoke("create_device", body={**DEVICE, "mac_address": "02:aa:00:00:00:01"}, headers=key)),
        ("create_device", invoke("create_device", body={**DEVICE, "mac_address": "02:aa:00:00:00:01"})),
        ("get_device", invoke("get_device", path)),
        ("update_device", invoke("update_device", path, body={"location": "hall"}, headers={"If-Match": '"1"'})),
        ("update_device", invoke("update_device", path, body={"location": "x"}, headers={"If-Match": '"1"'})),
        ("get_status", invoke("get_status", f"{path}/status")),
        ("put_status", invoke("put_status", f"{path}/status", body={"status": "online"}, headers=key)),
        ("put_status", invoke("put_status", f"{path}/status", body={"status": "online"}, headers=key)),
        ("list_devices", invoke("list_devices")),
        ("list_history", invoke("list_history", f"{path}/history")),
        ("get_history_entry", invoke("get_history_entry", f"{path}/history/1")),
        ("delete_device", invoke("delete_device", path, headers=key)),
        ("delete_device", invoke("delete_device", path, headers=key)),
        ("get_device", invoke("get_device", path)),
    ]
    seen = set()
    for handler, response in answers:
        sent = _contract_headers(response)
        assert sent <= declared_response_headers(handler, response["statusCode"]), (handler, response)
        seen |= sent
    assert seen == {"ETag", "Location", "Idempotent-Replayed"}  # Retry-After: below


def test_a_busy_store_answers_503_with_the_declared_retry_after(invoke, make_device, inject_dynamodb_error):
    from registry import wiring

    device = make_device()
    inject_dynamodb_error(wiring.dynamodb_client(), "GetItem", "ProvisionedThroughputExceededException")
    response = invoke("get_device", f"/devices/{device['id']}")
    assert response["statusCode"] == 503
    assert _contract_headers(response) == {"Retry-After"} <= declared_response_headers("get_device", 503)


def test_if_match_sent_as_several_lines_means_the_same_as_one_comma_separated_line(invoke, make_device):
    device = make_device()
    route = route_for("update_device")
    event = proxy_event(
        route,
        path=f"/devices/{device['id']}",
        path_parameters={"device_id": device["id"]},
        headers={"Content-Type": "application/json", "If-Match": '"1"'},
        body=json.dumps({"location": "attic"}),
    )
    event["multiValueHeaders"]["If-Match"] = ['"7"', '"1"']
    response = importlib.import_module("handlers.update_device").lambda_handler(event, LambdaContext())
    assert response["statusCode"] == 200, response
    assert json.loads(response["body"])["location"] == "attic"


@pytest.fixture
def token_url(monkeypatch: pytest.MonkeyPatch) -> str:
    url = "https://device-registry-prod-123456789012.auth.eu-west-1.amazoncognito.com/oauth2/token"
    monkeypatch.setenv("OAUTH_TOKEN_URL", url)
    docs = importlib.import_module("handlers.swagger")
    for cached in (settings.get_docs_settings, docs._document, docs._page):
        cached.cache_clear()
    yield url
    monkeypatch.delenv("OAUTH_TOKEN_URL")
    for cached in (settings.get_docs_settings, docs._document, docs._page):
        cached.cache_clear()


def test_in_aws_swagger_ui_authorizes_at_the_stacks_cognito_token_endpoint(invoke, token_url):
    served = invoke("swagger", query="format=json")["json"]
    assert served["components"]["securitySchemes"]["cognito"]["flows"]["clientCredentials"]["tokenUrl"] == token_url
    page = invoke("swagger")["body"]
    assert token_url in page and openapi.TOKEN_URL_PLACEHOLDER not in page
    served["components"]["securitySchemes"]["cognito"]["flows"]["clientCredentials"]["tokenUrl"] = (
        openapi.TOKEN_URL_PLACEHOLDER
    )
    assert served == DOCUMENT  # nothing else differs from the committed document


def test_a_token_url_that_is_not_https_is_a_clear_deployment_error(monkeypatch):
    monkeypatch.setenv("OAUTH_TOKEN_URL", "http://example.com/oauth2/token")
    settings.get_docs_settings.cache_clear()
    with pytest.raises(settings.SettingsError, match="OAUTH_TOKEN_URL must be an https:// URL"):
        settings.get_docs_settings()
    settings.get_docs_settings.cache_clear()
