"""What every route handler shares: the resolver with problem handling, the request guards
that run before it, the caller's identity, and entity-tag headers."""

from __future__ import annotations

import base64
import binascii
import gc
import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.logging import correlation_paths

from registry import metrics, problems
from registry.errors import (
    MalformedJson,
    PayloadTooLarge,
    RegistryError,
    UnsupportedMediaType,
    ValidationFailed,
)
from registry.routes import resolver_path, route_for
from registry.settings import get_settings

MAX_BODY_BYTES = 64 * 1024
JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
# The request headers routes declare (registry.params); the document spells them this way.
IF_MATCH = "If-Match"
IDEMPOTENCY_KEY = "Idempotency-Key"
REQUEST_HEADERS = (IF_MATCH, IDEMPOTENCY_KEY)
logger = Logger()

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def create_app() -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(enable_validation=True)
    problems.register(app)
    return app


def route(app: APIGatewayRestResolver, handler: str, **operation: Any) -> Callable[[Any], Any]:
    """Register the function for ``handler``'s entry in the route table (path and method
    come from there, so the table stays the only place they are written). Its operationId is
    the handler's name: what generated clients call the operation."""
    entry = route_for(handler)
    return app.route(resolver_path(entry.path), method=entry.method, operation_id=handler, **operation)


def caller(event: dict[str, Any]) -> str:
    """Who made the request: the token's subject (a user, or the app client for client
    credentials) as the Cognito authorizer passed it; a fixed name where there is none."""
    claims = ((event.get("requestContext") or {}).get("authorizer") or {}).get("claims") or {}
    return str(claims.get("sub") or claims.get("client_id") or get_settings().anonymous_principal)


def principal(app: APIGatewayRestResolver) -> str:
    return caller(app.current_event.raw_event)


def body_media_types(method: str) -> tuple[str, ...]:
    """The request body types a method's routes take (the guard below and the document read this)."""
    return (JSON, MERGE_PATCH) if method == "PATCH" else (JSON,)


def etag(version: int) -> str:
    return f'"{version}"'


def _header(event: dict[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def _body_bytes(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedJson("The request body is not valid base64-encoded JSON.") from None
    return body.encode("utf-8", "surrogatepass")


def _check_query(event: dict[str, Any], known: tuple[str, ...]) -> dict[str, Any]:
    """Query parameters as the cache sees them.

    A cached GET's answer must depend only on its cache key (the path ids and the route's own
    query parameters, one value each, as API Gateway maps them), or one client's error would be
    served to everyone sharing the key. So a GET ignores parameters it does not take and, like
    API Gateway, reads the last value of a repeated one. Writes are never cached and take no
    query parameters: any there is a 422."""
    multi = event.get("multiValueQueryStringParameters") or {}
    if event.get("httpMethod") == "GET":
        single = {n: v for n, v in (event.get("queryStringParameters") or {}).items() if n in known}
        single.update({n: values[-1] for n, values in multi.items() if n in known and values})
        return {
            **event,
            "queryStringParameters": single or None,
            "multiValueQueryStringParameters": {name: [value] for name, value in single.items()} or None,
        }
    names = set(multi) | set(event.get("queryStringParameters") or {})
    if names:
        raise ValidationFailed(
            f"Unknown query parameter {', '.join(sorted(names))}; this route takes none.",
            errors=[{"field": name, "message": "is not a known query parameter"} for name in sorted(names)],
        )
    return event


def _combine_lines(event: dict[str, Any]) -> dict[str, Any]:
    """Each declared request header as one line: several lines of a field mean their values
    joined by commas (RFC 9110 §5.3), and the resolver reads a header parameter from one line."""
    multi = event.get("multiValueHeaders") or {}
    combined, headers = dict(multi), dict(event.get("headers") or {})
    for name in REQUEST_HEADERS:
        spellings = [key for key in multi if key.lower() == name.lower()]
        lines = [str(line) for key in spellings for line in multi[key] or ()]
        if len(lines) < 2:
            continue
        for key in spellings:
            del combined[key]
        for key in [key for key in headers if key.lower() == name.lower()]:
            del headers[key]
        combined[name] = [", ".join(lines)]
        headers[name] = combined[name][0]
    return event if combined == multi else {**event, "headers": headers, "multiValueHeaders": combined}


def guard(event: dict[str, Any], known_query: tuple[str, ...] = ()) -> dict[str, Any]:
    """Reject what no route should parse: query parameters on writes, oversized, non-JSON or
    malformed bodies.

    Returns the event to resolve: a declared header sent on several lines as one line, its body
    as UTF-8 text and its content type normalised to ``application/json`` (merge patches
    included) for the resolver's validation."""
    event = _combine_lines(_check_query(event, known_query))
    raw = _body_bytes(event)
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The request body is {len(raw)} bytes; the limit is {MAX_BODY_BYTES} bytes.")
    if event.get("httpMethod") not in {"POST", "PUT", "PATCH"}:
        return event
    content_type = (_header(event, "content-type") or JSON).split(";")[0].strip().lower()
    accepted = body_media_types(str(event.get("httpMethod")))
    if content_type not in accepted:
        raise UnsupportedMediaType(
            f"Content-Type {content_type} is not accepted here; send {' or '.join(sorted(accepted))}."
        )
    try:
        text = raw.decode("utf-8")
        json.loads(text)
    except UnicodeDecodeError:
        raise MalformedJson("The request body is not UTF-8 text.") from None
    except (ValueError, RecursionError):
        raise MalformedJson("The request body is not valid JSON.") from None
    headers = {k: v for k, v in (event.get("headers") or {}).items() if k.lower() != "content-type"}
    headers["Content-Type"] = JSON
    multi = {k: v for k, v in (event.get("multiValueHeaders") or {}).items() if k.lower() != "content-type"}
    multi["Content-Type"] = [JSON]
    return {**event, "body": text, "isBase64Encoded": False, "headers": headers, "multiValueHeaders": multi}


def lambda_entry(app: APIGatewayRestResolver, handler: str, resolve: Handler | None = None) -> Handler:
    """The function's Lambda entry point: guards, then the resolver (or ``resolve``, which
    wraps it), with structured logs that carry the API Gateway request id as correlation id."""
    run = resolve or app.resolve
    known_query = route_for(handler).query

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            checked = guard(event, known_query)
        except RegistryError as error:
            return problems.error_proxy_response(error)
        try:
            return dict(run(checked, context))
        finally:
            metrics.flush()

    _end_cold_start()
    return lambda_handler


def _end_cold_start() -> None:
    """Resume the collector that importing ``handlers`` paused. What the import allocated lives
    as long as the container, so it is frozen out of every later collection."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()
