"""Cognito: the scopes the route table asks for exist, and a machine client can get them."""

from __future__ import annotations

from typing import Any

from ops.preflight import resolve
from registry.http.routes import ROUTES
from tests.infra.cfn import only, resources


def _route_scopes() -> set[str]:
    return {route.scope for route in ROUTES if route.scope}


def test_resource_server_defines_every_scope_the_routes_need(prod: dict[str, Any]) -> None:
    server = only(prod, "AWS::Cognito::UserPoolResourceServer")["Properties"]
    defined = {f"{server['Identifier']}/{scope['ScopeName']}" for scope in server["Scopes"]}

    assert defined == _route_scopes() == {"devices/read", "devices/write"}


def machine_client(template: dict[str, Any]) -> dict[str, Any]:
    """The client-credentials client (the operator console has a client of its own: infra/console.py)."""
    clients = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Cognito::UserPoolClient"
        and "client_credentials" in r["Properties"].get("AllowedOAuthFlows", [])
    ]
    assert len(clients) == 1
    return clients[0]


def test_machine_client_uses_client_credentials_with_a_secret_and_every_scope(prod: dict[str, Any]) -> None:
    client = machine_client(prod)
    scopes = {
        scope["Fn::Join"][1][-1].lstrip("/") if isinstance(scope, dict) else scope
        for scope in client["AllowedOAuthScopes"]
    }

    assert client["GenerateSecret"] is True
    assert client["AllowedOAuthFlows"] == ["client_credentials"]
    assert client["AllowedOAuthFlowsUserPoolClient"] is True
    assert {s.split("/")[-1] for s in scopes} == {s.split("/")[-1] for s in _route_scopes()}


def test_user_pool_has_no_self_sign_up_and_a_token_domain(prod: dict[str, Any]) -> None:
    pool = only(prod, "AWS::Cognito::UserPool")["Properties"]
    domain = only(prod, "AWS::Cognito::UserPoolDomain")["Properties"]

    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert "prod" in str(domain["Domain"])


def test_authorizer_trusts_the_stack_user_pool(prod: dict[str, Any]) -> None:
    authorizers = [r["Properties"] for r in resources(prod, "AWS::ApiGateway::Authorizer").values()]
    (authorizer,) = [a for a in authorizers if a["Type"] == "COGNITO_USER_POOLS"]  # and the device one

    assert sorted(a["Type"] for a in authorizers) == ["COGNITO_USER_POOLS", "REQUEST"]
    assert len(authorizer["ProviderARNs"]) == 1


def test_the_machine_client_states_its_auth_flows_and_none_signs_in_a_user(prod: dict[str, Any]) -> None:
    """Without ExplicitAuthFlows Cognito allows user SRP and custom auth; refresh alone signs in
    nobody (the client-credentials grant returns no refresh token)."""
    client = machine_client(prod)

    assert client["ExplicitAuthFlows"] == ["ALLOW_REFRESH_TOKEN_AUTH"]


def test_the_outputs_name_the_token_url_the_client_its_scopes_and_how_to_read_its_secret(prod: dict[str, Any]) -> None:
    """What `make smoke` and the `registry` command need (docs/deployment.md, "First deploy")."""
    outputs = {name: output["Value"] for name, output in prod["Outputs"].items()}
    pool = next(iter(resources(prod, "AWS::Cognito::UserPool")))
    client = next(iter(resources(prod, "AWS::Cognito::UserPoolClient")))

    assert outputs["TokenScopes"] == "devices/read devices/write"
    assert outputs["ClientId"] == {"Ref": client}
    assert outputs["UserPoolId"] == {"Ref": pool}
    assert "/oauth2/token" in str(outputs["TokenUrl"])
    command = resolve(outputs["ClientSecretCommand"], {pool: "eu-west-1_AbC", client: "1example"})
    assert command == (
        "aws cognito-idp describe-user-pool-client --user-pool-id eu-west-1_AbC --client-id 1example "
        "--query UserPoolClient.ClientSecret --output text"
    )
