"""The stack's one-off migration function (infra/migrations.py), not a route: it runs the
pending schema migrations (registry/migrations) on the device table. Invoked by hand after a
deployment that brings a migration (docs/deployment.md, "Schema migrations"):

    aws lambda invoke --function-name <MigrateFunctionName> --payload '{}' answer.json

It stops a minute before Lambda's timeout; ``complete: false`` in the answer means "invoke
again" (the ledger resumes where it stopped). The answer also lists the whole ledger. The
event's optional fields: ``dry_run`` (count, write nothing), ``rate`` (items read per second),
``page_size``."""

import gc
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from registry.settings import get_migration_settings
from registry.storage.migrations.catalog import MIGRATIONS
from registry.storage.migrations.dynamodb import CLIENT_CONFIG, MigrationTable
from registry.storage.migrations.ledger import LedgerEntry
from registry.storage.migrations.runner import DEFAULT_PAGE_SIZE, DEFAULT_RATE, Runner, RunOptions

# handlers/ pauses the garbage collector for a route's cold start; a long batch job wants it.
gc.enable()

# Time left when the function stops after its current page: a page (100 reads, up to 100
# conditional writes with retries) takes seconds, and the ledger write after it must land.
STOP_MARGIN_MS = 60_000
EVENT_FIELDS = frozenset({"dry_run", "rate", "page_size"})

logger = Logger()


@cache
def _table() -> MigrationTable:
    return MigrationTable(boto3.client("dynamodb", config=CLIENT_CONFIG), get_migration_settings().table_name)


def options(event: dict[str, Any]) -> RunOptions:
    """The run's options from the event; an unknown field is refused (a misspelt ``dry_run``
    must not run the migration for real)."""
    unknown = set(event) - EVENT_FIELDS
    if unknown:
        raise ValueError(f"unknown event fields {sorted(unknown)}; known: {sorted(EVENT_FIELDS)}")
    dry_run = event.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise ValueError("dry_run must be true or false")
    return RunOptions(
        rate=float(event.get("rate", DEFAULT_RATE)),
        page_size=int(event.get("page_size", DEFAULT_PAGE_SIZE)),
        dry_run=dry_run,
    )


def _progress(entry: LedgerEntry) -> None:
    logger.info(
        "migration page done",
        extra={
            "migration": entry.number,
            "state": entry.state.value,
            "scanned": entry.scanned,
            "updated": entry.updated,
        },
    )


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    runner = Runner(
        _table(),
        should_stop=lambda: context.get_remaining_time_in_millis() < STOP_MARGIN_MS,
        progress=_progress,
    )
    report = runner.run(MIGRATIONS, options(event or {}))
    # What the ledger records, registered migrations or not: the record of what ran.
    answer = {**report.as_dict(), "ledger": [entry.as_json() for entry in _table().ledgers()]}
    logger.info("migrations run", extra=answer)
    return answer
