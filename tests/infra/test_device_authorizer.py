"""The device authorizer in the template: a Lambda REQUEST authorizer on exactly the device routes
(Cognito on every operator route), its cache, its least-privilege role, API Gateway's 401 naming
the Device scheme, the device routes' throttle; and its asset, run on the runtime's Python."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3

from infra.stage import STAGES
from local.dynamodb import EmbeddedDynamoDB
from registry.credentials.service import CredentialService
from registry.devices.service import DeviceService
from registry.http.routes import COGNITO, DEVICE, ROUTES
from registry.schemas import DeviceAttributes
from registry.storage import keys as table
from registry.storage.credentials import CredentialStore
from registry.storage.devices import DeviceStore
from tests.infra.cfn import methods, resources, role_of, statements_of_role
from tests.infra.conftest import Synthesized
from tests.infra.test_api import _method_setting
from tests.infra.test_runtime_fidelity import run_on_runtime
from tests.support import ROOT

FUNCTION_ID = "AuthorizeDevice"
SAMPLE_EVENT = ROOT / "events" / "authorize_device.json"


def _authorizers(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["Type"]: {"id": a, **r["Properties"]}
        for a, r in resources(template, "AWS::ApiGateway::Authorizer").items()
    }


def test_a_request_authorizer_on_the_authorization_header_cached_at_most_60_seconds(prod: dict[str, Any]) -> None:
    device = _authorizers(prod)["REQUEST"]

    assert device["IdentitySource"] == "method.request.header.Authorization"
    assert 0 < device["AuthorizerResultTtlInSeconds"] <= 60
    assert FUNCTION_ID in json.dumps(device["AuthorizerUri"])


def test_exactly_the_device_routes_use_it_and_every_operator_route_cognito(synthesized: Synthesized) -> None:
    for stage in ("dev", "prod"):
        template = synthesized.json(stage)
        by_type = _authorizers(template)
        for route in ROUTES:
            method = methods(template)[(route.path, route.method)]
            expected = {DEVICE: by_type["REQUEST"]["id"], COGNITO: by_type["COGNITO_USER_POOLS"]["id"]}
            assert method.get("AuthorizerId") == ({"Ref": expected[route.auth]} if route.auth else None), route
        device_methods = {key for key, m in methods(template).items() if m.get("AuthorizationType") == "CUSTOM"}
        # Each device route, and HEAD beside each GET (same function, same authorizer).
        heads = {(r.path, "HEAD") for r in ROUTES if r.auth == DEVICE and r.method == "GET"}
        assert device_methods == {(r.path, r.method) for r in ROUTES if r.auth == DEVICE} | heads


def test_its_role_may_read_credential_items_and_stamp_their_last_use_and_nothing_else(prod: dict[str, Any]) -> None:
    statements = statements_of_role(prod, role_of(prod, FUNCTION_ID))
    dynamodb = [s for s in statements if any(str(a).startswith("dynamodb:") for a in _list(s["Action"]))]

    assert sorted(str(s["Action"]) for s in dynamodb) == ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    for statement in dynamodb:
        assert statement["Effect"] == "Allow"
        leading = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
        assert leading == [f"{table.CREDENTIAL_PREFIX}*"]
        if statement["Action"] == "dynamodb:UpdateItem":
            attributes = statement["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"]
            assert sorted(attributes) == sorted([table.PK, table.SK, "last_used_at"])
    others = {str(a) for s in statements for a in _list(s["Action"]) if not str(a).startswith("dynamodb:")}
    assert others <= {"logs:CreateLogStream", "logs:PutLogEvents"}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_api_gateways_401_is_a_problem_naming_the_device_scheme(prod: dict[str, Any]) -> None:
    responses = {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in resources(prod, "AWS::ApiGateway::GatewayResponse").values()
    }
    unauthorized = responses["UNAUTHORIZED"]
    challenges = unauthorized["ResponseParameters"]["gatewayresponse.header.WWW-Authenticate"].strip("'").split(", ")

    assert unauthorized["StatusCode"] == "401"
    assert set(challenges) == {"Bearer", "Device"}
    body = json.loads(unauthorized["ResponseTemplates"]["application/json"])
    assert body["type"].endswith(":unauthorized") and "Authorization: Device" in body["detail"]


def test_the_device_routes_have_their_own_throttle_within_their_reservation(synthesized: Synthesized) -> None:
    for stage in ("dev", "prod"):
        template = synthesized.json(stage)
        limit = STAGES[stage].device_throttle
        for route in (r for r in ROUTES if r.auth == DEVICE):
            setting = _method_setting(template, route)
            assert setting is not None, route
            assert (setting["ThrottlingRateLimit"], setting["ThrottlingBurstLimit"]) == (limit.rate, limit.burst)
            assert setting["CachingEnabled"] is False  # /device answers per credential: never cached
        reserved = STAGES[stage].reserved_concurrency
        assert reserved is None or limit.burst <= reserved.device


def test_its_asset_verifies_a_credential_on_the_runtime_python(synthesized: Synthesized, tmp_path: Path) -> None:
    template = synthesized.json("prod")
    function = template["Resources"][FUNCTION_ID]["Properties"]
    asset = synthesized.outdir / f"asset.{function['Code']['S3Key'].removesuffix('.zip')}"
    server = EmbeddedDynamoDB().start()
    try:
        client = boto3.client("dynamodb", endpoint_url=server.endpoint)
        client.create_table(**table.create_table_request("fidelity"))
        attributes = DeviceAttributes(name="Fidelity", device_type="sensor", mac_address="02:00:00:00:f1:d0")
        device_id = DeviceService(DeviceStore(client, "fidelity")).register(attributes, "fidelity").id
        issued = CredentialService(CredentialStore(client, "fidelity")).create(device_id)
        credential_id = issued.record.credential_id
        event = json.loads(SAMPLE_EVENT.read_text())
        event["headers"]["Authorization"] = f"Device {credential_id}:{issued.secret}"
        event_file = tmp_path / "authorize_device.json"
        event_file.write_text(json.dumps(event))
        env = {
            **{name: value for name, value in function["Environment"]["Variables"].items() if isinstance(value, str)},
            "TABLE_NAME": "fidelity",
            "AWS_ENDPOINT_URL_DYNAMODB": server.endpoint,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
        run = run_on_runtime(function, asset, event_file, env, tmp_path)
        assert run.returncode == 0, run.stderr[-3000:]
        result = json.loads(run.stdout.splitlines()[-1])
        assert result["outside"] == []
        answer = result["response"]
        assert answer["context"] == {"device_id": device_id, "credential_id": credential_id}
        assert answer["policyDocument"]["Statement"][0]["Effect"] == "Allow"
        stored = CredentialStore(client, "fidelity").get_credential(credential_id)
        assert stored is not None and stored.last_used_at is not None
    finally:
        server.stop()
