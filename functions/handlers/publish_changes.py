"""The change-event publisher (docs/events.md), not a route: the device table's stream (DynamoDB
Streams, new and old images) invokes it with a batch of one shard's records; each new history
item becomes one event on the stack's EventBridge bus (registry/stream/change_events.py, registry/stream/publisher.py).

Powertools' batch utility answers a partial batch response: the records that failed (and only
they, with the ones held back behind them) are reported, so Lambda retries from the first of them
(bisecting on error, bounded retries, then the on-failure queue) and nothing is dropped silently.

:func:`process_batch` is the one place a batch is processed: what else the stream feeds (fleet
statistics) extends it and merges its failures into the outcome."""

import gc
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from registry.settings import get_publisher_settings, get_stats_settings
from registry.storage.devices import DeviceStore
from registry.stream import stats
from registry.stream.publisher import BatchOutcome, EventBridgeSink, Publisher

# handlers/ pauses the garbage collector for a route's cold start; a stream consumer lives on.
gc.enable()

CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5)

logger = Logger()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@cache
def bus_publisher() -> Publisher:
    events = boto3.client("events", config=CLIENT_CONFIG)
    return Publisher(EventBridgeSink(events, get_publisher_settings().event_bus_name))


@cache
def stats_store() -> DeviceStore:
    return DeviceStore(boto3.client("dynamodb", config=CLIENT_CONFIG), get_stats_settings().table_name)


def process_batch(records: list[dict[str, Any]], publisher: Publisher | None = None) -> BatchOutcome:
    """Everything done with one batch of stream records (in stream order); the failures, by
    sequence number, are what the batch utility reports. ``publisher``: the local server's
    (local/stream.py, events to a file); in Lambda, the bus's."""
    outcome = (publisher or bus_publisher()).publish(records)
    # Fleet statistics: the records before the first failed one, once (docs/capacity.md).
    stats.count_batch(stats_store(), records, failed=outcome.failures)
    return outcome


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    outcome = process_batch(event.get("Records", []))
    logger.info(
        "batch published",
        extra={
            "records": len(event.get("Records", [])),
            "events": len(outcome.published),
            "failed": len(outcome.failures),
        },
    )
    if outcome.failures:  # reported to Lambda below: retried, bisected, then dead-lettered
        logger.warning("records not published", extra={"failures": {n: str(e) for n, e in outcome.failures.items()}})

    def record_handler(record: DynamoDBRecord) -> None:
        failure = outcome.failures.get(str(record.dynamodb.sequence_number if record.dynamodb else ""))
        if failure is not None:
            raise failure

    return dict(
        process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    )
