"""What differs between the environments: ``cdk synth|deploy -c stage=dev|prod``, and the
account limits every stage has to fit in."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs

from registry.http.cors import parse_origins
from registry.http.routes import DEVICE, ROUTES, Route

STAGE_CONTEXT_KEY = "stage"
CREDENTIALS_PATH = "/credentials"  # the operators' device-credential routes (limits of their own)


@dataclass(frozen=True)
class Throttle:
    """API Gateway throttling: a token bucket refilled at ``rate`` requests per second that
    holds at most ``burst`` requests."""

    rate: int
    burst: int

    def below(self, other: Throttle) -> bool:
        return self.rate < other.rate and self.burst < other.burst

    def within(self, other: Throttle) -> bool:
        return self.rate <= other.rate and self.burst <= other.burst


# What a default AWS account gives per region before any quota increase (Service Quotas):
# API Gateway's account-level throttle, shared by every REST API, HTTP API and stage of the
# account in the region; and Lambda's concurrent executions, of which Lambda always keeps
# UNRESERVED_MINIMUM unreserved (a reservation that would leave fewer is refused).
ACCOUNT_THROTTLE = Throttle(rate=10_000, burst=5_000)
ACCOUNT_CONCURRENCY = 1_000
UNRESERVED_MINIMUM = 100
RESERVABLE = ACCOUNT_CONCURRENCY - UNRESERVED_MINIMUM


@dataclass(frozen=True)
class Concurrency:
    """Reserved concurrent executions per function, by kind of route: each function is
    guaranteed that many and can never use more, so a flood on one route is throttled there
    instead of starving the others (or every other function of the account)."""

    read: int
    write: int
    docs: int
    # Creating, listing and revoking device credentials: a few calls per device per rotation.
    credentials: int
    batch: int  # a batch route's function (up to 100 writes an invocation, 8 at a time)
    # Each device route (GET /device, GET and PUT /device/status).
    device: int

    def of(self, route: Route) -> int:
        if route.auth is None:
            return self.docs
        if route.auth == DEVICE:
            return self.device
        if CREDENTIALS_PATH in route.path:
            return self.credentials
        if route.batch:
            return self.batch
        return self.write if route.is_write else self.read

    @property
    def total(self) -> int:
        return sum(self.of(route) for route in ROUTES)


@dataclass(frozen=True)
class StageConfig:
    name: str
    # prod keeps its data when the stack (or a resource) is deleted; dev can be torn down.
    removal_policy: RemovalPolicy
    deletion_protection: bool
    log_retention: logs.RetentionDays
    log_level: str  # POWERTOOLS_LOG_LEVEL
    # The stage's own limit, below the account's so this stage cannot use all of it.
    throttle: Throttle
    # Each write method's limit (writes cost a read and a transaction of ~13 WCU): under the
    # write functions' reserved concurrency, so a flood of writes gets API Gateway's 429 with
    # Retry-After rather than a Lambda throttle (a 5xx).
    write_throttle: Throttle
    # Each batch method's limit (up to 100 items a request): under the batch functions'
    # reserved concurrency, at ~1 s a batch.
    batch_throttle: Throttle
    # GET /swagger: public, so it has a low limit of its own (and is cached).
    docs_throttle: Throttle
    # The credential routes' limit (operators create, list and revoke credentials rarely): under
    # their small reserved concurrency.
    credentials_throttle: Throttle
    # Each device route's limit (devices report through PUT /device/status): under the device
    # functions' reserved concurrency, as the write limit is. docs/capacity.md sizes it for a fleet.
    device_throttle: Throttle
    # None: no reservation (the functions share the account's unreserved pool).
    reserved_concurrency: Concurrency | None
    # SnapStart on published versions, the API invoking each function's "live" alias: cold
    # starts restore a snapshot taken after init (docs/performance.md weighs cost and gain).
    snap_start: bool
    # Retention (docs/decisions.md): status-kind history entries expire this many days after
    # they are written, by DynamoDB TTL; config-kind entries never do. 0: keep them forever.
    status_history_days: int = 0
    # Change events (docs/events.md): an HTTPS endpoint that gets every event (None: no webhook),
    # and the Secrets Manager secret holding the API key it is called with.
    webhook_url: str | None = None
    webhook_secret_name: str | None = None
    # CORS (docs/deployment.md): the browser origins allowed to call the API; none by default.
    cors_origins: tuple[str, ...] = ()
    # A custom domain (docs/deployment.md): its name and ACM certificate (in the stack's region),
    # and the base path the API is mapped under (None: the domain's root).
    domain_name: str | None = None
    certificate_arn: str | None = None
    base_path: str | None = None

    def __post_init__(self) -> None:
        if parse_origins(",".join(self.cors_origins)) != self.cors_origins:
            raise ValueError(f"{self.name}: cors_origins are origins such as https://app.example.com, no path")
        if (self.domain_name is None) != (self.certificate_arn is None):
            raise ValueError(f"{self.name}: domain_name and certificate_arn go together")
        if self.base_path is not None and (self.domain_name is None or not _BASE_PATH.fullmatch(self.base_path)):
            raise ValueError(f"{self.name}: base_path is one path segment (letters, digits, . _ -) of a domain_name")
        if self.status_history_days < 0:
            raise ValueError(f"{self.name}: status_history_days is a number of days, 0 to keep forever")
        if self.webhook_url is not None and not (self.webhook_url.startswith("https://") and self.webhook_secret_name):
            raise ValueError(f"{self.name}: webhook_url must be https:// and come with webhook_secret_name")
        if not self.throttle.below(ACCOUNT_THROTTLE):
            raise ValueError(f"{self.name}: the stage throttle must stay below the account's {ACCOUNT_THROTTLE}")
        for limit in (
            self.write_throttle,
            self.batch_throttle,
            self.docs_throttle,
            self.credentials_throttle,
            self.device_throttle,
        ):
            if not limit.within(self.throttle):
                raise ValueError(f"{self.name}: a method throttle {limit} exceeds the stage's {self.throttle}")
        reserved = self.reserved_concurrency.total if self.reserved_concurrency else 0
        if reserved > RESERVABLE:
            raise ValueError(f"{self.name}: {reserved} reserved executions leave less than {UNRESERVED_MINIMUM}")


STAGES = {
    "dev": StageConfig(
        name="dev",
        removal_policy=RemovalPolicy.DESTROY,
        deletion_protection=False,
        log_retention=logs.RetentionDays.TWO_WEEKS,
        log_level="DEBUG",
        throttle=Throttle(rate=50, burst=100),
        write_throttle=Throttle(rate=20, burst=40),
        batch_throttle=Throttle(rate=2, burst=4),
        docs_throttle=Throttle(rate=5, burst=10),
        credentials_throttle=Throttle(rate=5, burst=10),
        device_throttle=Throttle(rate=20, burst=40),
        # No reservation: dev must deploy into any account, also a new one whose concurrency
        # quota is still below 1,000 (where any reservation is refused) or one that prod
        # shares; its 50 requests/s stage limit is what bounds it (docs/deployment.md).
        reserved_concurrency=None,
        snap_start=False,  # snapshots slow every deploy and cost per version: not worth it in dev
    ),
    "prod": StageConfig(
        name="prod",
        removal_policy=RemovalPolicy.RETAIN,
        deletion_protection=True,
        log_retention=logs.RetentionDays.THREE_MONTHS,
        log_level="INFO",
        # 80 % of the account's default (10,000 rps steady, 5,000 burst): the rest stays for
        # the account's other APIs and stages in the region. A higher rate (docs/capacity.md)
        # needs a quota increase first; then raise these, the method limits and the
        # reservations together.
        throttle=Throttle(rate=8_000, burst=4_000),
        # ≤ 60 concurrent executions per write function at ≤ 0.1 s a write.
        write_throttle=Throttle(rate=500, burst=60),
        # ≤ 10 concurrent executions per batch function at ≤ 1 s a batch of 100: up to 1,000
        # devices or reports a second per batch route.
        batch_throttle=Throttle(rate=10, burst=10),
        docs_throttle=Throttle(rate=10, burst=20),
        credentials_throttle=Throttle(rate=20, burst=10),
        # What a default account leaves the devices (docs/capacity.md, "Device authentication"):
        # ≤ 26 concurrent executions per device route at ≤ 0.05 s a request, ~520/s, i.e. a fleet
        # of ~30,000 devices reporting every minute. 10^6 devices need ~20,000/s: quota increases
        # first (API Gateway's account throttle, Lambda concurrency), then these together.
        device_throttle=Throttle(rate=500, burst=26),
        # 9 reads x 45 + 6 writes x 60 + docs 5 + 3 credential routes x 10 + 2 batch routes x 10
        # + 3 device routes x 26 = 898 of a default account's 1,000: leaves 102 unreserved, above
        # Lambda's minimum of 100, for dev, the device authorizer, the deploy-time custom resource
        # and anything else in the account (docs/deployment.md). Reads are cached and take ~10 ms:
        # 45 each.
        reserved_concurrency=Concurrency(read=45, write=60, docs=5, credentials=10, batch=10, device=26),
        snap_start=True,
    ),
}


_BASE_PATH = re.compile(r"[A-Za-z0-9._-]+")
# What a deployment sets for its own account, as CDK context: `cdk deploy -c stage=prod
# -c cors_origins=https://a,https://b -c domain_name=api.example.com -c certificate_arn=arn:aws:acm:...
# -c base_path=registry` (docs/deployment.md).


def stage_config(name: object, setting: Callable[[str], object] = lambda _: None) -> StageConfig:
    """The stage ``name`` with the deployment settings ``setting`` (the CDK context) gives."""
    if name not in STAGES:
        raise ValueError(f"unknown stage {name!r}: pass -c {STAGE_CONTEXT_KEY}=" + "|".join(STAGES))
    stage = STAGES[str(name)]
    origins = setting("cors_origins")
    if origins:
        stage = replace(
            stage, cors_origins=parse_origins(",".join(origins) if isinstance(origins, list) else str(origins))
        )
    domain, certificate, base_path = (setting(key) for key in ("domain_name", "certificate_arn", "base_path"))
    if domain or certificate or base_path:
        stage = replace(
            stage,
            domain_name=str(domain) if domain else None,
            certificate_arn=str(certificate) if certificate else None,
            base_path=str(base_path) if base_path else None,
        )
    return stage
