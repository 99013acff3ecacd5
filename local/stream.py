"""The change stream locally (docs/events.md, "Locally"): a background thread reads the local
table's DynamoDB stream (moto implements DynamoDB Streams) as Lambda's event source mapping
would — each shard in order, a batch at a time — and hands each batch to the publisher
function's own per-batch processing (``handlers.publish_changes.process_batch``), with a sink
that appends each event as one JSON line to ``LOCAL_EVENTS_FILE`` instead of PutEvents.
A batch that fails in part is read again from its first failed record, as Lambda retries it.

With a data directory (``make run``), how far each shard has been published is kept in a file
there (``local/persistence.py``, ``STREAM_POSITION``) after every batch, and a restart resumes
after it, as an event source mapping resumes from its checkpoint: every acknowledged revision is
published at least once, even after ``kill -9`` (those published just before a kill may be
published again). Without one, the publisher starts at the stream's latest record."""

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

from local.activity import Activity
from local.persistence import read_position, shard_key, write_position
from registry.stream.publisher import Publisher

# How often an idle shard is asked again when its table is served elsewhere; the embedded
# DynamoDB wakes the reader on every write instead (local/activity.py).
POLL_SECONDS = 0.05
BATCH_SIZE = 100  # as the AWS event source mapping (infra/change_events.py)
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

    def __init__(
        self,
        endpoint: str | None,
        table_name: str,
        events_file: str | None,
        position_file: Path | None = None,
        activity: Activity | None = None,
    ) -> None:
        self._dynamodb = boto3.client("dynamodb", endpoint_url=endpoint)
        self._streams = boto3.client("dynamodbstreams", endpoint_url=endpoint)
        self._table_name = table_name
        self.publisher = Publisher(FileSink(events_file) if events_file else NoSink(), sleep=time.sleep)
        self._stop = threading.Event()
        # A table served elsewhere: no write is heard, so the reader asks at its own pace.
        self._activity = activity or Activity(idle_poll_s=POLL_SECONDS)
        self._thread = threading.Thread(target=self._run, name="change-stream", daemon=True)
        self._iterators: dict[str, str | None] = {}
        self._position_file = position_file
        self._position: dict[str, int] = (read_position(position_file) or {}) if position_file else {}
        self.idle_rounds = 0  # polls of every shard that found nothing new (benchmarks wait on it)

    def start(self) -> StreamPublisher:
        description = self._dynamodb.describe_table(TableName=self._table_name)["Table"]
        if not description.get("StreamSpecification", {}).get("StreamEnabled"):
            description = self._dynamodb.update_table(TableName=self._table_name, StreamSpecification=STREAM)[
                "TableDescription"
            ]
        self._arn = description["LatestStreamArn"]
        self._discover(initial=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._activity.wake()
        self._thread.join(timeout=5)

    def _discover(self, *, initial: bool = False) -> None:
        shards = self._streams.describe_stream(StreamArn=self._arn)["StreamDescription"]["Shards"]
        for shard in shards:
            if shard["ShardId"] not in self._iterators:
                self._iterators[shard["ShardId"]] = self._first_iterator(shard, initial=initial)

    def _first_iterator(self, shard: Mapping[str, Any], *, initial: bool) -> str | None:
        """After the last record published (kept in the data directory); without a data
        directory, at start, the latest record: what is already there is not a new change."""
        shard_id = shard["ShardId"]
        if self._position_file is None:
            return self._iterator(shard_id, "LATEST" if initial else "TRIM_HORIZON")
        last = self._position.get(shard_key(self._table_name, shard_id))
        start = int(shard["SequenceNumberRange"]["StartingSequenceNumber"])
        if last is None or last < start:  # nothing of the shard's records published yet
            return self._iterator(shard_id, "TRIM_HORIZON")
        return self._iterator(shard_id, "AFTER_SEQUENCE_NUMBER", str(last))

    def _published(self, shard_id: str, records: Sequence[Mapping[str, Any]], failed: str | None) -> None:
        """Keeps how far the shard is published: through the batch, or up to its first failure."""
        if self._position_file is None:
            return
        sequences = [int(record["dynamodb"]["SequenceNumber"]) for record in records]
        done = [number for number in sequences if failed is None or number < int(failed)]
        if done:
            self._position[shard_key(self._table_name, shard_id)] = max(done)
            write_position(self._position_file, self._position)

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
            mark, busy = self._activity.mark(), False
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
                        first = min(outcome.failures, key=int) if outcome.failures else None
                        self._published(shard_id, records, first)
                        if first is not None:
                            log.warning("change events not published, retrying from %s: %s", first, outcome.failures)
                            next_iterator = self._iterator(shard_id, "AT_SEQUENCE_NUMBER", first)
                            time.sleep(1)
                    self._iterators[shard_id] = next_iterator
            except Exception:  # keep the local server's events flowing; say what went wrong
                log.exception("change stream polling failed")
                time.sleep(1)
            if not busy:
                self.idle_rounds += 1
                self._activity.wait(mark)
