"""The change stream locally (docs/events.md, "Locally"): a background thread reads the local
table's DynamoDB stream (moto implements DynamoDB Streams) as Lambda's event source mapping
would — each shard in order, a batch at a time — and hands each batch to the publisher
function's own per-batch processing (``handlers.publish_changes.process_batch``), with a sink
that appends each event as one JSON line to ``LOCAL_EVENTS_FILE`` instead of PutEvents.
A batch that fails in part is read again from its first failed record, as Lambda retries it."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3

from registry.stream.publisher import Publisher

POLL_SECONDS = 0.05  # how often an idle shard is asked again: the events' local latency floor
BATCH_SIZE = 100  # as the AWS event source mapping (infra/events.py)
STREAM = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}  # as infra/data.py

log = logging.getLogger(__name__)


class FileSink:
    """Appends each event as one JSON line (``Source``, ``DetailType``, ``Detail`` as an object)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def put(self, events: Sequence[Mapping[str, Any]]) -> list[str | None]:
        lines = "".join(json.dumps(dict(event), ensure_ascii=False) + "\n" for event in events)
        with self._lock, self.path.open("a", encoding="utf-8") as file:
            file.write(lines)
        return [None] * len(events)


class NoSink:
    """No LOCAL_EVENTS_FILE: the events go nowhere (the rest of the batch's processing still runs)."""

    def put(self, events: Sequence[Mapping[str, Any]]) -> list[str | None]:
        return [None] * len(events)


def _lambda_record(record: Mapping[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record as Lambda delivers it (JSON types, the source ARN)."""
    dynamodb = dict(record["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = int(created.timestamp())
    return {**record, "dynamodb": dynamodb, "eventSourceARN": stream_arn}


class StreamPublisher:
    """Polls the table's stream on a daemon thread and publishes what each batch holds."""

    def __init__(self, endpoint: str | None, table_name: str, events_file: str | None) -> None:
        self._dynamodb = boto3.client("dynamodb", endpoint_url=endpoint)
        self._streams = boto3.client("dynamodbstreams", endpoint_url=endpoint)
        self._table_name = table_name
        self.publisher = Publisher(FileSink(events_file) if events_file else NoSink(), sleep=time.sleep)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="change-stream", daemon=True)
        self._iterators: dict[str, str | None] = {}

    def start(self) -> StreamPublisher:
        description = self._dynamodb.describe_table(TableName=self._table_name)["Table"]
        if not description.get("StreamSpecification", {}).get("StreamEnabled"):
            description = self._dynamodb.update_table(TableName=self._table_name, StreamSpecification=STREAM)[
                "TableDescription"
            ]
        self._arn = description["LatestStreamArn"]
        self._discover(initial=True)  # from now on: what is already there is not a new change
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _discover(self, *, initial: bool = False) -> None:
        shards = self._streams.describe_stream(StreamArn=self._arn)["StreamDescription"]["Shards"]
        for shard in shards:
            if shard["ShardId"] not in self._iterators:
                self._iterators[shard["ShardId"]] = self._iterator(
                    shard["ShardId"], "LATEST" if initial else "TRIM_HORIZON"
                )

    def _iterator(self, shard_id: str, kind: str, sequence: str | None = None) -> str | None:
        extra = {"SequenceNumber": sequence} if sequence else {}
        answer = self._streams.get_shard_iterator(
            StreamArn=self._arn, ShardId=shard_id, ShardIteratorType=kind, **extra
        )
        return answer.get("ShardIterator")

    def _run(self) -> None:
        # Imported here: the handler module is the Lambda function's, with its per-batch seam.
        from handlers.publish_changes import process_batch

        while not self._stop.is_set():
            busy = False
            try:
                self._discover()
                for shard_id, iterator in list(self._iterators.items()):
                    if iterator is None:
                        continue
                    answer = self._streams.get_records(ShardIterator=iterator, Limit=BATCH_SIZE)
                    records = [_lambda_record(r, self._arn) for r in answer.get("Records", [])]
                    next_iterator = answer.get("NextShardIterator")
                    if records:
                        busy = True
                        outcome = process_batch(records, publisher=self.publisher)
                        if outcome.failures:
                            first = min(outcome.failures, key=int)
                            log.warning("change events not published, retrying from %s: %s", first, outcome.failures)
                            next_iterator = self._iterator(shard_id, "AT_SEQUENCE_NUMBER", first)
                            time.sleep(1)
                    self._iterators[shard_id] = next_iterator
            except Exception:  # keep the local server's events flowing; say what went wrong
                log.exception("change stream polling failed")
                time.sleep(1)
            if not busy:
                self._stop.wait(POLL_SECONDS)
