"""The environment, parsed once per container. Nothing else reads ``os.environ``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache


class SettingsError(RuntimeError):
    """A required environment variable is missing or malformed (a deployment bug)."""


@dataclass(frozen=True)
class Settings:
    table_name: str
    idempotency_table_name: str
    idempotency_ttl_seconds: int
    # Name recorded as ``changed_by`` when no authorizer claims reach the handler (local server).
    anonymous_principal: str
    # Days a status-kind history entry is kept before DynamoDB TTL expires it; 0: forever.
    status_history_days: int = 0


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise SettingsError(f"environment variable {name} must be set")
    return value


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) <= 0:
        raise SettingsError(f"environment variable {name} must be a positive integer, got {raw!r}")
    return int(raw)


def _non_negative_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise SettingsError(f"environment variable {name} must be a whole number of days (0: forever), got {raw!r}")
    return int(raw)


@dataclass(frozen=True)
class DocsSettings:
    # The Cognito token endpoint Swagger UI's Authorize exchanges client credentials at (the
    # stack sets it on the docs function); None: the document keeps its placeholder (locally).
    oauth_token_url: str | None


def _https_url(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    if value and not value.startswith("https://"):
        raise SettingsError(f"environment variable {name} must be an https:// URL, got {value!r}")
    return value or None


@cache
def get_docs_settings() -> DocsSettings:
    """The docs function's settings: it has no table, so it reads none of :class:`Settings`."""
    return DocsSettings(oauth_token_url=_https_url("OAUTH_TOKEN_URL"))


@cache
def get_settings() -> Settings:
    return Settings(
        table_name=_required("TABLE_NAME"),
        idempotency_table_name=_required("IDEMPOTENCY_TABLE_NAME"),
        idempotency_ttl_seconds=_positive_int("IDEMPOTENCY_TTL_SECONDS", 24 * 3600),
        anonymous_principal=os.environ.get("ANONYMOUS_PRINCIPAL", "anonymous"),
        status_history_days=_non_negative_int("STATUS_HISTORY_DAYS", 0),
    )


@dataclass(frozen=True)
class LivenessSettings:
    """The deployment's liveness numbers (registry/domain/liveness.py; AWS defaults here, the local
    server's in local/server.py)."""

    resolution_s: int
    missed_reports: int
    default_report_interval_s: int
    min_report_interval_s: int


@cache
def get_liveness_settings() -> LivenessSettings:
    return LivenessSettings(
        resolution_s=_positive_int("LIVENESS_RESOLUTION_S", 300),
        missed_reports=_positive_int("MISSED_REPORTS", 3),
        default_report_interval_s=_positive_int("DEFAULT_REPORT_INTERVAL_S", 300),
        min_report_interval_s=_positive_int("MIN_REPORT_INTERVAL_S", 60),
    )


@dataclass(frozen=True)
class AuthorizerSettings:
    table_name: str


@cache
def get_authorizer_settings() -> AuthorizerSettings:
    """The device authorizer's settings (handlers/authorize_device.py): the table of the credentials."""
    return AuthorizerSettings(table_name=_required("TABLE_NAME"))


def parse_origins(text: str) -> tuple[str, ...]:
    """``CORS_ORIGINS``: comma-separated origins as browsers send them (``https://app.example.com``)."""
    origins = tuple(origin.strip().rstrip("/") for origin in text.split(",") if origin.strip())
    for origin in origins:
        scheme, _, host = origin.partition("://")
        if scheme not in {"http", "https"} or not host or "/" in host or origin == "*":
            raise ValueError(f"{origin!r} is not an origin such as https://app.example.com")
    return origins


@dataclass(frozen=True)
class EdgeSettings:
    # Browser origins allowed to call the API (registry/http/cors.py); empty: no cross-origin access.
    cors_origins: tuple[str, ...]


@cache
def get_edge_settings() -> EdgeSettings:
    """What every route function (and the local server) applies to its answers: CORS_ORIGINS."""
    try:
        return EdgeSettings(cors_origins=parse_origins(os.environ.get("CORS_ORIGINS", "")))
    except ValueError as error:
        raise SettingsError(f"environment variable CORS_ORIGINS: {error}") from None


@dataclass(frozen=True)
class MigrationSettings:
    table_name: str


@cache
def get_migration_settings() -> MigrationSettings:
    """The migration function's settings (handlers/migrate.py): the device table only."""
    return MigrationSettings(table_name=_required("TABLE_NAME"))


@dataclass(frozen=True)
class PublisherSettings:
    event_bus_name: str


@dataclass(frozen=True)
class StatsSettings:
    table_name: str


@cache
def get_stats_settings() -> StatsSettings:
    """The stream consumer's fleet statistics (registry/stream/stats.py): the table it counts into."""
    return StatsSettings(table_name=_required("TABLE_NAME"))


@cache
def get_publisher_settings() -> PublisherSettings:
    """The change-event publisher's settings (handlers/publish_changes.py): its bus only."""
    return PublisherSettings(event_bus_name=_required("EVENT_BUS_NAME"))


@dataclass(frozen=True)
class JobSettings:
    # The FIFO queue a job's steps travel on (infra/jobs.py; locally local/jobs.py).
    queue_url: str
    # Devices a chunk (one message, one page of stored devices), and at most how many a second one
    # job changes: with the queue's MaximumConcurrency, what bounds a job's share of the table's
    # capacity and of Lambda's concurrency (docs/jobs.md). 0: no limit.
    chunk_size: int
    rate_per_s: int


def _whole_number(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise SettingsError(f"environment variable {name} must be a whole number, got {raw!r}")
    return int(raw)


@cache
def get_job_settings() -> JobSettings:
    """The /jobs routes' and the job worker's settings."""
    return JobSettings(
        queue_url=_required("JOB_QUEUE_URL"),
        chunk_size=min(_positive_int("JOB_CHUNK_SIZE", 25), 100),
        rate_per_s=_whole_number("JOB_RATE_PER_S", 50),
    )
