"""The liveness sweep function (infra/liveness.py), not a route: an EventBridge schedule invokes
it every ``liveness_sweep_s`` (the local server's timer, local/liveness.py, calls it the same way).
It records the transition to ``silent`` of every device whose deadline has passed
(registry/devices/sweep.py) and answers what it did. A failure raises: the schedule's next run
finds the same devices still due (nothing is lost), and the function's error alarm fires."""

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from registry import metrics
from registry.devices.sweep import sweep
from registry.wiring import get_service

logger = Logger()


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        report = sweep(get_service())
    finally:
        metrics.flush()
    logger.info("liveness sweep", extra=asdict(report))
    return asdict(report)
