"""events/: one API Gateway REST proxy event per route (for `sam local invoke`), each fed to its
own handler here so a sample that no longer fits its route fails."""

import importlib
import json
from pathlib import Path

import pytest

from local.proxy_events import LambdaContext
from registry.domain.jobs import JobMessage, Step
from registry.http.routes import DEVICE, ROUTES
from registry.wiring import get_job_worker

EVENTS = Path(__file__).resolve().parents[2] / "events"
SAMPLE_DEVICE_ID = "0190f5e2-7a3b-7c1d-9e2f-3a4b5c6d7e8f"
# The credential events/delete_credential.json revokes: replaced by one the test creates.
SAMPLE_CREDENTIAL_ID = "5f0c3a1e-2b4d-4c6e-8f10-2a3b4c5d6e7f"
# The top-level fields of `sam local generate-event apigateway aws-proxy`.
PROXY_FIELDS = {
    "body",
    "resource",
    "path",
    "httpMethod",
    "isBase64Encoded",
    "queryStringParameters",
    "multiValueQueryStringParameters",
    "pathParameters",
    "stageVariables",
    "headers",
    "multiValueHeaders",
    "requestContext",
}
EXPECTED_STATUS = {
    "create_device": 201,
    "create_devices": 200,
    "report_statuses": 200,
    "list_devices": 200,
    "get_device": 200,
    "update_device": 200,
    "delete_device": 204,
    "revert_device": 200,
    "restore_device": 200,
    "get_status": 200,
    "put_status": 200,
    "list_history": 200,
    "get_history_entry": 200,
    "diff_device": 200,
    "list_mac_holders": 200,
    "list_ip_holders": 200,
    "device_stats": 200,
    "swagger": 200,
    "create_credential": 201,
    "list_credentials": 200,
    "delete_credential": 204,
    "get_own_device": 200,
    "get_own_status": 200,
    "put_own_status": 200,
    "create_job": 202,
    "list_jobs": 200,
    "get_job": 200,
    "list_job_results": 200,
    "cancel_job": 202,
    "rollback_job": 202,
}


def load(route):
    return json.loads((EVENTS / f"{route.handler}.json").read_text())


# Sample events of the functions that are not routes: a DynamoDB stream batch for the change-event
# publisher (tests/unit/test_change_events.py, tests/infra/test_change_events.py), a REQUEST
# authorizer event for the device authorizer (tests/infra/test_device_authorizer.py), a
# pre-token-generation event for the console's sign-in trigger (tests/unit/test_console_token.py)
# an SQS batch of one job step for the job worker (tests/integration/test_job_worker_event.py) and a
# schedule event for the liveness sweep (tests/infra/test_liveness.py).
NOT_ROUTES = {"publish_changes", "authorize_device", "run_jobs", "console_token", "sweep_liveness"}
# The job the job routes' events name: replaced by one the test creates.
SAMPLE_JOB_ID = "01a250d4-ae5a-79b2-a2fb-fd66bef0f7b5"


def test_every_route_has_an_event_file_and_every_event_file_a_route():
    assert {path.stem for path in EVENTS.glob("*.json")} - NOT_ROUTES == {route.handler for route in ROUTES}
    assert set(EXPECTED_STATUS) == {route.handler for route in ROUTES}


@pytest.mark.parametrize("route", ROUTES, ids=[route.handler for route in ROUTES])
def test_event_is_a_rest_proxy_event_for_its_route(route):
    event = load(route)
    assert set(event) == PROXY_FIELDS
    assert (event["resource"], event["httpMethod"]) == (route.path, route.method)
    context = event["requestContext"]
    assert (context["resourcePath"], context["httpMethod"]) == (route.path, route.method)
    assert context["path"] == f"/{context['stage']}{event['path']}"
    params = event["pathParameters"] or {}
    assert set(params) == set(route.path_parameters)
    assert route.match(event["path"]) == params
    assert params.get("device_id", SAMPLE_DEVICE_ID) == SAMPLE_DEVICE_ID
    assert {k: [v] for k, v in event["headers"].items()} == event["multiValueHeaders"]
    query = event["queryStringParameters"] or {}
    assert set(query) <= set(route.query)
    assert {k: [v] for k, v in query.items()} == (event["multiValueQueryStringParameters"] or {})
    if route.method in {"POST", "PUT", "PATCH"}:
        assert event["headers"]["Content-Type"].startswith("application/")
        assert isinstance(json.loads(event["body"]), dict) and event["isBase64Encoded"] is False
    else:
        assert event["body"] is None
    if route.auth is None:
        assert "authorizer" not in context  # the docs route is public
    elif route.auth == DEVICE:  # what the device authorizer passes: the credential's device
        authorizer = context["authorizer"]
        assert authorizer["device_id"] == SAMPLE_DEVICE_ID
        assert authorizer["principalId"] == f"device:{authorizer['credential_id']}"
    else:
        claims = context["authorizer"]["claims"]
        assert claims["sub"] and route.scope in claims["scope"].split()


