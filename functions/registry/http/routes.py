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
# What a caller whose token lacks a route's scope is told (API Gateway's ACCESS_DENIED answer, and
# the local server's under LOCAL_SCOPES).
FORBIDDEN_DETAIL = f"This access token does not allow the request: reads need {READ}, writes {WRITE}."
# Who may call a route: an operator with a Cognito access token carrying the route's scope, a
# device with its own credential (``Authorization: Device``, the device authorizer), or anyone.
Auth = Literal["cognito", "device"]
COGNITO: Auth = "cognito"
DEVICE: Auth = "device"
# Request bodies: one device or report fits in 64 KiB; a batch of up to 100 in 1 MiB (API
# Gateway takes 10 MB, Lambda 6 MB).
MAX_BODY_BYTES = 64 * 1024
MAX_BATCH_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True, kw_only=True)  # keywords: a route reads as what it is
class Route:
    method: str
    path: str
    handler: str  # module under functions/handlers/, entry point ``lambda_handler``
    scope: Scope | None = None  # the Cognito scope it needs; None: not a Cognito route
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
    "liveness",
)
HISTORY_QUERY = ("kind", "since", "until", "order", "limit", "cursor")
AS_OF_QUERY = ("as_of",)
DIFF_QUERY = ("from", "to")
HOLDERS_QUERY = ("limit", "cursor")
JOBS_QUERY = ("limit", "cursor")
RESULTS_QUERY = ("outcome", "limit", "cursor")

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
    Route(method="POST", path="/devices", handler="create_device", scope=WRITE),
    Route(method="POST", path="/devices/batch", handler="create_devices", scope=WRITE, batch=True),
    Route(method="GET", path="/devices", handler="list_devices", scope=READ, cache_ttl=LIST_TTL, query=LIST_QUERY),
    # A static segment wins over {device_id}, in API Gateway and in Route.match's callers.
    Route(method="GET", path="/devices/stats", handler="device_stats", scope=READ, cache_ttl=STATS_TTL),
    Route(
        method="GET",
        path="/devices/{device_id}",
        handler="get_device",
        scope=READ,
        cache_ttl=SHORT_TTL,
        query=AS_OF_QUERY,
    ),
    Route(method="PATCH", path="/devices/{device_id}", handler="update_device", scope=WRITE),
    Route(method="DELETE", path="/devices/{device_id}", handler="delete_device", scope=WRITE),
    Route(method="POST", path="/devices/{device_id}/revert", handler="revert_device", scope=WRITE),
    Route(method="POST", path="/devices/{device_id}/restore", handler="restore_device", scope=WRITE),
    Route(
        method="GET",
        path="/devices/{device_id}/status",
        handler="get_status",
        scope=READ,
        cache_ttl=SHORT_TTL,
        query=AS_OF_QUERY,
    ),
    Route(
        method="GET",
        path="/devices/{device_id}/diff",
        handler="diff_device",
        scope=READ,
        cache_ttl=SHORT_TTL,
        query=DIFF_QUERY,
    ),
    Route(method="PUT", path="/devices/{device_id}/status", handler="put_status", scope=WRITE),
    Route(method="POST", path="/status-reports", handler="report_statuses", scope=WRITE, batch=True),
    Route(
        method="GET",
        path="/devices/{device_id}/history",
        handler="list_history",
        scope=READ,
        cache_ttl=SHORT_TTL,
        query=HISTORY_QUERY,
    ),
    Route(
        method="GET",
        path="/devices/{device_id}/history/{revision}",
        handler="get_history_entry",
        scope=READ,
        cache_ttl=IMMUTABLE_TTL,
    ),
    # Holder intervals change with every move of the address: cached as briefly as history.
    Route(
        method="GET",
        path="/mac-addresses/{mac}/holders",
        handler="list_mac_holders",
        scope=READ,
        cache_ttl=SHORT_TTL,
        query=HOLDERS_QUERY,
    ),
    Route(
        method="GET",
        path="/ip-addresses/{ip}/holders",
        handler="list_ip_holders",
        scope=READ,
        cache_ttl=SHORT_TTL,
        query=HOLDERS_QUERY,
    ),
    # Device credentials (docs/security.md): created, listed and revoked by operators; never cached,
    # so a revocation shows at once, and never replayed, so a secret is never stored.
    Route(
        method="POST",
        path="/devices/{device_id}/credentials",
        handler="create_credential",
        scope=WRITE,
        idempotent=False,
    ),
    Route(method="GET", path="/devices/{device_id}/credentials", handler="list_credentials", scope=READ),
    Route(
        method="DELETE",
        path="/devices/{device_id}/credentials/{credential_id}",
        handler="delete_credential",
        scope=WRITE,
    ),
    # Fleet jobs (docs/jobs.md): never cached, so that a job's progress shows as it runs.
    Route(method="POST", path="/jobs", handler="create_job", scope=WRITE),
    Route(method="GET", path="/jobs", handler="list_jobs", scope=READ, query=JOBS_QUERY),
    Route(method="GET", path="/jobs/{job_id}", handler="get_job", scope=READ),
    Route(method="GET", path="/jobs/{job_id}/results", handler="list_job_results", scope=READ, query=RESULTS_QUERY),
    Route(method="POST", path="/jobs/{job_id}/cancel", handler="cancel_job", scope=WRITE),
    Route(method="POST", path="/jobs/{job_id}/rollback", handler="rollback_job", scope=WRITE),
    # A device's own routes: the device is the credential's, never a path parameter.
    Route(method="GET", path="/device", handler="get_own_device", auth=DEVICE),
    Route(method="GET", path="/device/status", handler="get_own_status", auth=DEVICE),
    Route(method="PUT", path="/device/status", handler="put_own_status", auth=DEVICE),
    Route(method="GET", path="/swagger", handler="swagger", cache_ttl=DOCS_TTL, query=("format",), auth=None),
)


def resolver_path(path: str) -> str:
    """``/devices/{device_id}`` → ``/devices/<device_id>`` (Powertools syntax)."""
    return re.sub(r"{(\w+)}", r"<\1>", path)


def route_for(handler: str) -> Route:
    for route in ROUTES:
        if route.handler == handler:
            return route
    raise KeyError(handler)
