"""API Gateway REST proxy events, shaped as API Gateway (and ``sam local generate-event
apigateway aws-proxy``) produce them, and a Lambda context to call handlers with."""

from __future__ import annotations

import base64
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from registry.http.routes import ROUTES, Route

LOCAL_CLAIMS = {"sub": "local", "scope": "devices/read devices/write"}


def match(path: str) -> tuple[list[tuple[Route, dict[str, str]]], list[str]]:
    """Routes whose path matches (with their path parameters), and the methods allowed there."""
    found = [(route, parameters) for route in ROUTES if (parameters := route.match(path)) is not None]
    if found:
        # As API Gateway: the resource with a static segment where another has a {variable}
        # wins (/devices/stats over /devices/{device_id}); only its methods are allowed.
        best = max(route.specificity for route, _ in found)
        found = [(route, parameters) for route, parameters in found if route.specificity == best]
    methods = {route.method for route, _ in found}
    # HEAD wherever GET is (RFC 9110 §9.3.2): the GET route's function answers it.
    return found, sorted(methods | ({"HEAD"} if "GET" in methods else set()))


def proxy_event(
    route: Route,
    *,
    path: str,
    path_parameters: dict[str, str] | None = None,
    query: str = "",
    headers: dict[str, str] | list[tuple[str, str]] | None = None,
    body: bytes | str | None = None,
    claims: dict[str, str] | None = None,
    method: str | None = None,
    authorizer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``headers``: a mapping, or every header line in order as sent: as API Gateway does,
    ``multiValueHeaders`` holds every line of a field and ``headers`` the last one.
    ``authorizer``: what a Lambda authorizer passed (its context and principalId), for a device
    route; otherwise the Cognito authorizer's ``claims``."""
    lines = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    multi: dict[str, list[str]] = {}
    for name, value in lines:
        multi.setdefault(name, []).append(value)
    single = {name: values[-1] for name, values in multi.items()}
    method = method or route.method
    multi_query = parse_qs(query, keep_blank_values=True) if query else {}
    encoded = False
    text: str | None
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text, encoded = base64.b64encode(body).decode(), True
    else:
        text = body
    now = time.time()
    return {
        "resource": route.path,
        "path": path,
        "httpMethod": method,
        "headers": single or None,
        "multiValueHeaders": multi or None,
        "queryStringParameters": {name: values[-1] for name, values in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": route.path,
            "httpMethod": method,
            "path": f"/local{path}",
            "stage": "local",
            "requestId": str(uuid.uuid4()),
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": "127.0.0.1", "userAgent": single.get("User-Agent", "")},
            "authorizer": dict(authorizer) if authorizer is not None else {"claims": _claims(claims)},
            "accountId": "123456789012",
            "apiId": "local",
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


def _claims(claims: dict[str, str] | None) -> dict[str, str]:
    return dict(claims if claims is not None else LOCAL_CLAIMS)


@dataclass
class LambdaContext:
    """What the Lambda runtime hands a handler, enough for Powertools."""

    function_name: str = "device-registry-local"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:device-registry-local"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    timeout_ms: int = 10_000
    started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.timeout_ms - int((time.monotonic() - self.started) * 1000))
