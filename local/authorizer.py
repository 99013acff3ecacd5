"""The local server's authorizers, as API Gateway runs them before a function.

A device route runs the device authorizer itself (``handlers/authorize_device.py``, in an
execution environment like any function) on a REQUEST authorizer event, and passes its context
to the route as ``requestContext.authorizer``; its refusal is API Gateway's 401. Operator routes
check no token locally (the local claims stand in for Cognito's), but a device credential sent
to one is refused with the same 401, as Cognito's authorizer refuses anything but its tokens."""

from __future__ import annotations

import importlib
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from local.proxy_events import LambdaContext
from registry.domain.credentials import CHALLENGE, SCHEME, UNAUTHORIZED_DETAIL, authorization_header
from registry.domain.errors import Unauthorized
from registry.http.problems import error_proxy_response
from registry.http.routes import COGNITO, DEVICE, Route

AUTHORIZER_HANDLER = "handlers.authorize_device"
LOCAL_METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:local/local"

Submit = Callable[..., "Future[Any]"]


def unauthorized() -> dict[str, Any]:
    """API Gateway's UNAUTHORIZED answer (infra/gateway_problems.py), as a proxy response."""
    response = error_proxy_response(Unauthorized(UNAUTHORIZED_DETAIL))
    response["headers"]["WWW-Authenticate"] = CHALLENGE
    return response


def authorizer_event(route: Route, path: str, headers: dict[str, str]) -> dict[str, Any]:
    """The REQUEST authorizer event API Gateway sends for ``route`` (REST API, payload 1.0)."""
    return {
        "type": "REQUEST",
        "methodArn": f"{LOCAL_METHOD_ARN}/{route.method}{path}",
        "resource": route.path,
        "path": path,
        "httpMethod": route.method,
        "headers": dict(headers),
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": route.path,
            "httpMethod": route.method,
            "stage": "local",
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
        },
    }


def run_authorizer(event: dict[str, Any]) -> dict[str, Any] | None:
    """In an execution environment: the authorizer's answer, or None for its ``Unauthorized``."""
    module = importlib.import_module(AUTHORIZER_HANDLER)
    try:
        return dict(module.lambda_handler(event, LambdaContext(function_name="device-registry-authorizer")))
    except Exception as error:
        if str(error) == module.UNAUTHORIZED:
            return None
        raise


def authorize(
    route: Route, path: str, lines: list[tuple[str, str]], submit: Submit
) -> tuple[dict[str, str] | None, dict[str, Any] | None]:
    """(``requestContext.authorizer`` for the route's event, or None for the default claims; the
    401 answer instead of running the route, or None). ``lines``: the header lines as sent."""
    headers = dict(lines)  # as in the event's ``headers``: a field's last line
    if route.auth == DEVICE:
        answer = submit(run_authorizer, authorizer_event(route, path, headers)).result()
        if answer is None:
            return None, unauthorized()
        return {**answer["context"], "principalId": answer["principalId"]}, None
    header = authorization_header(headers)
    if route.auth == COGNITO and header is not None and header.split(" ", 1)[0].lower() == SCHEME.lower():
        return None, unauthorized()
    return None, None
