"""What differs between the environments: ``cdk synth|deploy -c stage=dev|prod``."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs

STAGE_CONTEXT_KEY = "stage"


@dataclass(frozen=True)
class StageConfig:
    name: str
    # prod keeps its data when the stack (or a resource) is deleted; dev can be torn down.
    removal_policy: RemovalPolicy
    deletion_protection: bool
    log_retention: logs.RetentionDays
    log_level: str  # POWERTOOLS_LOG_LEVEL
    # Stage-wide API Gateway throttling (requests per second, token-bucket burst).
    throttle_rate: int
    throttle_burst: int
    # SnapStart on published versions, the API invoking each function's "live" alias: cold
    # starts restore a snapshot taken after init (docs/performance.md weighs cost and gain).
    snap_start: bool

    @property
    def is_production(self) -> bool:
        return self.removal_policy is RemovalPolicy.RETAIN


STAGES = {
    "dev": StageConfig(
        name="dev",
        removal_policy=RemovalPolicy.DESTROY,
        deletion_protection=False,
        log_retention=logs.RetentionDays.TWO_WEEKS,
        log_level="DEBUG",
        throttle_rate=50,
        throttle_burst=100,
        snap_start=False,  # snapshots slow every deploy and cost per version: not worth it in dev
    ),
    "prod": StageConfig(
        name="prod",
        removal_policy=RemovalPolicy.RETAIN,
        deletion_protection=True,
        log_retention=logs.RetentionDays.THREE_MONTHS,
        log_level="INFO",
        # The regional account default (10,000 rps steady, 5,000 burst): a higher rate
        # (docs/capacity.md) needs a quota increase first, then raise these with it.
        throttle_rate=10_000,
        throttle_burst=5_000,
        snap_start=True,
    ),
}


def stage_config(name: object) -> StageConfig:
    if name not in STAGES:
        raise ValueError(f"unknown stage {name!r}: pass -c {STAGE_CONTEXT_KEY}=" + "|".join(STAGES))
    return STAGES[str(name)]
