"""Who is calling: the principal a write records, and the device a device route acts on, from
what the authorizers (Cognito's, or the device authorizer) put in the request context."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from registry.domain.errors import Unauthorized
from registry.settings import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver


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
        from registry.domain.credentials import UNAUTHORIZED_DETAIL  # the rare path: kept out of cold starts

        raise Unauthorized(UNAUTHORIZED_DETAIL)
    return str(device_id)


def principal(app: APIGatewayRestResolver) -> str:
    return caller(app.current_event.raw_event)
