"""The local server's authorizers, as API Gateway runs them before a function.

A device route runs the device authorizer itself (``handlers/authorize_device.py``, in an
execution environment like any function) on a REQUEST authorizer event, and passes its context
to the route as ``requestContext.authorizer``; its refusal is API Gateway's 401. Operator routes
check no token locally (the local claims stand in for Cognito's), but a device credential sent
to one is refused with the same 401, as Cognito's authorizer refuses anything but its tokens.
``LOCAL_SCOPES`` (e.g. ``devices/read``) makes every operator call one whose token carries only
those scopes: a route needing another is API Gateway's 403, as for a read-only operator in AWS."""

from __future__ import annotations

import importlib
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from local.proxy_events import LOCAL_CLAIMS, LambdaContext
from registry.domain.credentials import CHALLENGE, SCHEME, UNAUTHORIZED_DETAIL, authorization_header
from registry.domain.errors import Forbidden, Unauthorized
from registry.http.problems import error_proxy_response
from registry.http.routes import COGNITO, DEVICE, FORBIDDEN_DETAIL, ROUTES, Route

AUTHORIZER_HANDLER = "handlers.authorize_device"
LOCAL_METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:local/local"

Submit = Callable[..., "Future[Any]"]


def unauthorized() -> dict[str, Any]:
    """API Gateway's UNAUTHORIZED answer (infra/gateway_problems.py), as a proxy response."""
    response = error_proxy_response(Unauthorized(UNAUTHORIZED_DETAIL))
    response["headers"]["WWW-Authenticate"] = CHALLENGE
    return response


def forbidden() -> dict[str, Any]:
    """API Gateway's ACCESS_DENIED answer (infra/gateway_problems.py), as a proxy response."""
    return error_proxy_response(Forbidden(FORBIDDEN_DETAIL))


def local_scopes(value: str | None) -> frozenset[str] | None:
    """``LOCAL_SCOPES`` (scopes separated by spaces or commas) as a set; None when unset or
    empty (every scope). A name the route table does not use is refused with the ones it does."""
    names = frozenset((value or "").replace(",", " ").split())
    if not names:
        return None
    known = {route.scope for route in ROUTES if route.scope}
    if unknown := names - known:
        listed = " ".join(sorted(known))
        raise ValueError(f"LOCAL_SCOPES names {', '.join(sorted(unknown))}; the API's scopes are {listed}")
    return names


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
    route: Route, path: str, lines: list[tuple[str, str]], submit: Submit, scopes: frozenset[str] | None = None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(``requestContext.authorizer`` for the route's event, or None for the default claims; the
    401 or 403 answer instead of running the route, or None). ``lines``: the header lines as sent;
    ``scopes``: what the operator's token carries (None: every scope)."""
    headers = dict(lines)  # as in the event's ``headers``: a field's last line
    if route.auth == DEVICE:
        answer = submit(run_authorizer, authorizer_event(route, path, headers)).result()
        if answer is None:
            return None, unauthorized()
        return {**answer["context"], "principalId": answer["principalId"]}, None
    header = authorization_header(headers)
    if route.auth == COGNITO and header is not None and header.split(" ", 1)[0].lower() == SCHEME.lower():
        return None, unauthorized()
    if route.auth == COGNITO and scopes is not None:
        if route.scope not in scopes:
            return None, forbidden()
        return {"claims": {**LOCAL_CLAIMS, "scope": " ".join(sorted(scopes))}}, None
    return None, None
