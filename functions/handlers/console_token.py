"""The user pool's pre-token-generation trigger (event version V2_0, infra/console.py): an operator
who signs in to the console gets ``devices/write`` in the access token only as a member of the
``writers`` group; everyone else's token carries ``devices/read`` alone, so the API refuses their
writes (403) and the console shows them no write button (docs/decisions.md, "Read-only operators").

V2_0 events come from user sign-ins only (the hosted UI, refreshes): the machine client's
client-credentials tokens are untouched (that would be V3_0). The scope is suppressed, not the
request refused: a read-only operator still signs in. Standard library only: Cognito waits at most
5 seconds for the trigger, and a sign-in pays its cold start."""

from __future__ import annotations

from typing import Any

from registry.http.routes import WRITE

WRITERS_GROUP = "writers"


def suppressed_scopes(groups: list[str], scopes: list[str]) -> list[str]:
    """The requested scopes a user in ``groups`` may not have in the access token."""
    return [] if WRITERS_GROUP in groups else [scope for scope in scopes if scope == WRITE]


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = event.get("request") or {}
    groups = list((request.get("groupConfiguration") or {}).get("groupsToOverride") or [])
    suppress = suppressed_scopes(groups, list(request.get("scopes") or []))
    if suppress:
        event.setdefault("response", {})["claimsAndScopeOverrideDetails"] = {
            "accessTokenGeneration": {"scopesToSuppress": suppress}
        }
    return event
