"""The AWS clients a route function creates once per container: the one DynamoDB client that
the stores (through the composition root, registry.wiring) and the idempotency layer share."""

from functools import cache

import boto3
from botocore.config import Config

# Fail fast and let the service answer 503 with Retry-After rather than hang the caller:
# 3 attempts in all (botocore's `max_attempts` would count retries only, one more), each at most
# 2 s to connect and 3 s to read, with standard-mode backoff (≤ 1 s, ≤ 2 s) between them.
CLIENT_CONFIG = Config(
    connect_timeout=2,
    read_timeout=3,
    retries={"mode": "standard", "total_max_attempts": 3},
)


@cache
def dynamodb_client() -> object:
    return boto3.client("dynamodb", config=CLIENT_CONFIG)


@cache
def sqs_client() -> object:
    """The job queue's client (registry/jobs/queue.py): the /jobs routes and the job worker."""
    return boto3.client("sqs", config=CLIENT_CONFIG)
