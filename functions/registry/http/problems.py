"""Every error the API answers, as an RFC 9457 problem document, built in one place.

Domain errors, the resolver's own validation errors, unknown routes and anything unexpected
all leave through here; no stack trace or internal text reaches a client."""

from __future__ import annotations

import json
import traceback
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
    ResponseValidationError,
)
from pydantic import ValidationError

from registry.domain.errors import (
    InvalidHeader,
    MalformedJson,
    RegistryError,
    RouteNotFound,
    UnsupportedMediaType,
    ValidationFailed,
)

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "tag:device-registry,2026:problem:"
logger = Logger(child=True)  # structured, with the request's correlation id
_OUR_CODE = str(Path(__file__).resolve().parent.parent)


def _document(status: int, slug: str, title: str, detail: str, errors: list[dict[str, str]] | None) -> dict[str, Any]:
    document: dict[str, Any] = {"type": TYPE_PREFIX + slug, "title": title, "status": status, "detail": detail}
    if errors:
        document["errors"] = errors
    return document


def problem_body(status: int, slug: str, title: str, detail: str, errors: list[dict[str, str]] | None = None) -> str:
    return json.dumps(_document(status, slug, title, detail, errors))


def problem_document(error: RegistryError) -> dict[str, Any]:
    """The problem document of ``error`` as an object: one item's answer inside a batch's."""
    return _document(error.status, error.slug, error.title, error.detail, error.errors)


def problem_headers(retry_after: int | None = None, accept_encoding: str | None = None) -> dict[str, str]:
    headers = {"Content-Type": PROBLEM_JSON, "Cache-Control": "no-store"}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    if accept_encoding is not None:
        headers["Accept-Encoding"] = accept_encoding
    return headers


def error_proxy_response(error: RegistryError) -> dict[str, Any]:
    """The API Gateway proxy response for an error raised outside the resolver."""
    return {
        "statusCode": error.status,
        "headers": problem_headers(error.retry_after, error.accept_encoding),
        "body": problem_body(error.status, error.slug, error.title, error.detail, error.errors),
        "isBase64Encoded": False,
    }


def _response(error: RegistryError) -> Response[Any]:
    headers = problem_headers(error.retry_after, error.accept_encoding)
    return Response(
        status_code=error.status,
        content_type=headers.pop("Content-Type"),
        body=problem_body(error.status, error.slug, error.title, error.detail, error.errors),
        headers=headers,
    )


def register(app: APIGatewayRestResolver) -> None:
    @app.exception_handler(RegistryError)
    def _registry_error(error: RegistryError) -> Response[Any]:
        return _response(error)

    @app.exception_handler(RequestValidationError)
    def _request_invalid(error: RequestValidationError) -> Response[Any]:
        return _response(from_validation_errors(error.errors()))

    @app.exception_handler(ResponseValidationError)
    def _response_invalid(error: ResponseValidationError) -> Response[Any]:
        # Our answer broke our own contract: a bug on our side, never the client's 422.
        logger.error("response failed validation", extra={"errors": error.errors()})
        return _response(RegistryError("The request failed on our side; it has been logged."))

    @app.exception_handler(ValidationError)
    def _model_invalid(error: ValidationError) -> Response[Any]:
        return _response(from_validation_errors(error.errors(include_url=False, include_input=False)))

    @app.exception_handler(RequestUnsupportedContentType)
    def _unsupported(_: RequestUnsupportedContentType) -> Response[Any]:
        return _response(UnsupportedMediaType("Send the body as application/json."))

    @app.not_found
    def _not_found(_: NotFoundError) -> Response[Any]:
        event = app.current_event
        return _response(RouteNotFound(f"No route {event.http_method} {event.path}."))

    @app.exception_handler(Exception)
    def _unexpected(error: Exception) -> Response[Any]:
        # Its type and the line of ours it came through find the bug; the message and the stack,
        # which can carry request data and table internals, stay out of the logs.
        logger.error("unhandled error", extra={"error": type(error).__name__, "at": _origin(error)})
        return _response(RegistryError("The request failed on our side; it has been logged."))


def _origin(error: BaseException) -> str:
    """``module.py:line in function`` of the innermost frame of our own code in the traceback."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [frame for frame in frames if frame.filename.startswith(_OUR_CODE)] or frames
    return f"{Path(ours[-1].filename).name}:{ours[-1].lineno} in {ours[-1].name}" if ours else "unknown"


# -- pydantic's and Powertools' validation errors, as the contract words them -----------------

_SOURCES = frozenset({"body", "query", "path", "header"})


def _field(location: tuple[Any, ...] | list[Any]) -> str:
    """("body", "attributes", "k") → "attributes.k"; ("query", "limit") → "limit"."""
    parts = [str(part) for part in location]
    if len(parts) > 1 and parts[0] in _SOURCES:
        parts = parts[1:]
    return ".".join(parts) or "body"


# Body fields another route writes: an unknown-field problem for one says which route.
_WRITTEN_ELSEWHERE = {"status": "PUT /devices/{id}/status"}


def _field_errors(errors: Any) -> list[dict[str, str]]:
    found = []
    for error in errors:
        field = _field(error.get("loc", ()))
        message = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
        if error.get("type") == "missing":
            message = "is required"
        elif error.get("type") == "extra_forbidden":
            elsewhere = _WRITTEN_ELSEWHERE.get(field)
            message = (
                f"is not a field of this request; set it with {elsewhere}" if elsewhere else "is not a known field"
            )
        found.append({"field": field, "message": message})
    return found


def from_validation_errors(errors: Any) -> RegistryError:
    """Pydantic / Powertools validation errors → 400 (malformed JSON, or only malformed headers,
    as the contract has it) or 422 naming each field."""
    if any(error.get("type") == "json_invalid" for error in errors):
        return MalformedJson("The request body is not valid JSON.")
    field_errors = _field_errors(errors)
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in field_errors)
    if errors and all(tuple(error.get("loc", ()))[:1] == ("header",) for error in errors):
        return InvalidHeader(f"A header is malformed: {summary}.", errors=field_errors)
    return ValidationFailed(f"The request is not valid: {summary}.", errors=field_errors)
