"""``make run``'s data on disk (``LOCAL_DATA_DIR``): the embedded DynamoDB's tables survive a
restart, and nothing acknowledged is lost however the process ends.

Two files: ``snapshot`` (every table as it was at a point, pickled moto tables) and
``journal.<generation>`` (every write that succeeded since that snapshot, one JSON line each,
appended and fsynced before the write is answered). At start the snapshot is loaded and its
journal replayed; then a new snapshot is taken, as at every clean stop and every
``SNAPSHOT_EVERY`` writes, so that a start never replays much. A snapshot is written aside and
renamed into place, and names the journal generation that follows it: a crash at any point
leaves either the old snapshot and its journal, or the new snapshot and its (new, empty) one.
A last journal line cut short (no newline: the process killed while writing it) was never
acknowledged: it is dropped, and the log says so with its size. Any other line that cannot be
read is an acknowledged write damaged, with acknowledged writes after it: the server refuses to
start, naming the file and the line, rather than replay part of the journal and lose the rest.
A lock file keeps a second server off the same directory.

The snapshot is moto's own objects: another moto version may not read it, which is said plainly
(``make run FRESH=1`` starts afresh)."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from moto.dynamodb.models import dynamodb_backends
from werkzeug.test import EnvironBuilder

log = logging.getLogger(__name__)
# Where the local change-event publisher keeps how far it has published each stream shard
# (local/stream.py), so that it resumes there after a restart, however the process ended.
STREAM_POSITION = "stream-position.json"
SNAPSHOT_EVERY = 1_000  # journaled writes: a start replays at most this many (~10-30 ms each)
# The operations that change what a DynamoDB holds (PartiQL statements may: they are kept too).
WRITES = frozenset(
    {
        "CreateTable",
        "UpdateTable",
        "DeleteTable",
        "UpdateTimeToLive",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactWriteItems",
        "ExecuteStatement",
        "BatchExecuteStatement",
        "ExecuteTransaction",
        "TagResource",
        "UntagResource",
    }
)
# What moto reads from a request besides its body: the operation, and the account and region
# (the signature's credential scope).
_HEADERS = {
    "HTTP_X_AMZ_TARGET": "X-Amz-Target",
    "HTTP_AUTHORIZATION": "Authorization",
    "HTTP_HOST": "Host",
    "CONTENT_TYPE": "Content-Type",
}


class DataDirectory:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._lock = (directory / "lock").open("w")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise RuntimeError(
                f"Another local server is using {directory}; stop it or use another directory "
                "(make run LOCAL_DATA_DIR=…)."
            ) from None
        self.generation = 0
        self._journal: IO[bytes] | None = None
        self._since_snapshot = 0

    @property
    def snapshot_path(self) -> Path:
        return self.directory / "snapshot"

    def journal_path(self, generation: int) -> Path:
        return self.directory / f"journal.{generation}"

    def restore(self, app: Any) -> int:
        """Loads the snapshot into moto and replays its journal through ``app``; returns how
        many writes were replayed. Afterwards the state is snapshotted afresh."""
        if self.snapshot_path.exists():
            try:
                state = pickle.loads(self.snapshot_path.read_bytes())
                for account, regions in state["tables"].items():
                    for region, tables in regions.items():
                        dynamodb_backends[account][region].tables = tables
            except Exception as error:
                raise RuntimeError(
                    f"Cannot read the local data in {self.directory} ({error}); it may come from another "
                    "version of moto. `make run FRESH=1` starts with an empty registry."
                ) from None
            self.generation = int(state["generation"])
        replayed = self._replay(app, self.journal_path(self.generation))
        self.snapshot()
        return replayed

    def _replay(self, app: Any, path: Path) -> int:
        if not path.exists():
            return 0
        replayed = 0
        with path.open("rb") as journal:
            for number, line in enumerate(journal, 1):
                entry = _entry(line)
                if entry is None and not line.endswith(b"\n"):
                    # Cut short by a kill while being appended: its write was never acknowledged.
                    log.warning("local data: dropped the last record of %s, cut short (%d bytes)", path, len(line))
                    break
                if entry is None:
                    raise RuntimeError(
                        f"{path}, line {number}, is not a journal record ({len(line)} bytes: {line[:60]!r}); the "
                        f"acknowledged writes after it would be lost, so nothing is replayed. Repair or remove that "
                        f"line and start again, or move {self.directory} aside (`make run FRESH=1` deletes it)."
                    )
                environ = EnvironBuilder(
                    method="POST", path="/", data=entry["body"].encode(), headers=entry["headers"]
                ).get_environ()
                b"".join(app(environ, lambda status, headers, exc_info=None: None))
                replayed += 1
        return replayed

    def append(self, environ: dict[str, Any], body: bytes) -> None:
        """Journals one write that succeeded; returns once it is on disk."""
        if self._journal is None:
            self._journal = self.journal_path(self.generation).open("ab")
        headers = {header: environ[name] for name, header in _HEADERS.items() if name in environ}
        self._journal.write(json.dumps({"headers": headers, "body": body.decode()}).encode() + b"\n")
        self._journal.flush()
        os.fsync(self._journal.fileno())
        self._since_snapshot += 1

    def snapshot_if_due(self) -> None:
        """A snapshot every SNAPSHOT_EVERY writes. One that fails (a full disk) loses nothing:
        the journal still holds every write, and the next write tries again."""
        if self._since_snapshot >= SNAPSHOT_EVERY:
            try:
                self.snapshot()
            except OSError as error:
                log.warning("local data: snapshot failed (%s); the journal keeps every write", error)

    def snapshot(self) -> None:
        """Every table now, in a new snapshot naming a new, empty journal; the old journal goes.
        The caller holds the embedded DynamoDB's lock (no write in between)."""
        following = self.generation + 1
        tables = {
            account: {region: backend.tables for region, backend in regions.items()}
            for account, regions in dynamodb_backends.items()
        }
        written = self.snapshot_path.with_name("snapshot.new")
        published = read_position(self.directory / STREAM_POSITION)
        with written.open("wb") as file, _stream_records_set_aside(published):
            pickle.dump({"generation": following, "tables": tables}, file, protocol=pickle.HIGHEST_PROTOCOL)
            file.flush()
            os.fsync(file.fileno())
        written.replace(self.snapshot_path)
        # From here the snapshot in place names the next journal: write there at once.
        previous, self.generation, self._since_snapshot = self.generation, following, 0
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        _sync_directory(self.directory)
        self.journal_path(previous).unlink(missing_ok=True)

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        self._lock.close()


