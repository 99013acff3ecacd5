"""The device authorizer: API Gateway's Lambda REQUEST authorizer of the device routes (not a route
itself; infra/api.py). Locally, local/server.py runs this very handler before a device route.

It reads ``Authorization: Device <credential_id>:<secret>``, verifies it (registry/domain/credentials.py:
one GetItem of the credential item, one scrypt, a constant-time comparison) and answers an Allow
policy for every device route with the device in the context, which API Gateway hands to the
route function as ``requestContext.authorizer``. Anything else raises ``Unauthorized``: API
Gateway's 401 (a problem document, infra/gateway_problems.py). API Gateway caches the verdict
per Authorization header for the cache TTL, so the policy covers all device routes at once."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from botocore.config import Config

from registry.domain.credentials import Authenticator, authorization_header
from registry.http.routes import DEVICE, ROUTES
from registry.settings import get_authorizer_settings
from registry.storage.credentials import CredentialStore

logger = Logger()
# API Gateway waits at most 10 s for an authorizer (then 500s): 2 attempts of ≤ 1 s + 2 s.
CLIENT_CONFIG = Config(connect_timeout=1, read_timeout=2, retries={"mode": "standard", "total_max_attempts": 2})
# What API Gateway understands as "answer 401" (any other failure is a 500).
UNAUTHORIZED = "Unauthorized"


@cache
def authenticator() -> Authenticator:
    client = boto3.client("dynamodb", config=CLIENT_CONFIG)
    return Authenticator(CredentialStore(client, get_authorizer_settings().table_name))


def device_route_arns(method_arn: str) -> list[str]:
    """Every device method of the API and stage ``method_arn`` names (HEAD beside each GET): a
    cached verdict serves the credential's next request on any of them."""
    api_and_stage = "/".join(method_arn.split("/", 2)[:2])
    methods = [(verb, route.path) for route in ROUTES if route.auth == DEVICE for verb in _verbs(route.method)]
    return [f"{api_and_stage}/{verb}{path}" for verb, path in methods]


def _verbs(method: str) -> tuple[str, ...]:
    return (method, "HEAD") if method == "GET" else (method,)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    verified = authenticator().authenticate(authorization_header(event.get("headers")))
    if verified is None:
        logger.info("device credential refused")  # what was sent is never logged
        raise Exception(UNAUTHORIZED)
    logger.info("device authenticated", extra=verified.context())
    return {
        "principalId": verified.principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": device_route_arns(event["methodArn"])}
            ],
        },
        "context": verified.context(),
    }
