"""The operator console's hosting (infra/console.py): served by the API itself, so on the API's
origin; signed in through an app client of its own with the authorization code and PKCE (no
secret), where only the ``writers`` group gets the write scope; the stack outputs its URL; and a
synth without the built bundle has no console and says why. A small stack of the console and
what it needs, synthesized in a second."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk.assertions import Annotations, Match, Template

from handlers.console_token import WRITERS_GROUP
from infra.auth import Auth
from infra.console import FUNCTION_ID, NOT_BUILT, TOKEN_FUNCTION_ID, Console
from infra.stage import STAGES
from tests.infra.cfn import as_list


def _synth(dist: Path) -> tuple[Stack, Template]:
    app = App()
    stack = Stack(app, "ConsoleOnly")
    stage = STAGES["prod"]
    auth = Auth(stack, "Auth", stage=stage)
    api = apigw.RestApi(stack, "Api", deploy_options=apigw.StageOptions(stage_name=stage.name))
    api.root.add_resource("devices").add_method(
        "GET", authorizer=auth.authorizer, authorization_type=apigw.AuthorizationType.COGNITO
    )
    Console(stack, "Console", stage=stage, api=api, auth=auth, dist=dist)
    return stack, Template.from_stack(stack)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    dist = tmp_path_factory.mktemp("dist")
    (dist / "index.html").write_text("<!doctype html><title>console</title>")
    return dict(_synth(dist)[1].to_json())


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def test_the_console_is_two_public_get_methods_of_the_api_answered_by_its_own_function(built):
    resources = _of_type(built, "AWS::ApiGateway::Resource")
    paths = sorted(r["Properties"]["PathPart"] for r in resources.values())
    assert "console" in paths and "{proxy+}" in paths
    methods = [m["Properties"] for m in _of_type(built, "AWS::ApiGateway::Method").values()]
    console = [
        m
        for m in methods
        if m["HttpMethod"] == "GET" and m.get("AuthorizationType") == "NONE" and m["Integration"]["Type"] == "AWS_PROXY"
    ]
    assert len(console) == 2
    assert all(FUNCTION_ID in str(m["Integration"]["Uri"]) for m in console)
    # Only the two methods may invoke it (no test-invoke permissions); Cognito, the sign-in trigger.
    permissions = [p["Properties"] for p in _of_type(built, "AWS::Lambda::Permission").values()]
    principals = sorted(p["Principal"] for p in permissions)
    assert principals == ["apigateway.amazonaws.com", "apigateway.amazonaws.com", "cognito-idp.amazonaws.com"]
    function = built["Resources"][FUNCTION_ID]["Properties"]
    assert function["Handler"] == "handlers.console_site.lambda_handler"
    assert len(function["Layers"]) == 1, "the built files, in a layer of their own"


def test_its_methods_have_the_docs_throttle_and_no_cache(built):
    settings = _of_type(built, "AWS::ApiGateway::Stage")
    (stage,) = settings.values()
    console = {s["ResourcePath"]: s for s in stage["Properties"]["MethodSettings"] if "console" in s["ResourcePath"]}
    assert set(console) == {"/~1console", "/~1console~1{proxy+}"}
    docs = STAGES["prod"].docs_throttle
    for setting in console.values():
        assert (setting["ThrottlingRateLimit"], setting["ThrottlingBurstLimit"]) == (docs.rate, docs.burst)
        assert setting["CachingEnabled"] is False


def test_operators_sign_in_with_the_authorization_code_and_pkce_through_a_client_without_a_secret(built):
    clients = [c["Properties"] for c in _of_type(built, "AWS::Cognito::UserPoolClient").values()]
    (console,) = [c for c in clients if "code" in c.get("AllowedOAuthFlows", [])]
    assert console["AllowedOAuthFlows"] == ["code"]
    assert console.get("GenerateSecret") in (None, False)
    scopes = str(console["AllowedOAuthScopes"])
    assert len(console["AllowedOAuthScopes"]) == 2 and "/read" in scopes and "/write" in scopes
    assert console["SupportedIdentityProviders"] == ["COGNITO"]
    callback = str(console["CallbackURLs"])
    assert "execute-api" in callback and "/prod/console/" in callback
    environment = str(built["Resources"][FUNCTION_ID]["Properties"]["Environment"])
    assert "/oauth2/authorize" in environment and "CONSOLE_CLIENT_ID" in environment


def test_without_the_built_bundle_the_stack_has_no_console_and_the_synth_says_so(tmp_path):
    stack, template = _synth(tmp_path / "absent")
    template.resource_count_is("AWS::Lambda::Function", 0)
    assert not [c for c in template.find_resources("AWS::Cognito::UserPoolClient").values() if "code" in str(c)]
    warnings = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp(re.escape(NOT_BUILT)))
    assert warnings


def test_the_stack_outputs_the_console_url_on_the_apis_origin(prod, synthesized):
    if not (Path(__file__).resolve().parents[2] / "console" / "dist" / "index.html").is_file():
        pytest.skip("console/dist not built (make console): the stack has no console")
    url = str(prod["Outputs"]["ConsoleUrl"]["Value"])
    api = str(prod["Outputs"]["ApiUrl"]["Value"])
    assert "execute-api" in url and "/prod/console/" in url
    # The same API id: the console's origin is the API's, so it needs no CORS origin.
    rest_api = next(name for name, r in prod["Resources"].items() if r["Type"] == "AWS::ApiGateway::RestApi")
    assert rest_api in url and rest_api in api


def test_only_the_writers_group_signs_in_with_the_write_scope(built):
    """A V2_0 pre-token-generation trigger (handlers/console_token.py) on the pool, the ``writers``
    group it reads, and a function that may do nothing but write its logs."""
    (pool,) = _of_type(built, "AWS::Cognito::UserPool").values()
    trigger = pool["Properties"]["LambdaConfig"]["PreTokenGenerationConfig"]
    assert trigger["LambdaVersion"] == "V2_0"
    assert trigger["LambdaArn"] == {"Fn::GetAtt": [TOKEN_FUNCTION_ID, "Arn"]}
    groups = [g["Properties"]["GroupName"] for g in _of_type(built, "AWS::Cognito::UserPoolGroup").values()]
    assert groups == [WRITERS_GROUP]
    function = built["Resources"][TOKEN_FUNCTION_ID]["Properties"]
    assert function["Handler"] == "handlers.console_token.lambda_handler"
    assert "Layers" not in function, "the standard library only: no dependency layer to load at sign-in"
    role = built["Resources"][function["Role"]["Fn::GetAtt"][0]]["Properties"]
    actions = {a for p in role["Policies"] for s in p["PolicyDocument"]["Statement"] for a in as_list(s["Action"])}
    assert actions == {"logs:CreateLogStream", "logs:PutLogEvents"}