@pytest.fixture
def registered(make_device):
    """A device for the events to act on, with a MAC other than the one the create event registers."""
    return make_device(name="Sample", device_type="sensor", mac_address="02:00:00:00:ee:01")


def sample_for(route, registered, invoke):
    """The route's sample event, acting on ``registered`` (deleted first where the route needs that)."""
    text = (EVENTS / f"{route.handler}.json").read_text().replace(SAMPLE_DEVICE_ID, registered["id"])
    if route.handler == "delete_credential":  # a credential of the device, to revoke
        created = invoke("create_credential", f"/devices/{registered['id']}/credentials", body={})["json"]
        text = text.replace(SAMPLE_CREDENTIAL_ID, created["credential_id"])
    if route.path.startswith("/jobs/"):  # a job to act on: finished (cancelled) for a rollback
        job = invoke("create_job", body={"filter": {"location": "nowhere"}, "patch": {"location": "x"}})["json"]
        if route.handler == "rollback_job":
            invoke("cancel_job", f"/jobs/{job['id']}/cancel", body={})
            get_job_worker().handle(JobMessage(job["id"], Step.RESOLVE))
        text = text.replace(SAMPLE_JOB_ID, job["id"])
    event = json.loads(text)
    if route.handler == "restore_device":  # only a deleted device can be restored
        assert invoke("delete_device", f"/devices/{registered['id']}")["statusCode"] == 204
    return event


def answer(route, event):
    return importlib.import_module(f"handlers.{route.handler}").lambda_handler(event, LambdaContext())


@pytest.mark.parametrize("route", ROUTES, ids=[route.handler for route in ROUTES])
def test_event_behind_a_custom_domain_base_path_gets_the_route_success_status(route, registered, invoke):
    """A base path mapping (https://api.example.com/registry/...) puts its prefix in ``path`` only."""
    event = sample_for(route, registered, invoke)
    event["path"] = f"/registry{event['path']}"
    event["requestContext"]["path"] = event["path"]
    assert answer(route, event)["statusCode"] == EXPECTED_STATUS[route.handler]


@pytest.mark.parametrize("route", [r for r in ROUTES if r.method == "GET"], ids=lambda r: r.handler)
def test_get_event_sent_as_head_gets_the_same_status_and_headers_without_a_body(route, registered, invoke):
    event = sample_for(route, registered, invoke)
    get = answer(route, event)
    head = answer(
        route, {**event, "httpMethod": "HEAD", "requestContext": {**event["requestContext"], "httpMethod": "HEAD"}}
    )
    assert head["statusCode"] == get["statusCode"] == EXPECTED_STATUS[route.handler] and head["body"] == ""
    assert head.get("multiValueHeaders") == get.get("multiValueHeaders") and head.get("headers") == get.get("headers")


@pytest.mark.parametrize("route", ROUTES, ids=[route.handler for route in ROUTES])
def test_event_fed_to_its_handler_gets_the_route_success_status(route, registered, invoke):
    event = sample_for(route, registered, invoke)
    response = answer(route, event)
    assert response["statusCode"] == EXPECTED_STATUS[route.handler], response.get("body")
    if route.handler == "list_devices":
        assert [item["id"] for item in json.loads(response["body"])["items"]] == [registered["id"]]
    if route.handler == "update_device":
        # The change is recorded under the token's subject, as the authorizer passed it.
        sub = event["requestContext"]["authorizer"]["claims"]["sub"]
        entry = invoke("get_history_entry", f"/devices/{registered['id']}/history/2")["json"]
        assert entry["changed_by"] == sub and entry["changes"]["location"]["new"] == "Building A, roof"
    if route.handler in {"revert_device", "restore_device"}:
        assert json.loads(response["body"])["id"] == registered["id"]
    if route.handler == "restore_device":
        entry = invoke("get_history_entry", f"/devices/{registered['id']}/history/3")["json"]
        assert (entry["kind"], entry["reason"]) == ("restored", "deleted by mistake")
    if route.handler == "create_device":
        assert json.loads(response["body"])["mac_address"] == "00:1a:2b:3c:4d:5e"
    if route.handler == "create_devices":
        assert json.loads(response["body"])["created"] == 2
    if route.handler == "report_statuses":
        answered = json.loads(response["body"])
        assert (answered["changed"], answered["results"][0]["device_id"]) == (1, registered["id"])
    if route.handler == "put_own_status":  # recorded as made by the device, by its credential
        entry = invoke("get_history_entry", f"/devices/{registered['id']}/history/2")["json"]
        assert entry["changed_by"] == f"device:{SAMPLE_CREDENTIAL_ID}" and entry["snapshot"]["status"] == "online"
