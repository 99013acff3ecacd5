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
JOBS_PATH = "/jobs"  # the fleet job routes (limits of their own; infra/jobs.py)


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

    def __add__(self, other: Throttle) -> Throttle:
        return Throttle(rate=self.rate + other.rate, burst=self.burst + other.burst)


# What a default AWS account gives per region before any quota increase (Service Quotas):
# API Gateway's account-level throttle, shared by every method of every REST API, HTTP API and
# stage of the account in the region (API Gateway quotas, "Throttle quota per account, per
# Region": 10,000 requests/s with a 5,000 burst, and 2,500/1,250 in LOW_THROTTLE_REGIONS);
# and Lambda's concurrent executions, of which Lambda always keeps UNRESERVED_MINIMUM
# unreserved (Lambda quotas: a reservation that would leave fewer is refused).
ACCOUNT_THROTTLE = Throttle(rate=10_000, burst=5_000)
LOW_ACCOUNT_THROTTLE = Throttle(rate=2_500, burst=1_250)
LOW_THROTTLE_REGIONS = (
    "af-south-1",  # Africa (Cape Town)
    "eu-south-1",  # Europe (Milan)
    "ap-southeast-3",  # Asia Pacific (Jakarta)
    "me-central-1",  # Middle East (UAE)
    "ap-south-2",  # Asia Pacific (Hyderabad)
    "ap-southeast-4",  # Asia Pacific (Melbourne)
    "eu-south-2",  # Europe (Spain)
    "eu-central-2",  # Europe (Zurich)
    "il-central-1",  # Israel (Tel Aviv)
    "ca-west-1",  # Canada West (Calgary)
    "ap-southeast-5",  # Asia Pacific (Malaysia)
    "ap-southeast-7",  # Asia Pacific (Thailand)
    "mx-central-1",  # Mexico (Central)
)
DEFAULT_ACCOUNT_CONCURRENCY = 1_000
UNRESERVED_MINIMUM = 100
# Deployment settings (CDK context) about the deploying account.
ACCOUNT_CONCURRENCY_SETTING = "account_concurrency"  # its Lambda "Concurrent executions" quota
RESERVED_CONCURRENCY_SETTING = "reserved_concurrency"  # "off": reserve nothing (a shared or new account)
CACHE_SETTING = "cache"  # on|off: the API cache cluster
SNAP_START_SETTING = "snap_start"  # on|off: SnapStart on the route functions


def account_throttle(region: str | None) -> Throttle:
    """The account-level throttle of ``region`` before any increase; the lower one when unknown."""
    return ACCOUNT_THROTTLE if region and region not in LOW_THROTTLE_REGIONS else LOW_ACCOUNT_THROTTLE


