"""An embedded DynamoDB: moto's server on a free loopback port, with the tables created from
``registry.storage.keys``. Requests are served one at a time, as DynamoDB applies each request
atomically; moto's backend alone would let concurrent transactions interleave."""

from __future__ import annotations

import io
import json
import logging
import socket
import threading
from collections import Counter, OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import boto3
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from local import moto_answers, moto_indexes, moto_items, persistence
from local.activity import QUEUE_SENDS, TABLE_WRITES, Activity
from registry.storage import keys as table
from registry.storage.migrations import MIGRATIONS, Migration
from registry.storage.migrations.dynamodb import MigrationTable
from registry.storage.migrations.runner import Runner, Status


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """TransactWriteItems as DynamoDB applies it: every condition checked against the state
    before the transaction, then every write, or nothing. moto's own copies each table the
    transaction touches to roll back (O(table size) per write: ~1 s a write at 10,000 devices);
    requests here are served one at a time, so checking first and then writing needs no copy."""
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    targets: set[tuple[str, str]] = set()
    errors: list[tuple[str | None, str | None, dict[str, Any] | None]] = []
    writes: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = []
    before: list[tuple[Table, Item | None, dict[str, Any]]] = []
    for entry in transact_items:
        if len(entry) > 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(entry.items()))
        original: dict[str, Any] | None = None
        try:
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table = self.get_table(op["TableName"])
            if op_type == "Put":
                key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = op["Item"][table.range_key_attr]
            else:
                key = op["Key"]
            target = (str(op["TableName"]), str(dict(sorted(key.items()))))
            if target in targets:
                raise MultipleTransactionsException()
            targets.add(target)
            current = self.get_item(op["TableName"], key)
            condition = op.get("ConditionExpression")
            if condition is not None:
                check = get_filter_expression(
                    condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
                )
                if not check.expr(current):
                    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                        original = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original)
            if op_type != "ConditionCheck":
                writes.append((op_type, op["TableName"], key, op))
                before.append((table, current, key))
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException, TransactWriteSingleOpException):
            raise
        except ConditionalCheckFailed as error:
            errors.append(("ConditionalCheckFailed", str(error.message), original))
        except Exception as error:
            errors.append((type(error).__name__, str(error), original))
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)
    applied = 0
    try:
        for op_type, table_name, key, op in writes:
            names: Any = op.get("ExpressionAttributeNames")  # None when absent, as moto's own passes them
            values: Any = op.get("ExpressionAttributeValues")
            if op_type == "Put":
                self.put_item(table_name, op["Item"])
            elif op_type == "Delete":
                self.delete_item(table_name, key)
            else:
                self.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            applied += 1
    except Exception:
        for table, item, key in reversed(before[: applied + 1]):
            _put_back(table, item, key)
        raise


def _put_back(table: Table, item: Item | None, key: dict[str, Any]) -> None:
    """An item as it was before a transaction that failed half-way (an invalid update)."""
    hash_key = DynamoType(key[table.hash_key_attr])
    range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    _restore(table, item, hash_key, range_key)
    moto_indexes.placed(table, hash_key, range_key)


def _restore(table: Table, item: Item | None, hash_key: DynamoType, range_key: DynamoType | None) -> None:
    if range_key is None:
        if item is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = item  # type: ignore[assignment]
    elif item is None:
        table.items[hash_key].pop(range_key, None)
    else:
        table.items[hash_key][range_key] = item


DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
moto_indexes.install()  # Query reads one partition, not the whole table
moto_answers.install()  # items encoded straight to JSON, not value by value through botocore's shapes
moto_items.install()  # item sizes and copies with one type test per value, not four method calls
_TOKENS_KEPT = 10_000  # DynamoDB honours a token for 10 minutes


def _request_body(environ: dict[str, Any]) -> bytes:
    """The request's body, read once and put back for the application."""
    raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    environ["wsgi.input"] = io.BytesIO(raw)
    return bytes(raw)


def _target(environ: dict[str, Any]) -> str:
    """The DynamoDB operation (``X-Amz-Target: DynamoDB_20120810.PutItem`` → ``PutItem``)."""
    return str(environ.get("HTTP_X_AMZ_TARGET", "")).rsplit(".", 1)[-1]


