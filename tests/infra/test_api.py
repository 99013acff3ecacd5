"""The REST API in the template is the route table: methods, Lambdas, scopes, caching, 405s
and problem-document gateway responses."""

from __future__ import annotations

import json
from hashlib import sha256
from typing import Any

import pytest

from infra.functions import handler_string
from infra.stage import STAGES
from registry.http.problems import PROBLEM_JSON
from registry.http.routes import DEVICE, ROUTES, Route
from tests.infra.cfn import integration_target, methods, only, render, resources
from tests.infra.conftest import Synthesized


def _params(routes: list[Route]) -> list[Any]:
    return [pytest.param(route, id=f"{route.method} {route.path}") for route in routes]


LAMBDA_ROUTES = _params(list(ROUTES))
# OPTIONS too: without CORS origins it is a verb no path declares (405, as the local server).
VERBS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _declared() -> dict[str, set[str]]:
    declared: dict[str, set[str]] = {}
    for route in ROUTES:
        declared.setdefault(route.path, set()).update(
            {route.method, "HEAD"} if route.method == "GET" else {route.method}
        )
    return declared


def _stage(template: dict[str, Any]) -> dict[str, Any]:
    return only(template, "AWS::ApiGateway::Stage")["Properties"]


def _method_setting(template: dict[str, Any], route: Route) -> dict[str, Any] | None:
    resource_path = "/" + route.path.replace("/", "~1")
    for setting in _stage(template)["MethodSettings"]:
        if setting["ResourcePath"] == resource_path and setting["HttpMethod"] == route.method:
            return dict(setting)
    return None


@pytest.mark.parametrize("route", LAMBDA_ROUTES)
def test_every_route_has_a_method_invoking_its_own_lambda(prod: dict[str, Any], route: Route) -> None:
    method = methods(prod)[(route.path, route.method)]

    assert method["Integration"]["Type"] == "AWS_PROXY"
    function_id = integration_target(prod, method)
    assert function_id == route.function_id
    function = prod["Resources"][function_id]["Properties"]
    assert function["Handler"] == handler_string(route) == f"handlers.{route.handler}.lambda_handler"


def test_each_route_has_a_function_of_its_own(prod: dict[str, Any]) -> None:
    targets = [integration_target(prod, methods(prod)[(r.path, r.method)]) for r in ROUTES]

    assert len(set(targets)) == len(ROUTES)


@pytest.mark.parametrize("route", LAMBDA_ROUTES)
def test_operator_methods_need_a_cognito_token_with_the_route_scope_and_device_methods_a_device_credential(
    prod: dict[str, Any], route: Route
) -> None:
    method = methods(prod)[(route.path, route.method)]
    authorizers = resources(prod, "AWS::ApiGateway::Authorizer")
    authorizer_id = next(a for a, r in authorizers.items() if r["Properties"]["Type"] == "COGNITO_USER_POOLS")
    device_authorizer_id = next(a for a, r in authorizers.items() if r["Properties"]["Type"] == "REQUEST")

    if route.auth is None:
        assert method["AuthorizationType"] == "NONE"
        assert "AuthorizerId" not in method
    elif route.auth == DEVICE:
        assert method["AuthorizationType"] == "CUSTOM"
        assert method["AuthorizerId"] == {"Ref": device_authorizer_id}
        assert "AuthorizationScopes" not in method
    else:
        assert method["AuthorizationType"] == "COGNITO_USER_POOLS"
        assert method["AuthorizerId"] == {"Ref": authorizer_id}
        assert method["AuthorizationScopes"] == [route.scope]


def test_only_the_docs_route_and_the_console_are_public_among_lambda_methods(prod: dict[str, Any]) -> None:
    public = {
        key
        for key, method in methods(prod).items()
        if method["Integration"]["Type"] == "AWS_PROXY" and method["AuthorizationType"] == "NONE"
    }

    docs = {(r.path, verb) for r in ROUTES if r.auth is None for verb in (r.method, "HEAD")}
    # The operator console's files (infra/console.py), when the bundle was built for the synth.
    assert public - docs <= {("/console", "GET"), ("/console/{proxy+}", "GET")}
    assert docs <= public


@pytest.mark.parametrize("route", _params([r for r in ROUTES if r.method == "GET"]))
def test_get_methods_are_cached_for_their_route_ttl(prod: dict[str, Any], route: Route) -> None:
    setting = _method_setting(prod, route)

    if route.cache_ttl == 0:
        assert setting is None or setting["CachingEnabled"] is False
    else:
        assert setting is not None, f"no method setting for {route.method} {route.path}"
        assert setting["CachingEnabled"] is True
        assert setting["CacheTtlInSeconds"] == route.cache_ttl
        assert setting["CacheDataEncrypted"] is True


