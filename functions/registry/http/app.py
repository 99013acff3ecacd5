"""A route function's resolver: the route-table record it serves, the operation it registers
there (path, method and operationId from the table, so they are written once), problems rendered
in one place, and who is calling."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from registry.domain.credentials import UNAUTHORIZED_DETAIL
from registry.domain.errors import Unauthorized
from registry.http import problems
from registry.http.routes import Route, resolver_path, route_for
from registry.settings import get_settings

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
# The request headers routes declare (registry.http.params); the document spells them this way.
IF_MATCH = "If-Match"
IDEMPOTENCY_KEY = "Idempotency-Key"
REQUEST_HEADERS = (IF_MATCH, IDEMPOTENCY_KEY)

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


class RouteApp(APIGatewayRestResolver):
    """The resolver of one route function, built from its entry in the route table."""

    def __init__(self, handler: str) -> None:
        super().__init__(enable_validation=True)
        self.record: Route = route_for(handler)
        problems.register(self)

    def operation(self, **operation: Any) -> Callable[[Any], Any]:
        """Register the route's function: path and method from the table, the handler's name as
        operationId (what generated clients call it), summaries and answers from ``operation``."""
        record = self.record
        return self.route(resolver_path(record.path), method=record.method, operation_id=record.handler, **operation)


def caller(event: dict[str, Any]) -> str:
    """Who made the request: a device, by the credential the device authorizer verified
    (``device:<credential id>``); else the token's subject (a user, or the app client for client
    credentials) as the Cognito authorizer passed it; a fixed name where there is none."""
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    if authorizer.get("credential_id"):
        return f"device:{authorizer['credential_id']}"
    claims = authorizer.get("claims") or {}
    return str(claims.get("sub") or claims.get("client_id") or get_settings().anonymous_principal)


def own_device(app: APIGatewayRestResolver) -> str:
    """The device a device route acts on: the one whose credential the device authorizer
    verified. Without one (a route deployed without its authorizer) nothing is served."""
    authorizer = app.current_event.raw_event.get("requestContext", {}).get("authorizer") or {}
    device_id = authorizer.get("device_id")
    if not device_id:
        raise Unauthorized(UNAUTHORIZED_DETAIL)
    return str(device_id)


def principal(app: APIGatewayRestResolver) -> str:
    return caller(app.current_event.raw_event)


def body_media_types(method: str) -> tuple[str, ...]:
    """The request body types a method's routes take (the guard and the document read this)."""
    return (JSON, MERGE_PATCH) if method == "PATCH" else (JSON,)


def etag(version: int) -> str:
    return f'"{version}"'
