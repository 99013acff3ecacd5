"""THE route table. The CDK stack, the local server and the OpenAPI document all read it,
so a route added here appears in all three.

Paths use API Gateway's ``{param}`` syntax; :func:`resolver_path` gives the Powertools one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Scope = Literal["devices/read", "devices/write"]
READ: Scope = "devices/read"
WRITE: Scope = "devices/write"
# Who may call a route: an operator with a Cognito access token carrying the route's scope, a
# device with its own credential (``Authorization: Device``, the device authorizer), or anyone.
Auth = Literal["cognito", "device"]
COGNITO: Auth = "cognito"
DEVICE: Auth = "device"
# Request bodies: one device or report fits in 64 KiB; a batch of up to 100 in 1 MiB (API
# Gateway takes 10 MB, Lambda 6 MB).
MAX_BODY_BYTES = 64 * 1024
MAX_BATCH_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: str  # module under functions/handlers/, entry point ``lambda_handler``
    scope: Scope | None  # the Cognito scope it needs; None: not a Cognito route
    cache_ttl: int = 0  # seconds API Gateway caches a GET answer; 0 disables
    query: tuple[str, ...] = ()  # the query parameters it takes, all part of its cache key
    auth: Auth | None = COGNITO  # None: public (docs only)
    # Writes honour Idempotency-Key (the first answer is stored and replayed) unless False: an
    # answer that must never be stored (a credential's secret).
    idempotent: bool = True
    # Up to 100 items a request (registry/batch/runner.py): a larger body, its own function size,
    # reserved concurrency and throttle.
    batch: bool = False

    def __post_init__(self) -> None:
        if (self.auth == COGNITO) != (self.scope is not None):
            raise ValueError(f"{self.handler}: a scope goes with the Cognito authorizer, and only with it")
        if self.auth == DEVICE and self.cache_ttl:
            # API Gateway's cache keys on the path: /device would answer one device's data to another.
            raise ValueError(f"{self.handler}: a device route acts on the caller's device and is never cached")

    @property
    def function_id(self) -> str:
        """CamelCase name, e.g. ``GetDevice``: the CDK construct id of its Lambda."""
        return "".join(part.capitalize() for part in self.handler.split("_"))

    @property
    def max_body_bytes(self) -> int:
        return MAX_BATCH_BODY_BYTES if self.batch else MAX_BODY_BYTES

    @property
    def is_write(self) -> bool:
        return self.method != "GET"

    @property
    def path_parameters(self) -> tuple[str, ...]:
        return tuple(re.findall(r"{(\w+)}", self.path))

    @property
    def specificity(self) -> tuple[bool, ...]:
        """Static segments (True) beat ``{variables}`` where two routes both match a path: API
        Gateway answers ``/devices/stats`` from that resource, not from ``/devices/{device_id}``."""
        return tuple(not part.startswith("{") for part in self.path.split("/"))

    def match(self, path: str) -> dict[str, str] | None:
        """The path parameters if ``path`` is one of this route's paths, else None. As API
        Gateway matches: each ``{name}`` takes exactly one non-empty segment, as sent (still
        percent-encoded); every other segment must be equal. ``{}``: a match without parameters."""
        template, segments = self.path.split("/"), path.split("/")
        if len(template) != len(segments):
            return None
        parameters: dict[str, str] = {}
        for part, segment in zip(template, segments, strict=True):
            if part.startswith("{") and part.endswith("}"):
                if not segment:
                    return None
                parameters[part[1:-1]] = segment
            elif part != segment:
                return None
        return parameters


LIST_QUERY = (
    "limit",
    "cursor",
    "device_type",
    "status",
    "mac_address",
    "firmware_version",
    "location",
    "serial_number",
    "ip_address",
    "tag",
    "name_prefix",
    "view",
)
HISTORY_QUERY = ("kind", "since", "until", "order", "limit", "cursor")
AS_OF_QUERY = ("as_of",)
DIFF_QUERY = ("from", "to")
HOLDERS_QUERY = ("limit", "cursor")

# Staleness bounds (docs/caching.md): mutable resources briefly, immutable ones longer. API
# Gateway caches errors too, so the immutable TTL also bounds how long a 404 for a revision
# asked for before it was written (or a transient 503) can outlive its cause: a minute.
SHORT_TTL = 5
LIST_TTL = 5
IMMUTABLE_TTL = 60
# Fleet statistics trail the writes by the stream's seconds anyway; dashboards poll them.
STATS_TTL = 10
# The docs change only with a deployment; the public route is cached to spare its function.
DOCS_TTL = 300

ROUTES: tuple[Route, ...] = (
    Route("POST", "/devices", "create_device", WRITE),
    Route("POST", "/devices/batch", "create_devices", WRITE, batch=True),
    Route("GET", "/devices", "list_devices", READ, LIST_TTL, LIST_QUERY),
    # A static segment wins over {device_id}, in API Gateway and in Route.match's callers.
    Route("GET", "/devices/stats", "device_stats", READ, STATS_TTL),
    Route("GET", "/devices/{device_id}", "get_device", READ, SHORT_TTL, AS_OF_QUERY),
    Route("PATCH", "/devices/{device_id}", "update_device", WRITE),
    Route("DELETE", "/devices/{device_id}", "delete_device", WRITE),
    Route("POST", "/devices/{device_id}/revert", "revert_device", WRITE),
    Route("POST", "/devices/{device_id}/restore", "restore_device", WRITE),
    Route("GET", "/devices/{device_id}/status", "get_status", READ, SHORT_TTL, AS_OF_QUERY),
    Route("GET", "/devices/{device_id}/diff", "diff_device", READ, SHORT_TTL, DIFF_QUERY),
    Route("PUT", "/devices/{device_id}/status", "put_status", WRITE),
    Route("POST", "/status-reports", "report_statuses", WRITE, batch=True),
    Route("GET", "/devices/{device_id}/history", "list_history", READ, SHORT_TTL, HISTORY_QUERY),
    Route("GET", "/devices/{device_id}/history/{revision}", "get_history_entry", READ, IMMUTABLE_TTL),
    # Holder intervals change with every move of the address: cached as briefly as history.
    Route("GET", "/mac-addresses/{mac}/holders", "list_mac_holders", READ, SHORT_TTL, HOLDERS_QUERY),
    Route("GET", "/ip-addresses/{ip}/holders", "list_ip_holders", READ, SHORT_TTL, HOLDERS_QUERY),
    # Device credentials (docs/security.md): created, listed and revoked by operators; never cached,
    # so a revocation shows at once, and never replayed, so a secret is never stored.
    Route("POST", "/devices/{device_id}/credentials", "create_credential", WRITE, idempotent=False),
    Route("GET", "/devices/{device_id}/credentials", "list_credentials", READ),
    Route("DELETE", "/devices/{device_id}/credentials/{credential_id}", "delete_credential", WRITE),
    # A device's own routes: the device is the credential's, never a path parameter.
    Route("GET", "/device", "get_own_device", None, auth=DEVICE),
    Route("GET", "/device/status", "get_own_status", None, auth=DEVICE),
    Route("PUT", "/device/status", "put_own_status", None, auth=DEVICE),
    Route("GET", "/swagger", "swagger", None, DOCS_TTL, ("format",), auth=None),
)


def resolver_path(path: str) -> str:
    """``/devices/{device_id}`` → ``/devices/<device_id>`` (Powertools syntax)."""
    return re.sub(r"{(\w+)}", r"<\1>", path)


def route_for(handler: str) -> Route:
    for route in ROUTES:
        if route.handler == handler:
            return route
    raise KeyError(handler)