class _Serialized:
    """One request at a time; and, as DynamoDB does and moto does not, a transaction resent with
    the ClientRequestToken of one that succeeded succeeds again without being applied twice
    (botocore puts a token in every TransactWriteItems and resends it when it retries, e.g.
    after a read timeout). With a journal, every write that succeeded is journaled before its
    answer leaves. What it served is told to the local server's pollers: the change stream's
    reader (``table_activity``) and the job workers (``queue_activity``)."""

    def __init__(self, app: Any, journal: persistence.DataDirectory | None = None) -> None:
        self.app = app
        self.journal = journal
        self.lock = threading.Lock()
        self.succeeded: OrderedDict[str, tuple[str, list[tuple[str, str]], bytes]] = OrderedDict()
        self.requests: Counter[str] = Counter()  # by operation (DynamoDB's and Streams'), for benchmarks
        self.table_activity = Activity(TABLE_WRITES)
        self.queue_activity = Activity(QUEUE_SENDS)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        with self.lock:
            target = _target(environ)
            self.requests[str(environ.get("HTTP_X_AMZ_TARGET", ""))] += 1
            writes = target in persistence.WRITES
            raw = _request_body(environ) if writes else b""
            token = json.loads(raw or b"{}").get("ClientRequestToken") if target == "TransactWriteItems" else None
            if token is not None and token in self.succeeded:
                status, headers, body = self.succeeded[token]
                start_response(status, headers)
                return [body]
            answered: list[Any] = []

            def keep(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
                answered[:] = [status, headers]
                return start_response(status, headers, exc_info)

            body = b"".join(self.app(environ, keep))
            succeeded = bool(answered) and answered[0].startswith("200")
            if writes and succeeded and self.journal is not None:
                self.journal.append(environ, raw)
                self.journal.snapshot_if_due()
            if token and succeeded:
                self.succeeded[str(token)] = (answered[0], answered[1], body)
                while len(self.succeeded) > _TOKENS_KEPT:
                    self.succeeded.popitem(last=False)
            if succeeded:
                self.table_activity.served(target)
                self.queue_activity.served(target)
            return [body]


class _Dispatcher(DomainDispatcherApplication):
    """moto's dispatcher, which lists the folders of moto's package on every request to find the
    backend of its host (``backends.list_of_moto_modules``, ~5% of the local server's CPU under
    the contract fuzz): a host's backend never changes, so it is found once."""

    def __init__(self, create_app: Any) -> None:
        super().__init__(create_app)
        self._backends: dict[str | None, Any] = {}

    def get_backend_for_host(self, host: str | None) -> Any:
        if host not in self._backends:
            self._backends[host] = super().get_backend_for_host(host)
        return self._backends[host]


class EmbeddedDynamoDB:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, data_dir: Path | None = None) -> None:
        """``data_dir``: keep the data there (a journal replayed at start); None: in memory only."""
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        moto = _Dispatcher(create_backend_app)
        self.journal = persistence.DataDirectory(data_dir) if data_dir is not None else None
        self.replayed = self.journal.restore(moto) if self.journal else 0
        app = self._app = _Serialized(moto, self.journal)
        with self._listen(host, port) as listening:  # werkzeug serves on a duplicate of its descriptor
            self._server: BaseWSGIServer = make_server(host, port, app, threaded=True, fd=listening.fileno())
        self._thread = threading.Thread(target=self._server.serve_forever, name="dynamodb", daemon=True)

    def _listen(self, host: str, port: int) -> socket.socket:
        """The listening socket (werkzeug, left to bind, exits the process when the port is
        taken, saying only "Port 3001 is in use by another program")."""
        try:
            return socket.create_server((host, port), backlog=128)
        except OSError as error:
            if self.journal is not None:
                self.journal.close()
            raise RuntimeError(
                f"the embedded DynamoDB cannot listen on {host}:{port} ({error.strerror}); another local server "
                f"may have it: set DYNAMODB_PORT to a free port (0: any), or PORT to another (make run derives "
                f"DYNAMODB_PORT from it)"
            ) from None

    @property
    def requests(self) -> Counter[str]:
        """The requests served so far, by ``X-Amz-Target`` (e.g. ``DynamoDB_20120810.GetItem``)."""
        return self._app.requests

    @property
    def table_activity(self) -> Activity:
        """Wakes the change stream's reader when a table it serves changes (local/activity.py)."""
        return self._app.table_activity

    @property
    def queue_activity(self) -> Activity:
        """Wakes the job workers when a queue it serves gets a message (local/activity.py)."""
        return self._app.queue_activity

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> EmbeddedDynamoDB:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self.journal is not None:
            with self._app.lock:  # the last writes are in: keep them as a snapshot
                self.journal.snapshot()
                self.journal.close()


def create_tables(endpoint: str | None, table_name: str, idempotency_table_name: str) -> None:
    """Create both tables unless they exist (an external endpoint may already have them)."""
    client = boto3.client("dynamodb", endpoint_url=endpoint)
    existing = set(client.list_tables().get("TableNames", []))
    if table_name not in existing:
        client.create_table(**table.create_table_request(table_name))
    if idempotency_table_name not in existing:
        client.create_table(**table.create_idempotency_table_request(idempotency_table_name))


def migrate(endpoint: str | None, table_name: str, migrations: Sequence[Migration] = MIGRATIONS) -> None:
    """Run the pending schema migrations (registry/migrations) before serving, as a deployment
    runs them after the code is out: the local server's data is migrated at every start."""
    store = MigrationTable(boto3.client("dynamodb", endpoint_url=endpoint), table_name)
    for outcome in Runner(store).run(migrations).outcomes:
        if outcome.status is not Status.ALREADY_DONE:
            print(f"Migration {outcome.migration.label}: {outcome.status} ({outcome.rewritten} items rewritten)")
