"""``python -m registry.storage.migrations`` (``make migrate``): run the pending migrations on a table
at any DynamoDB endpoint, list what the ledger records, or count what a run would rewrite.

    python -m registry.storage.migrations --table device-registry-local --endpoint http://127.0.0.1:3001
    python -m registry.storage.migrations --table DeviceRegistry-prod-... --list      # AWS credentials

Without ``--endpoint``, boto3's own settings apply (``AWS_ENDPOINT_URL_DYNAMODB``, else AWS).
Migration 3 awaits old devices for the deployment's liveness window: set ``LIVENESS_RESOLUTION_S``,
``MISSED_REPORTS`` and ``DEFAULT_REPORT_INTERVAL_S`` as the stage's functions have them (else AWS's
defaults, registry/settings.py). The local server runs its pending migrations itself at start,
with its own numbers.
Ctrl-C stops at any time: the next run resumes from the last page the ledger recorded."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from registry.storage.migrations.catalog import MIGRATIONS
from registry.storage.migrations.dynamodb import CLIENT_CONFIG, MigrationTable
from registry.storage.migrations.ledger import LedgerEntry
from registry.storage.migrations.runner import (
    DEFAULT_PAGE_SIZE,
    DEFAULT_RATE,
    MigrationError,
    Report,
    Runner,
    RunOptions,
)

PROGRESS_EVERY_SECONDS = 5.0
DESCRIPTION = "Run the pending schema migrations of the device table (registry/migrations)."


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m registry.storage.migrations", description=DESCRIPTION)
    parser.add_argument("--table", required=True, help="the device table's name")
    parser.add_argument("--endpoint", help="a DynamoDB-compatible endpoint URL (default: boto3's)")
    parser.add_argument("--rate", type=float, default=DEFAULT_RATE, help="items read per second, at most")
    parser.add_argument("--page-size", type=int, default=DEFAULT_PAGE_SIZE, help="items per Scan page")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--dry-run", action="store_true", help="count what would be rewritten; write nothing")
    action.add_argument("--list", action="store_true", help="show the registered migrations and the ledger")
    return parser.parse_args(argv)


def describe(entry: LedgerEntry) -> str:
    when = f"finished {entry.finished_at}" if entry.finished_at else f"started {entry.started_at}"
    return (
        f"{entry.state}: {entry.scanned} items read, {entry.updated} rewritten, "
        f"{entry.pages} pages, {entry.runs} run(s), {when}"
    )


def list_ledger(entries: list[LedgerEntry]) -> None:
    recorded = {entry.number: entry for entry in entries}
    if not MIGRATIONS and not recorded:
        print("No migration is registered and the ledger is empty.")
    for migration in MIGRATIONS:
        entry = recorded.pop(migration.number, None)
        print(f"{migration.label}: {describe(entry) if entry else 'pending'}")
    for number, entry in sorted(recorded.items()):
        print(f"{number:04d}_{entry.name} (no longer registered): {describe(entry)}")


def print_report(report: Report) -> None:
    if not report.outcomes:
        print("No migration is registered: nothing to run.")
    for outcome in report.outcomes:
        line = f"{outcome.migration.label}: {outcome.status}"
        if outcome.scanned or outcome.rewritten:
            line += f" ({outcome.scanned} items read, {outcome.rewritten} rewritten by this run)"
        print(line)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    client = boto3.client("dynamodb", endpoint_url=arguments.endpoint, config=CLIENT_CONFIG)
    store = MigrationTable(client, arguments.table)
    last_printed = time.monotonic()

    def progress(entry: LedgerEntry) -> None:
        nonlocal last_printed
        if entry.done or time.monotonic() - last_printed >= PROGRESS_EVERY_SECONDS:
            print(f"  {entry.number:04d}_{entry.name}: {describe(entry)}", flush=True)
            last_printed = time.monotonic()

    try:
        ledger = store.ledgers()  # first, so that an unreachable endpoint or a missing table says so
    except (ClientError, BotoCoreError) as error:
        where = f"table {arguments.table} at {arguments.endpoint or 'the default endpoint'}"
        print(
            f"Cannot read {where}: {error} (for the local server's data, `make run` must be running).", file=sys.stderr
        )
        return 1
    if arguments.list:
        list_ledger(ledger)
        return 0
    try:
        options = RunOptions(rate=arguments.rate, page_size=arguments.page_size, dry_run=arguments.dry_run)
        report = Runner(store, progress=progress).run(MIGRATIONS, options)
    except KeyboardInterrupt:
        print("Stopped: the next run resumes from the last page recorded.", file=sys.stderr)
        return 130
    except (MigrationError, ClientError, BotoCoreError) as error:
        print(f"Migration failed: {error}. The next run resumes from the last page recorded.", file=sys.stderr)
        return 1
    print_report(report)
    return 0 if report.complete else 3


if __name__ == "__main__":
    sys.exit(main())
