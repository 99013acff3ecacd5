"""API Gateway's own answers (unknown route, missing or insufficient token, throttling, body
too large, ...) rewritten as the RFC 9457 problem documents the handlers answer with, so a
client sees one error format wherever an error comes from. Types and titles are the
handlers' own (``registry.domain.errors``, ``registry.http.problems``) where the same error exists there."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from aws_cdk import aws_apigateway as apigw

from registry.domain import errors
from registry.domain.credentials import CHALLENGE, UNAUTHORIZED_DETAIL
from registry.http import cors
from registry.http.problems import PROBLEM_JSON, TYPE_PREFIX
from registry.http.routes import FORBIDDEN_DETAIL

# $context.error.messageString is API Gateway's message already quoted as a JSON string.
GATEWAY_MESSAGE = "$context.error.messageString"


@dataclass(frozen=True)
class GatewayProblem:
    response_type: apigw.ResponseType
    status: int | None  # None: the status API Gateway chose (the DEFAULT_* catch-alls)
    slug: str
    title: str
    detail: str | None  # None: API Gateway's own message
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> str:
        members: dict[str, object] = {"type": TYPE_PREFIX + self.slug, "title": self.title}
        if self.status is not None:
            members["status"] = self.status
        members["detail"] = self.detail if self.detail is not None else GATEWAY_MESSAGE
        members["request_id"] = "$context.requestId"
        text = json.dumps(members)
        return text.replace(json.dumps(GATEWAY_MESSAGE), GATEWAY_MESSAGE)


def _from_error(
    response_type: apigw.ResponseType,
    error: type[errors.RegistryError],
    detail: str | None,
    headers: dict[str, str] | None = None,
) -> GatewayProblem:
    return GatewayProblem(response_type, error.status, error.slug, error.title, detail, headers or {})


R = apigw.ResponseType
PROBLEMS = (
    GatewayProblem(R.DEFAULT_4_XX, None, "client-error", "Client error", None),
    GatewayProblem(R.DEFAULT_5_XX, None, errors.RegistryError.slug, errors.RegistryError.title, None),
    # API Gateway says 403 "Missing Authentication Token" for a path it has no method for.
    _from_error(R.MISSING_AUTHENTICATION_TOKEN, errors.RouteNotFound, "No route matches this method and path."),
    _from_error(R.RESOURCE_NOT_FOUND, errors.RouteNotFound, "No route matches this method and path."),
    # One answer for both authorizers (API Gateway has one UNAUTHORIZED per API, and its header
    # values cannot depend on the route): both challenges, both credentials named. The local
    # server answers the same (local/authorizer.py).
    _from_error(R.UNAUTHORIZED, errors.Unauthorized, UNAUTHORIZED_DETAIL, {"WWW-Authenticate": CHALLENGE}),
    _from_error(R.ACCESS_DENIED, errors.Forbidden, FORBIDDEN_DETAIL),
    GatewayProblem(
        R.THROTTLED,
        429,
        "too-many-requests",
        "Too many requests",
        "The request rate is over this API's limit; retry after a short pause.",
        {"Retry-After": "1"},
    ),
    _from_error(R.REQUEST_TOO_LARGE, errors.PayloadTooLarge, "The request is larger than API Gateway accepts."),
    _from_error(R.UNSUPPORTED_MEDIA_TYPE, errors.UnsupportedMediaType, "Send the body as application/json."),
    _from_error(R.BAD_REQUEST_PARAMETERS, errors.BadRequest, None),
    _from_error(R.BAD_REQUEST_BODY, errors.BadRequest, None),
    GatewayProblem(
        R.INTEGRATION_TIMEOUT,
        504,
        "gateway-timeout",
        "Gateway timeout",
        "The request took too long on our side; it may or may not have been applied.",
    ),
)


def cors_headers(origins: tuple[str, ...]) -> dict[str, str]:
    """What a gateway response can say to a browser. Its headers are fixed values or copies of a
    request header, never conditional, so it cannot echo an origin only when it is allowed:
    with one allowed origin it names that origin (a browser on any other origin is refused, as
    it must be); with several it names none, and a browser app sees API Gateway's own errors
    (401, 403, 429, ...) as network errors, while every function's answer carries its origin
    (docs/deployment.md)."""
    if not origins:
        return {}
    headers = {"Access-Control-Expose-Headers": ", ".join(cors.EXPOSED_HEADERS), "Vary": "Origin"}
    if len(origins) == 1:
        headers[cors.ALLOW_ORIGIN] = origins[0]
    return headers


def add_gateway_responses(api: apigw.RestApi, cors_origins: tuple[str, ...] = ()) -> None:
    for problem in PROBLEMS:
        headers = {
            "Content-Type": PROBLEM_JSON,
            "Cache-Control": "no-store",
            **problem.headers,
            **cors_headers(cors_origins),
        }
        api.add_gateway_response(
            f"Problem{problem.response_type.response_type}",
            type=problem.response_type,
            status_code=str(problem.status) if problem.status is not None else None,
            response_headers={name: f"'{value}'" for name, value in headers.items()},
            templates={"application/json": problem.body()},
        )


def method_not_allowed_body(verb: str, path: str, allow: str) -> str:
    error = errors.MethodNotAllowed
    return json.dumps(
        {
            "type": TYPE_PREFIX + error.slug,
            "title": error.title,
            "status": error.status,
            "detail": f"{verb} is not allowed on {path}; allowed: {allow}.",
            "request_id": "$context.requestId",
        }
    )