@pytest.mark.parametrize("route", _params([r for r in ROUTES if r.cache_ttl > 0]))
def test_cache_keys_are_the_path_ids_and_the_route_query(prod: dict[str, Any], route: Route) -> None:
    method = methods(prod)[(route.path, route.method)]
    expected = (
        {f"method.request.path.{p}" for p in route.path_parameters}
        | {f"method.request.querystring.{q}" for q in route.query}
        # A 304 is cached under the If-None-Match it answered (tests/infra/test_http_edge.py).
        | {"method.request.header.If-None-Match"}
    )

    assert set(method["Integration"]["CacheKeyParameters"]) == expected
    # API Gateway only keys on parameters the method declares.
    assert expected <= set(method.get("RequestParameters", {}))


def test_stage_caching_is_off_by_default_and_the_cluster_is_encrypted(prod: dict[str, Any]) -> None:
    stage = _stage(prod)
    defaults = next(s for s in stage["MethodSettings"] if s["ResourcePath"] == "/*")

    assert stage["CacheClusterEnabled"] is True
    assert stage["CacheClusterSize"] == "0.5"
    assert defaults["CachingEnabled"] is False
    assert defaults["CacheDataEncrypted"] is True
    assert defaults["ThrottlingRateLimit"] > 0 and defaults["ThrottlingBurstLimit"] > 0
    assert stage["TracingEnabled"] is True


def test_write_methods_are_never_cached(prod: dict[str, Any]) -> None:
    cached = {(s["ResourcePath"], s["HttpMethod"]) for s in _stage(prod)["MethodSettings"] if s.get("CachingEnabled")}

    assert all(method == "GET" for _, method in cached)


def _invalidation_call(template: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(render(only(template, "Custom::AWS")["Properties"]["Create"])))


def test_cache_invalidation_requires_authorization_on_every_cached_method(prod: dict[str, Any]) -> None:
    call = _invalidation_call(prod)
    operations = {(op["path"], op["value"]) for op in call["parameters"]["patchOperations"]}
    targets = ["/*/*"] + ["/" + r.path.replace("/", "~1") + "/GET" for r in ROUTES if r.cache_ttl > 0]

    assert call["action"] == "updateStage"
    for route in (r for r in ROUTES if r.cache_ttl > 0):
        target = "/" + route.path.replace("/", "~1") + "/GET"
        assert (f"{target}/caching/ttlInSeconds", str(route.cache_ttl)) in operations
    for target in targets:
        assert (f"{target}/caching/requireAuthorizationForCacheControl", "true") in operations


def test_unauthorized_cache_invalidation_is_ignored_not_refused(prod: dict[str, Any]) -> None:
    """Browsers send Cache-Control: max-age=0 on every reload: without the permission the
    request is served from the cache, neither refused (403) nor flagged with a warning header."""
    strategies = {
        op["path"].split("/caching/")[0]: op["value"]
        for op in _invalidation_call(prod)["parameters"]["patchOperations"]
        if op["path"].endswith("/caching/unauthorizedCacheControlHeaderStrategy")
    }

    assert set(strategies) == {"/*/*"} | {"/" + r.path.replace("/", "~1") + "/GET" for r in ROUTES if r.cache_ttl}
    assert set(strategies.values()) == {"SUCCEED_WITHOUT_RESPONSE_HEADER"}


def test_the_invalidation_policy_is_applied_again_after_every_change_of_the_stage(prod: dict[str, Any]) -> None:
    """CloudFormation updates a custom resource only when its properties change: the policy's
    carries a hash of the stage as the template declares it, deployment id included, so any
    change of the stage (a new deployment too) runs the UpdateStage call again after it."""
    stage_id, stage = next(iter(resources(prod, "AWS::ApiGateway::Stage").items()))
    properties = only(prod, "Custom::AWS")["Properties"]
    deployments = resources(prod, "AWS::ApiGateway::Deployment")
    declared = json.dumps(stage["Properties"], sort_keys=True)

    assert properties["StageFingerprint"] == sha256(declared.encode()).hexdigest()
    assert stage["Properties"]["DeploymentId"] == {"Ref": next(iter(deployments))} and len(deployments) == 1
    assert f'"Ref": "{stage_id}"' in json.dumps(properties["Update"])  # so it runs after the stage


