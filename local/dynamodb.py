"""An embedded DynamoDB: moto's server on a free loopback port, with the tables created from
``registry.table``. Requests are served one at a time, as DynamoDB applies each request
atomically; moto's backend alone would let concurrent transactions interleave."""

from __future__ import annotations

import copy
import io
import json
import logging
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Sequence
from typing import Any

import boto3
from moto.dynamodb.models.table import Table
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from registry import table
from registry.migrations import MIGRATIONS, Migration
from registry.migrations.dynamodb import MigrationTable
from registry.migrations.runner import Runner, Status


def _copy_for_rollback(table: Any, memo: dict[int, Any]) -> Any:
    """moto snapshots every table a transaction touches with ``copy.deepcopy``, which made each
    write cost O(table size) (~100 ms at a few hundred items). Items are replaced, not changed in
    place, by the puts and deletes the registry's transactions make, so a copy of the key
    structure and of each item's attribute map restores the table just as well."""
    clone = copy.copy(table)
    clone.items = defaultdict(dict)
    for hash_key, value in table.items.items():
        if isinstance(value, dict):
            clone.items[hash_key] = {key: _copy_item(item) for key, item in value.items()}
        else:
            clone.items[hash_key] = _copy_item(value)
    return clone


def _copy_item(item: Any) -> Any:
    clone = copy.copy(item)
    clone.attrs = dict(item.attrs)
    return clone


Table.__deepcopy__ = _copy_for_rollback  # type: ignore[attr-defined]
_TOKENS_KEPT = 10_000  # DynamoDB honours a token for 10 minutes


def _transaction_token(environ: dict[str, Any]) -> str | None:
    """The ``ClientRequestToken`` of a TransactWriteItems request (its body is put back)."""
    if not environ.get("HTTP_X_AMZ_TARGET", "").endswith(".TransactWriteItems"):
        return None
    raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    environ["wsgi.input"] = io.BytesIO(raw)
    token = json.loads(raw or b"{}").get("ClientRequestToken")
    return str(token) if token else None


class _Serialized:
    """One request at a time; and, as DynamoDB does and moto does not, a transaction resent with
    the ClientRequestToken of one that succeeded succeeds again without being applied twice
    (botocore puts a token in every TransactWriteItems and resends it when it retries, e.g.
    after a read timeout)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.succeeded: OrderedDict[str, tuple[str, list[tuple[str, str]], bytes]] = OrderedDict()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        with self.lock:
            token = _transaction_token(environ)
            if token is not None and token in self.succeeded:
                status, headers, body = self.succeeded[token]
                start_response(status, headers)
                return [body]
            answered: list[Any] = []

            def keep(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
                answered[:] = [status, headers]
                return start_response(status, headers, exc_info)

            body = b"".join(self.app(environ, keep))
            if token and answered and answered[0].startswith("200"):
                self.succeeded[token] = (answered[0], answered[1], body)
                while len(self.succeeded) > _TOKENS_KEPT:
                    self.succeeded.popitem(last=False)
            return [body]


class EmbeddedDynamoDB:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        app = _Serialized(DomainDispatcherApplication(create_backend_app))
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="dynamodb", daemon=True)

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