def route_kind(route: Route) -> str:
    """What a route's limits are sized by: ``docs`` (public), ``device`` (a device's own routes),
    ``credentials`` (operators managing device credentials), ``batch``, ``write`` or ``read``."""
    if route.auth is None:
        return "docs"
    if route.auth == DEVICE:
        return "device"
    if CREDENTIALS_PATH in route.path:
        return "credentials"
    if route.path.startswith(JOBS_PATH):
        return "jobs"
    if route.batch:
        return "batch"
    return "write" if route.is_write else "read"


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
    # Each fleet job route (/jobs): an operator starts a job now and then and watches it; the work
    # runs in the job worker, bounded by its own event source mapping (infra/jobs.py).
    jobs: int = 6

    def of(self, route: Route) -> int:
        return int(getattr(self, route_kind(route)))

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
    # API Gateway applies the stage's default (``/*/*``) to each method that has no limit of its
    # own: here only the mocks (405s, CORS preflights), which reach no backend. Every method's
    # limit is its own bucket, so what the stage can take is their sum (``method_limits``), and
    # that sum must fit the account's throttle in the region, which every API there shares.
    throttle: Throttle
    # Each cached read (GET) and each HEAD: under the read functions' reserved concurrency.
    read_throttle: Throttle
    head_throttle: Throttle
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
    # Each fleet job route's limit: under its small reservation (a `registry job watch` polls twice a second).
    jobs_throttle: Throttle
    # None: no reservation (the functions share the account's unreserved pool).
    reserved_concurrency: Concurrency | None
    # SnapStart on published versions, the API invoking each function's current version: cold
    # starts restore a snapshot taken after init (docs/performance.md weighs cost and gain).
    snap_start: bool
    # The API cache cluster (docs/caching.md; billed by the hour whether used or not, docs/cost.md):
    # without it the cached routes answer from their functions every time.
    cache_cluster: bool = True
    # Retention (docs/decisions.md): status-kind history entries expire this many days after
    # they are written, by DynamoDB TTL; config-kind entries never do. 0: keep them forever.
    status_history_days: int = 0
    # Change events (docs/events.md): an HTTPS endpoint that gets every event (None: no webhook),
    # and the Secrets Manager secret holding the API key it is called with.
    webhook_url: str | None = None
    webhook_secret_name: str | None = None
    # CORS (docs/deployment.md): the browser origins allowed to call the API; none by default.
    cors_origins: tuple[str, ...] = ()
    # Fleet jobs (docs/jobs.md): how many job steps run at once (the queue's event source mapping's
    # MaximumConcurrency, at least Lambda's 2), and at most how many devices a second one job changes
    # (JOB_RATE_PER_S): together, a job's bound on the table's writes and on Lambda's concurrency.
    job_concurrency: int = 2
    job_rate_per_s: int = 50
    # A custom domain (docs/deployment.md): its name and ACM certificate (in the stack's region),
    # and the base path the API is mapped under (None: the domain's root).
    domain_name: str | None = None
    certificate_arn: str | None = None
    base_path: str | None = None
    # Liveness (docs/decisions.md, "Liveness"): how finely last_seen_at is kept (a report writes at
    # most once per resolution), how often the sweep runs (an EventBridge rate: whole minutes), how
    # many missed reports make a device silent, and its report interval's default and least.
    liveness_resolution_s: int = 300
    liveness_sweep_s: int = 60
    missed_reports: int = 3
    default_report_interval_s: int = 300
    min_report_interval_s: int = 60

    def __post_init__(self) -> None:
        if parse_origins(",".join(self.cors_origins)) != self.cors_origins:
            raise ValueError(f"{self.name}: cors_origins are origins such as https://app.example.com, no path")
        if (self.domain_name is None) != (self.certificate_arn is None):
            raise ValueError(f"{self.name}: domain_name and certificate_arn go together")
        if self.certificate_arn is not None and self.certificate_region is None:
            raise ValueError(f"{self.name}: certificate_arn is an ACM certificate ARN (arn:aws:acm:REGION:...)")
        if self.base_path is not None and (self.domain_name is None or not _BASE_PATH.fullmatch(self.base_path)):
            raise ValueError(f"{self.name}: base_path is one path segment (letters, digits, . _ -) of a domain_name")
        if self.status_history_days < 0:
            raise ValueError(f"{self.name}: status_history_days is a number of days, 0 to keep forever")
        if self.liveness_sweep_s < 60 or self.liveness_sweep_s % 60:
            raise ValueError(
                f"{self.name}: liveness_sweep_s is whole minutes (an EventBridge rate), got {self.liveness_sweep_s}"
            )
        if min(self.liveness_resolution_s, self.missed_reports, self.min_report_interval_s) < 1 or not (
            self.min_report_interval_s <= self.default_report_interval_s <= 86_400
        ):
            raise ValueError(f"{self.name}: liveness settings out of range (docs/deployment.md)")
        if self.webhook_url is not None and not (self.webhook_url.startswith("https://") and self.webhook_secret_name):
            raise ValueError(f"{self.name}: webhook_url must be https:// and come with webhook_secret_name")
        if not self.throttle_sum.within(ACCOUNT_THROTTLE):
            raise ValueError(
                f"{self.name}: its methods' throttles add up to {self.throttle_sum}, over the account's "
                f"{ACCOUNT_THROTTLE} in any region: lower them in infra/stage.py"
            )
        self.check_concurrency(DEFAULT_ACCOUNT_CONCURRENCY)

    @property
    def certificate_region(self) -> str | None:
        """The region named by certificate_arn (arn:aws:acm:REGION:ACCOUNT:certificate/ID)."""
        parts = (self.certificate_arn or "").split(":")
        return parts[3] if len(parts) > 5 and parts[2] == "acm" else None

    def method_throttle(self, route: Route, verb: str | None = None) -> Throttle:
        """The limit of ``route``'s method for ``verb`` (its own method by default, or its HEAD)."""
        kind = "head" if (verb or route.method) == "HEAD" else route_kind(route)
        limit = getattr(self, f"{kind}_throttle")
        assert isinstance(limit, Throttle)
        return limit

    def method_limits(self) -> dict[str, Throttle]:
        """Every method of the stage's API (``path/VERB``) with the limit API Gateway applies to it:
        each route's own method, a HEAD beside each GET, one mock (``ANY``) per path."""
        limits = {}
        for route in ROUTES:
            limits[f"{route.path}/{route.method}"] = self.method_throttle(route)
            if route.method == "GET":
                limits[f"{route.path}/HEAD"] = self.method_throttle(route, "HEAD")
        for path in dict.fromkeys(route.path for route in ROUTES):
            limits[f"{path}/ANY"] = self.throttle
        return limits

    @property
    def throttle_sum(self) -> Throttle:
        return sum(self.method_limits().values(), Throttle(rate=0, burst=0))

    def check_throttle(self, region: str | None) -> None:
        """At synth time, when the region is known: the methods' sum within its account throttle."""
        if region and not self.throttle_sum.within(account_throttle(region)):
            raise ValueError(low_throttle_message(self, region))

    def check_concurrency(self, account_concurrency: int) -> None:
        reserved = self.reserved_concurrency.total if self.reserved_concurrency else 0
        if reserved and account_concurrency - reserved < UNRESERVED_MINIMUM:
            raise ValueError(
                f"{self.name} reserves {reserved} concurrent executions, leaving "
                f"{account_concurrency - reserved} of the account's {account_concurrency} unreserved; Lambda "
                f"refuses a reservation that leaves fewer than {UNRESERVED_MINIMUM}. Deploy with "
                f"-c {RESERVED_CONCURRENCY_SETTING}=off, or raise the account's quota first and pass it as "
                f"-c {ACCOUNT_CONCURRENCY_SETTING}=N (docs/deployment.md)."
            )


