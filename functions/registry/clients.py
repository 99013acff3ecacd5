"""The AWS clients a route function creates once per container: the one DynamoDB client that
the stores (through the composition root, registry.wiring) and the idempotency layer share.

Built on botocore's own session, not boto3's: ``boto3.client`` is that same botocore client
(boto3 adds resources and S3 transfers, neither used here), and importing boto3 costs a cold start
its session module and s3transfer (docs/performance.md). The item codec does boto3's attribute
value conversion itself (registry/storage/codec.py) for the same reason."""

from functools import cache

from botocore.config import Config
from botocore.session import get_session

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
    return get_session().create_client("dynamodb", config=CLIENT_CONFIG)


@cache
def sqs_client() -> object:
    """The job queue's client (registry/jobs/queue.py): the /jobs routes and the job worker."""
    return get_session().create_client("sqs", config=CLIENT_CONFIG)