def _entry(line: bytes) -> dict[str, Any] | None:
    """A journal line's record (the request's headers and body), or None if it is not one."""
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    well_formed = isinstance(entry, dict) and isinstance(entry.get("headers"), dict)
    return entry if well_formed and isinstance(entry.get("body"), str) else None


def shard_key(table_name: str, shard_id: str) -> str:
    return f"{table_name} {shard_id}"


def read_position(path: Path) -> dict[str, int] | None:
    """The last sequence number published from each shard (by :func:`shard_key`); None before
    the publisher has ever kept one."""
    try:
        return {str(key): int(value) for key, value in json.loads(path.read_text()).items()}
    except FileNotFoundError:
        return None
    except (ValueError, AttributeError) as error:
        # Unreadable: read the shards from their start again (events twice, none lost).
        log.warning("local data: %s is unreadable (%s); the change events are published again", path, error)
        return {}


def write_position(path: Path, position: dict[str, int]) -> None:
    """Replaced whole (written aside, then renamed): a kill leaves the old position or the new."""
    aside = path.with_name(path.name + ".new")
    aside.write_text(json.dumps(position))
    aside.replace(path)


@contextmanager
def _stream_records_set_aside(published: dict[str, int] | None) -> Iterator[None]:
    """While a snapshot is taken, the stream records already published are set aside: a
    restarted server's publisher resumes after the last one it published, so the snapshot keeps
    only those it had not (all of them before it ever published, ``published`` None). The
    snapshot's sequence numbers go on from where they were."""
    shards: list[tuple[str, Any]] = [
        (shard_key(table.name, table.stream_shard.id), table.stream_shard)
        for regions in dynamodb_backends.values()
        for backend in regions.values()
        for table in backend.tables.values()
        if table.stream_shard is not None
    ]
    kept = [(shard.items, shard.starting_sequence_number) for _, shard in shards]
    for (key, shard), (items, start) in zip(shards, kept, strict=True):
        last = None if published is None else published.get(key, start - 1)
        done = 0 if last is None else min(max(last + 1 - start, 0), len(items))
        shard.items, shard.starting_sequence_number = items[done:], start + done
    try:
        yield
    finally:
        for (_, shard), (items, start) in zip(shards, kept, strict=True):
            shard.items, shard.starting_sequence_number = items, start


def _sync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