def low_throttle_message(stage: StageConfig, region: str) -> str:
    return (
        f"Stage {stage.name}'s method throttles add up to {stage.throttle_sum}, over the account throttle "
        f"{LOW_ACCOUNT_THROTTLE} that API Gateway gives {region} before a quota increase. Deploy it to a "
        f"region outside {', '.join(LOW_THROTTLE_REGIONS)}, or lower the method throttles in infra/stage.py "
        "(docs/deployment.md, What a deploy must respect)."
    )


STAGES = {
    "dev": StageConfig(
        name="dev",
        removal_policy=RemovalPolicy.DESTROY,
        deletion_protection=False,
        log_retention=logs.RetentionDays.TWO_WEEKS,
        log_level="DEBUG",
        # Every method's limit counts against the account's throttle (dev's add up to ~400/s and
        # fit the smallest region's 2,500 beside a prod): a developer's stage, not a load test.
        throttle=Throttle(rate=2, burst=2),
        read_throttle=Throttle(rate=20, burst=10),
        head_throttle=Throttle(rate=5, burst=5),
        write_throttle=Throttle(rate=10, burst=10),
        batch_throttle=Throttle(rate=2, burst=2),
        docs_throttle=Throttle(rate=5, burst=10),
        credentials_throttle=Throttle(rate=5, burst=5),
        device_throttle=Throttle(rate=10, burst=10),
        jobs_throttle=Throttle(rate=5, burst=5),
        # No reservation: dev must deploy into any account, also a new one whose concurrency
        # quota is still below 1,000 (where any reservation is refused) or one that prod
        # shares; its small method throttles are what bound it (docs/deployment.md).
        reserved_concurrency=None,
        # What a developer's account should pay for (docs/cost.md, "A stage's fixed monthly cost"):
        # no cache cluster, no snapshots; `-c cache=on` and `-c snap_start=on` ask for them.
        snap_start=False,  # snapshots slow every deploy and cost per version: not worth it in dev
        cache_cluster=False,
    ),
    "prod": StageConfig(
        name="prod",
        removal_policy=RemovalPolicy.RETAIN,
        deletion_protection=True,
        log_retention=logs.RetentionDays.THREE_MONTHS,
        log_level="INFO",
        # The methods' limits add up to ~62 % of a default account's 10,000 requests/s (burst
        # ~16 % of 5,000): the rest is for the account's other APIs and for the routes still to
        # come (each adds its limit to the sum, which infra/stage.py holds under the account's).
        # A higher rate (docs/capacity.md) needs a quota increase first; then raise these and the
        # reservations together. The mocks (405, preflight) reach no backend: a low default.
        throttle=Throttle(rate=10, burst=10),
        # ≤ 20 concurrent executions per read function (cached; ~10 ms a request when not).
        read_throttle=Throttle(rate=300, burst=20),
        head_throttle=Throttle(rate=20, burst=10),
        # ≤ 25 concurrent executions per write function at ≤ 0.1 s a write.
        write_throttle=Throttle(rate=250, burst=25),
        # ≤ 10 concurrent executions per batch function at ≤ 1 s a batch of 100: up to 1,000
        # devices or reports a second per batch route.
        batch_throttle=Throttle(rate=10, burst=10),
        docs_throttle=Throttle(rate=10, burst=20),
        credentials_throttle=Throttle(rate=20, burst=5),
        # What a default account leaves the devices (docs/capacity.md, "Device authentication"):
        # ≤ 26 concurrent executions per device route at ≤ 0.05 s a request, ~520/s, i.e. a fleet
        # of ~30,000 devices reporting every minute. 10^6 devices need ~20,000/s: quota increases
        # first (API Gateway's account throttle, Lambda concurrency), then these together.
        device_throttle=Throttle(rate=500, burst=26),
        jobs_throttle=Throttle(rate=20, burst=5),
        # 9 reads x 20 + 6 writes x 25 + docs 5 + 3 credential routes x 6 + 2 batch routes x 10
        # + 3 device routes x 26 + 6 job routes x 6 = 487 of a default account's 1,000: each function is guaranteed
        # its share, and 513 stay unreserved for dev, the unreserved functions (the device
        # authorizer, the publisher, deploy-time custom resources), the routes still to come and
        # anything else in the account. `-c account_concurrency=N` names the account's quota
        # (synth refuses reservations leaving fewer than Lambda's 100); `-c reserved_concurrency=off`
        # reserves nothing (docs/deployment.md).
        reserved_concurrency=Concurrency(read=20, write=25, docs=5, credentials=6, batch=10, device=26),
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
    switches = {key: setting(key) for key in (CACHE_SETTING, SNAP_START_SETTING, RESERVED_CONCURRENCY_SETTING)}
    for key, value in switches.items():
        if value is not None and str(value) not in ("on", "off"):
            raise ValueError(f"-c {key}={value}: say on or off")
    if switches[CACHE_SETTING] is not None:
        stage = replace(stage, cache_cluster=switches[CACHE_SETTING] == "on")
    if switches[SNAP_START_SETTING] is not None:
        stage = replace(stage, snap_start=switches[SNAP_START_SETTING] == "on")
    if switches[RESERVED_CONCURRENCY_SETTING] == "off":
        stage = replace(stage, reserved_concurrency=None)
    quota = setting(ACCOUNT_CONCURRENCY_SETTING)
    if quota is not None:
        if not str(quota).isdigit():
            raise ValueError(f"-c {ACCOUNT_CONCURRENCY_SETTING}={quota}: the account's quota, a number of executions")
        stage.check_concurrency(int(str(quota)))
    return stage


def check_certificate_region(stage: StageConfig, region: str | None) -> None:
    """At synth time, when the region is known: a regional custom domain needs its ACM
    certificate in the stack's own region (API Gateway refuses any other)."""
    certificate_region = stage.certificate_region
    if region and certificate_region and certificate_region != region:
        raise ValueError(
            f"Stage {stage.name}: certificate_arn is in {certificate_region}, the stack deploys to {region}; "
            f"a regional custom domain needs a certificate in {region} (request or import it there and pass "
            "-c certificate_arn=...)."
        )