@pytest.mark.parametrize("route", _params([r for r in ROUTES if r.auth is None]))
def test_the_public_docs_are_cached_per_format_and_throttled_low(prod: dict[str, Any], route: Route) -> None:
    setting = _method_setting(prod, route)
    method = methods(prod)[(route.path, route.method)]

    assert setting is not None and setting["CachingEnabled"] is True and setting["CacheTtlInSeconds"] > 0
    assert method["Integration"]["CacheKeyParameters"] == [
        "method.request.querystring.format",
        "method.request.header.If-None-Match",
    ]
    assert setting["ThrottlingRateLimit"] == STAGES["prod"].docs_throttle.rate <= 10
    assert setting["ThrottlingBurstLimit"] == STAGES["prod"].docs_throttle.burst <= 20


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_write_method_has_its_own_throttle(synthesized: Synthesized, stage: str) -> None:
    """Their sum fits the account's throttle (tests/infra/test_deploy_rules.py)."""
    template = synthesized.json(stage)
    defaults = next(s for s in _stage(template)["MethodSettings"] if s["ResourcePath"] == "/*")

    for route in (r for r in ROUTES if r.is_write):
        setting = _method_setting(template, route)
        assert setting is not None, f"no method setting for {route.method} {route.path}"
        # Device routes are sized for the fleet (test_device_authorizer.py), credential routes are rare,
        # a batch (up to 100 writes a request) has a lower limit of its own.
        limit = STAGES[stage].write_throttle
        if route.auth == DEVICE:
            limit = STAGES[stage].device_throttle
        elif "/credentials" in route.path:
            limit = STAGES[stage].credentials_throttle
        elif route.batch:
            limit = STAGES[stage].batch_throttle
        elif route.path.startswith("/jobs"):  # started rarely and watched; the worker does the work
            limit = STAGES[stage].jobs_throttle
        assert setting["ThrottlingRateLimit"] == limit.rate
        assert setting["ThrottlingBurstLimit"] == limit.burst
        assert setting["CachingEnabled"] is False
    # The stage default is the mocks' (405, preflight): below every function's limit.
    assert all(defaults["ThrottlingRateLimit"] <= s["ThrottlingRateLimit"] for s in _stage(template)["MethodSettings"])


@pytest.mark.parametrize(
    ("path", "verb"), [(path, verb) for path, declared in _declared().items() for verb in VERBS if verb not in declared]
)
def test_a_known_path_answers_405_with_allow_for_undeclared_verbs(prod: dict[str, Any], path: str, verb: str) -> None:
    """One ANY mock per path: API Gateway prefers a path's declared methods over it."""
    method = methods(prod)[(path, "ANY")]
    integration = method["Integration"]
    (response,) = integration["IntegrationResponses"]
    allow = response["ResponseParameters"]["method.response.header.Allow"].strip("'")
    # What API Gateway renders for a request with this verb.
    body = json.loads(response["ResponseTemplates"]["application/json"].replace("$context.httpMethod", verb))

    assert integration["Type"] == "MOCK"
    assert integration["RequestTemplates"]["application/json"] == '{"statusCode": 405}'
    assert response["StatusCode"] == "405"
    assert set(allow.split(", ")) == _declared()[path]
    assert response["ResponseParameters"]["method.response.header.Content-Type"] == f"'{PROBLEM_JSON}'"
    assert body["status"] == 405 and verb in body["detail"]


def test_every_declared_verb_is_served_by_a_lambda_not_a_mock(prod: dict[str, Any]) -> None:
    for route in ROUTES:
        assert methods(prod)[(route.path, route.method)]["Integration"]["Type"] == "AWS_PROXY"


def _gateway_responses(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in resources(template, "AWS::ApiGateway::GatewayResponse").values()
    }


@pytest.mark.parametrize(
    ("response_type", "status"),
    [
        ("MISSING_AUTHENTICATION_TOKEN", "404"),  # unknown route
        ("RESOURCE_NOT_FOUND", "404"),
        ("UNAUTHORIZED", "401"),
        ("ACCESS_DENIED", "403"),
        ("THROTTLED", "429"),
        ("REQUEST_TOO_LARGE", "413"),
        ("UNSUPPORTED_MEDIA_TYPE", "415"),
        ("DEFAULT_4XX", None),
        ("DEFAULT_5XX", None),
    ],
)
def test_gateway_errors_are_problem_documents(prod: dict[str, Any], response_type: str, status: str | None) -> None:
    response = _gateway_responses(prod)[response_type]
    template = response["ResponseTemplates"]["application/json"]
    # What API Gateway substitutes: $context.error.messageString is a quoted JSON string.
    body = json.loads(template.replace("$context.error.messageString", '"a message"'))

    assert response.get("StatusCode") == status
    assert response["ResponseParameters"]["gatewayresponse.header.Content-Type"] == f"'{PROBLEM_JSON}'"
    assert {"type", "title", "detail"} <= set(body)
    if status is not None:
        assert body["status"] == int(status)


def test_access_logs_are_json_lines_with_the_request_id(prod: dict[str, Any]) -> None:
    log_format = _stage(prod)["AccessLogSetting"]["Format"]
    entry = json.loads(log_format)

    assert entry["requestId"] == "$context.requestId"
    assert {"status", "httpMethod", "resourcePath", "clientId", "integrationLatency"} <= set(entry)


def test_the_invalidation_policy_call_returns_only_the_stage_name(prod: dict[str, Any]) -> None:
    """CDK's handler hands CloudFormation the call's answer, the whole stage (~24 KB) unless the
    call names what to keep; CloudFormation refuses over 4,096 bytes (test_deploy_rules.py sizes it)."""
    for event in ("Create", "Update"):
        call = json.loads(render(only(prod, "Custom::AWS")["Properties"][event]))
        assert call["outputPaths"] == ["stageName"]
