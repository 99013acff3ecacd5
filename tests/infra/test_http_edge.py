"""The HTTP edge in the template: HEAD beside every GET, a cache that cannot serve a 304 to a
client that did not ask for one, CORS preflights and headers, and the custom domain, for the
stack a deployment with those settings gets (tests/infra/conftest.py EDGE_SETTINGS)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.gateway_problems import cors_headers
from infra.stage import STAGES, stage_config
from registry.http import cors
from registry.http.routes import ROUTES, Route
from tests.infra.cfn import integration_target, methods, only, resources
from tests.infra.conftest import EDGE_SETTINGS

GETS = [pytest.param(route, id=route.path) for route in ROUTES if route.method == "GET"]
CACHED = [pytest.param(route, id=route.path) for route in ROUTES if route.cache_ttl]
ORIGINS = tuple(EDGE_SETTINGS["cors_origins"].split(","))
PATHS = sorted({route.path for route in ROUTES})


def _method_settings(template: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    stage = only(template, "AWS::ApiGateway::Stage")["Properties"]
    return {(s["ResourcePath"], s["HttpMethod"]): s for s in stage["MethodSettings"]}


@pytest.mark.parametrize("route", GETS)
def test_every_get_has_a_head_answered_by_the_same_function_with_the_same_token_scope(
    prod: dict[str, Any], route: Route
) -> None:
    get, head = methods(prod)[(route.path, "GET")], methods(prod)[(route.path, "HEAD")]

    assert head["Integration"]["Type"] == "AWS_PROXY"
    assert integration_target(prod, head) == integration_target(prod, get) == route.function_id
    for field in ("AuthorizationType", "AuthorizerId", "AuthorizationScopes"):
        assert head.get(field) == get.get(field), field


@pytest.mark.parametrize("route", GETS)
def test_head_is_never_cached(prod: dict[str, Any], route: Route) -> None:
    """A HEAD answer has no body: were it cached, it must never be what a GET is served."""
    head = methods(prod)[(route.path, "HEAD")]
    setting = _method_settings(prod).get(("/" + route.path.replace("/", "~1"), "HEAD"))

    assert not head["Integration"].get("CacheKeyParameters")
    assert setting is None or setting["CachingEnabled"] is False


@pytest.mark.parametrize("stage", ["dev", "prod", "edge"])
@pytest.mark.parametrize("route", CACHED)
def test_a_cached_304_is_only_served_to_a_request_naming_the_same_tags(
    synthesized: Any, stage: str, route: Route
) -> None:
    """The function answers 304 to an If-None-Match naming the current ETag, and API Gateway
    caches whatever it answers under the method's cache key. With the header in the key, a
    request without it (or with other tags) never meets that cached 304."""
    get = methods(synthesized.json(stage))[(route.path, "GET")]
    key = "method.request.header.If-None-Match"

    assert key in get["Integration"]["CacheKeyParameters"]
    assert get["RequestParameters"][key] is False  # declared (API Gateway keys only on those), optional


@pytest.mark.parametrize("route", CACHED)
def test_with_cors_the_cache_key_holds_the_origin(edge: dict[str, Any], prod: dict[str, Any], route: Route) -> None:
    """Answers differ by Origin (Access-Control-Allow-Origin); the cache ignores Vary."""
    key = "method.request.header.Origin"

    assert key in methods(edge)[(route.path, "GET")]["Integration"]["CacheKeyParameters"]
    assert key not in methods(prod)[(route.path, "GET")]["Integration"]["CacheKeyParameters"]


@pytest.mark.parametrize("path", PATHS)
def test_a_preflight_is_answered_by_a_mock_without_a_token(edge: dict[str, Any], path: str) -> None:
    """The path's one ANY mock: its request template picks 204 for OPTIONS (405 for any other
    undeclared verb), and API Gateway the integration response whose pattern matches that status."""
    method = methods(edge)[(path, "ANY")]
    refusal, response = method["Integration"]["IntegrationResponses"]
    template = response["ResponseTemplates"]["application/json"]
    chooser = method["Integration"]["RequestTemplates"]["application/json"]
    served = {route.method for route in ROUTES if route.path == path}
    served |= {"HEAD"} if "GET" in served else set()

    assert method["Integration"]["Type"] == "MOCK" and method["AuthorizationType"] == "NONE"
    assert chooser == '{"statusCode": #if($context.httpMethod == "OPTIONS")204#{else}405#end}'
    assert (response["StatusCode"], response["SelectionPattern"]) == ("204", "204")
    assert refusal["StatusCode"] == "405" and "SelectionPattern" not in refusal
    assert response["ResponseParameters"]["method.response.header.Vary"] == "'Origin'"
    # Each allowed origin compared for equality (a regex match would let https://appXexample.com in).
    assert all(f"$origin == {json.dumps(origin)}" in template for origin in ORIGINS)
    assert ".matches(" not in template
    assert f'Access-Control-Allow-Methods = "{", ".join(sorted(served))}"' in template
    assert all(header in template for header in cors.ALLOWED_HEADERS)
    assert f'Access-Control-Max-Age = "{cors.MAX_AGE}"' in template


def test_without_cors_origins_there_are_no_preflight_mocks_and_no_cors_headers(prod: dict[str, Any]) -> None:
    assert not [key for key in methods(prod) if key[1] == "OPTIONS"]
    assert all(
        len(m["Integration"]["IntegrationResponses"]) == 1 for (_, verb), m in methods(prod).items() if verb == "ANY"
    )
    for response in resources(prod, "AWS::ApiGateway::GatewayResponse").values():
        assert not [h for h in response["Properties"]["ResponseParameters"] if "Access-Control" in h]


def test_every_gateway_response_exposes_the_headers_and_varies_by_origin(edge: dict[str, Any]) -> None:
    for response in resources(edge, "AWS::ApiGateway::GatewayResponse").values():
        headers = response["Properties"]["ResponseParameters"]
        assert headers["gatewayresponse.header.Access-Control-Expose-Headers"] == (
            "'ETag, Location, Retry-After, Idempotent-Replayed'"
        )
        assert headers["gatewayresponse.header.Vary"] == "'Origin'"
        # Two origins: a fixed value would be wrong for one of them (cors_headers).
        assert "gatewayresponse.header.Access-Control-Allow-Origin" not in headers


def test_a_single_allowed_origin_is_named_on_gateway_responses() -> None:
    assert cors_headers(("https://app.example.com",))["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "Access-Control-Allow-Origin" not in cors_headers(ORIGINS)
    assert cors_headers(()) == {}


def test_every_route_function_gets_the_allowed_origins(edge: dict[str, Any], dev: dict[str, Any]) -> None:
    for route in ROUTES:
        variables = edge["Resources"][route.function_id]["Properties"]["Environment"]["Variables"]
        assert variables["CORS_ORIGINS"] == ",".join(ORIGINS), route.handler
        assert "CORS_ORIGINS" not in dev["Resources"][route.function_id]["Properties"]["Environment"]["Variables"]


def test_the_custom_domain_maps_the_stage_under_its_base_path(edge: dict[str, Any], prod: dict[str, Any]) -> None:
    domain = only(edge, "AWS::ApiGateway::DomainName")["Properties"]
    mapping = only(edge, "AWS::ApiGateway::BasePathMapping")["Properties"]
    api = next(iter(resources(edge, "AWS::ApiGateway::RestApi")))
    stage = next(iter(resources(edge, "AWS::ApiGateway::Stage")))

    assert domain["DomainName"] == EDGE_SETTINGS["domain_name"]
    assert domain["RegionalCertificateArn"] == EDGE_SETTINGS["certificate_arn"]
    assert domain["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    assert domain["SecurityPolicy"] == "TLS_1_2"
    assert mapping["BasePath"] == EDGE_SETTINGS["base_path"]
    assert mapping["RestApiId"] == {"Ref": api} and mapping["Stage"] == {"Ref": stage}
    assert not resources(prod, "AWS::ApiGateway::DomainName")


@pytest.mark.parametrize(
    "settings",
    [
        {"cors_origins": "*"},
        {"cors_origins": "https://app.example.com/"},
        {"cors_origins": "https://app.example.com/ui"},
        {"domain_name": "api.example.com"},
        {"certificate_arn": EDGE_SETTINGS["certificate_arn"]},
        {"base_path": "registry"},
        {**EDGE_SETTINGS, "base_path": "a/b"},
    ],
)
def test_a_setting_that_cannot_deploy_is_refused_at_synth(settings: dict[str, str]) -> None:
    if settings.get("cors_origins") == "https://app.example.com/":
        # A trailing slash is how people paste an origin: it is read as the origin.
        assert stage_config("dev", settings.get).cors_origins == ("https://app.example.com",)
        return
    with pytest.raises(ValueError):
        stage_config("dev", settings.get)


def test_the_stages_allow_no_origin_and_have_no_domain_by_default() -> None:
    for stage in STAGES.values():
        assert (stage.cors_origins, stage.domain_name, stage.certificate_arn, stage.base_path) == ((), None, None, None)
