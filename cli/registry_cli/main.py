"""The ``registry`` command line: typer for the commands and their --help, rich for the progress
bars and tables, httpx for HTTP. Exit codes: 0 done, 1 the server refused something (or some
rows failed), 2 usage errors (nothing sent), 130 interrupted."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from registry_cli import batches, exporting, fleet_jobs
from registry_cli.batch_jobs import RegisterDevices, ReportStatuses
from registry_cli.client import DEFAULT_URL, ApiError, Credentials, Registry, Unreachable, UsageError
from registry_cli.rows import DEVICES, REPORTS, Kind, Source
from registry_cli.times import EXAMPLES as TIME_EXAMPLES
from registry_cli.times import time_option

USAGE = 2
REFUSED = 1
INTERRUPTED = 130

app = typer.Typer(
    add_completion=False,
    help="Import, export and inspect the devices of a Device Registry.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)
err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


class Format(StrEnum):
    csv = "csv"
    jsonl = "jsonl"


class Kinds(StrEnum):
    config = "config"
    status = "status"
    liveness = "liveness"


class _Rate(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.completed / task.elapsed if task.finished and task.elapsed else task.speed
        return Text(f"{speed:,.0f}/s" if speed else "–/s", style="progress.data.speed")


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _Rate(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    )


@dataclass
class Connection:
    """Where the commands send their requests; a test may pass its own transport and sleep
    (``CliRunner().invoke(app, args, obj=Connection(transport=...))``)."""

    url: str = DEFAULT_URL
    transport: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] | None = None  # None: the client's own (Ctrl-C cuts it short)


@app.callback()
def _options(
    context: typer.Context,
    url: Annotated[
        str, typer.Option("--url", envvar="REGISTRY_URL", help="The API's base URL.", show_default=True)
    ] = DEFAULT_URL,
) -> None:
    """Authentication: REGISTRY_TOKEN (a bearer token), or REGISTRY_CLIENT_ID, REGISTRY_CLIENT_SECRET
    and REGISTRY_TOKEN_URL (client credentials, exchanged and cached until they expire)."""
    context.ensure_object(Connection).url = url


@contextmanager
def _registry(context: typer.Context) -> Iterator[Registry]:
    """The client, with every way a command can fail turned into a message and an exit code."""
    registry: Registry | None = None
    connection: Connection = context.ensure_object(Connection)
    try:
        registry = Registry(
            connection.url, Credentials.from_environment(), transport=connection.transport, sleep=connection.sleep
        )
        yield registry
    except (UsageError, ApiError, Unreachable) as error:  # an ApiError reads as its problem's detail
        err.print(f"[red]error:[/] {error}", highlight=False)
        raise typer.Exit(USAGE if isinstance(error, UsageError) else REFUSED) from None
    except KeyboardInterrupt:
        err.print("Interrupted.")
        raise typer.Exit(INTERRUPTED) from None
    finally:
        if registry is not None:
            registry.close()


def _print_json(value: Any) -> None:
    out.print_json(json.dumps(value, ensure_ascii=False)) if out.is_terminal else print(json.dumps(value, indent=2))


def _run_batches(context: typer.Context, file: Path, kind: Kind, job: batches.Job, format: Format | None) -> None:
    with _registry(context) as registry:
        source = Source(file, kind, format.value if format else None)
        with _progress() as progress:
            task = progress.add_task(f"{file.name}", total=source.total)
            summary = batches.run(registry, source, job, advance=lambda n: progress.advance(task, n))
    counts = summary.counts
    parts = [f"{outcome} {counts[outcome]:,}" for outcome in job.outcomes]
    parts.append(f"failed {counts[batches.FAILED]:,}")
    if counts[batches.NOT_SENT]:
        parts.append(f"not sent {counts[batches.NOT_SENT]:,}")
    err.print(f"{source.total:,} {kind.noun}s: " + ", ".join(parts) + ".", highlight=False)
    unaccounted = counts[batches.FAILED] + counts[batches.NOT_SENT]
    if unaccounted:
        err.print(
            f"{unaccounted:,} rows, each with its problem, are in {source.errors_path()}: fix them and import that "
            f"file (or this one again).",
            highlight=False,
        )
    if summary.stopped:
        err.print(f"[red]Stopped:[/] {summary.stopped}. Run the same command again to finish.", highlight=False)
        raise typer.Exit(INTERRUPTED if summary.interrupted else REFUSED)
    if unaccounted:
        raise typer.Exit(REFUSED)


FormatOption = Annotated[
    Format | None, typer.Option("--format", help="csv or jsonl (default: from the file's extension).")
]


@app.command("import", epilog="Example: registry import samples/devices.csv")
def import_(
    context: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV (header row) or JSON Lines file of devices.")],
    format: FormatOption = None,
) -> None:
    """Register the devices of FILE, 100 a request, a few requests at a time.

    CSV columns: name, device_type, mac_address (required), ip_address, firmware_version,
    serial_number, location, tags (separated by ;), attributes.<key>. JSON Lines: one
    registration body a line. Rows that fail go to FILE's stem + .errors.csv (or .jsonl) with their
    problem. Running it again after an interruption registers nothing twice: a device already
    registered with the same attributes counts as already present.
    Exit 0: every row is in; 1: some failed; 2: usage error (nothing sent); 130: interrupted."""
    _run_batches(context, file, DEVICES, RegisterDevices(), format)


@app.command(epilog="Example: registry report statuses.csv")
def report(
    context: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV or JSON Lines of device_id, status, reason.")],
    format: FormatOption = None,
) -> None:
    """Send the status reports of FILE, 100 a request (at most one per device in each).

    Failed rows go to FILE's stem + .errors.csv (or .jsonl). Exit 0, 1 (some failed), 2 (usage)."""
    _run_batches(context, file, REPORTS, ReportStatuses(), format)


def _filter(help: str) -> Any:
    return typer.Option(help=help, show_default=False)


@app.command(
    epilog="Example: registry export --device-type sensor -o sensors.csv; registry export --inventory -o fleet.csv"
)
def export(
    context: typer.Context,
    format: Annotated[Format, typer.Option("--format", help="csv or jsonl.")] = Format.csv,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="File to write (default: stdout).")] = None,
    device_type: Annotated[str | None, _filter("Only this device type.")] = None,
    status: Annotated[str | None, _filter("Only this status.")] = None,
    mac_address: Annotated[str | None, _filter("Only this MAC address (any spelling).")] = None,
    ip_address: Annotated[str | None, _filter("Only this IP address (any spelling).")] = None,
    firmware_version: Annotated[str | None, _filter("Only this firmware version.")] = None,
    location: Annotated[str | None, _filter("Only this location.")] = None,
    serial_number: Annotated[str | None, _filter("Only this serial number.")] = None,
    tag: Annotated[str | None, _filter("Only devices carrying this tag.")] = None,
    name_prefix: Annotated[str | None, _filter("Only names starting with this (case-sensitive).")] = None,
    liveness: Annotated[str | None, _filter("Only devices pending, reporting or silent.")] = None,
    inventory: Annotated[
        bool,
        typer.Option("--inventory", help="An inventory: each device's id first, its status last (not an import file)."),
    ] = False,
) -> None:
    """Write every device (every page), as a file that `registry import` takes back unchanged.

    Filters combine with AND; an unknown option is refused before anything is sent."""
    given = {
        "device_type": device_type,
        "status": status,
        "mac_address": mac_address,
        "ip_address": ip_address,
        "firmware_version": firmware_version,
        "location": location,
        "serial_number": serial_number,
        "tag": tag,
        "name_prefix": name_prefix,
        "liveness": liveness,
    }
    filters = {name: value for name, value in given.items() if value is not None}
    with _registry(context) as registry:
        file = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
        try:
            with _progress() as progress:
                # Unfiltered, the fleet statistics give the bar its end (seconds behind, an estimate).
                total = None if filters else registry.json("GET", "/devices/stats").get("total")
                task = progress.add_task("export", total=total)
                count = exporting.export(
                    registry, filters, format.value, file, lambda n: progress.advance(task, n), inventory=inventory
                )
        finally:
            if output:
                file.close()
    err.print(f"{count:,} devices exported{f' to {output}' if output else ''}.", highlight=False)


@app.command(epilog="Example: registry get 0193a6f0-…  --as-of 2026-11-27T06:00:00Z")
def get(
    context: typer.Context,
    device_id: Annotated[str, typer.Argument(metavar="ID", help="The device's id.")],
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help=f"The device as it was at this time: {TIME_EXAMPLES}.", callback=time_option()),
    ] = None,
) -> None:
    """Show a device's detail (now, or as of a past time), with its liveness and when it was last seen."""
    with _registry(context) as registry:
        detail = registry.json("GET", f"/devices/{device_id}", params={"as_of": as_of})
        status = registry.json("GET", f"/devices/{device_id}/status", params={"as_of": as_of})
        _print_json({**detail, "liveness": status.get("liveness"), "last_seen_at": status.get("last_seen_at")})


def _value(value: Any) -> str:
    """A changed field's value as a person reads it: text as it is, the rest as JSON."""
    if value is None:
        return "(none)"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _changes(changes: dict[str, Any]) -> str:
    return "\n".join(
        f"{field}: {_value(change.get('old'))} → {_value(change.get('new'))}" for field, change in changes.items()
    )


@app.command(epilog="Example: registry history 0193a6f0-… --kind status --since 24h")
def history(
    context: typer.Context,
    device_id: Annotated[str, typer.Argument(metavar="ID", help="The device's id.")],
    kind: Annotated[Kinds | None, typer.Option(help="Only config, status or liveness entries.")] = None,
    since: Annotated[
        str | None, typer.Option(help=f"From this time (inclusive): {TIME_EXAMPLES}.", callback=time_option())
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Before this time (exclusive), written as --since is.", callback=time_option())
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON entry a line instead of a table.")] = False,
) -> None:
    """List a device's history, oldest first (every page)."""
    query = {"kind": kind.value if kind else None, "since": since, "until": until, "order": "asc", "limit": 100}
    with _registry(context) as registry:
        for page in registry.pages(f"/devices/{device_id}/history", query):
            for entry in page:
                if as_json:
                    print(json.dumps(entry, ensure_ascii=False))
                else:
                    _print_entry(entry)


def _print_entry(entry: dict[str, Any]) -> None:
    """One entry as lines that read at 80 columns: the revision, its kind, its whole time and who,
    then each change on a line of its own (a long value wraps, the time is never cut)."""
    at = str(entry.get("at", "")).replace("T", " ").removesuffix("Z")
    out.print(
        Text(f"#{entry.get('revision')}  {entry.get('kind')}  {at} UTC  by {entry.get('changed_by')}", style="bold"),
        soft_wrap=False,
    )
    for line in _changes(entry.get("changes") or {}).splitlines():
        out.print(Text(f"    {line}"), soft_wrap=False)


@app.command(epilog="Example: registry diff 0193a6f0-… --from 1 --to 3")
def diff(
    context: typer.Context,
    device_id: Annotated[str, typer.Argument(metavar="ID", help="The device's id.")],
    from_: Annotated[int, typer.Option("--from", help="The revision to compare from.")],
    to: Annotated[int | None, typer.Option(help="The revision to compare to (default: the latest).")] = None,
) -> None:
    """Show what differs between two revisions of a device."""
    with _registry(context) as registry:
        _print_json(registry.json("GET", f"/devices/{device_id}/diff", params={"from": from_, "to": to}))


@app.command(epilog="Example: registry revert 0193a6f0-… --to 2 --reason 'bad firmware push'")
def revert(
    context: typer.Context,
    device_id: Annotated[str, typer.Argument(metavar="ID", help="The device's id.")],
    to: Annotated[int, typer.Option(help="The revision whose attributes become current again.")],
    reason: Annotated[str | None, typer.Option(help="Why (kept in the history entry).")] = None,
) -> None:
    """Make the attributes of an earlier revision current again (a new revision)."""
    body = {"to_revision": to, **({"reason": reason} if reason is not None else {})}
    with _registry(context) as registry:
        _print_json(_write(registry, "POST", f"/devices/{device_id}/revert", body))


@app.command(epilog="Example: registry status 0193a6f0-… maintenance --reason 'firmware upgrade'")
def status(
    context: typer.Context,
    device_id: Annotated[str, typer.Argument(metavar="ID", help="The device's id.")],
    value: Annotated[
        str | None,
        typer.Argument(
            metavar="[VALUE]", help="Set it: unknown, online, offline, maintenance, error or decommissioned."
        ),
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Why (with VALUE).")] = None,
) -> None:
    """Show a device's status, or set it to VALUE."""
    with _registry(context) as registry:
        if value is None:
            if reason is not None:
                raise UsageError("--reason goes with a VALUE to set.")
            _print_json(registry.json("GET", f"/devices/{device_id}/status"))
        else:
            body = {"status": value, **({"reason": reason} if reason is not None else {})}
            _print_json(_write(registry, "PUT", f"/devices/{device_id}/status", body))


def _write(registry: Registry, method: str, path: str, body: Any) -> Any:
    """A single write, safe to retry: one Idempotency-Key for all its attempts."""
    return registry.json(method, path, body=body, idempotency_key=f"cli-{uuid.uuid4()}")


# -- fleet jobs (docs/jobs.md) ----------------------------------------------------------------

job_app = typer.Typer(
    help="Change every device a query matches, watch it, cancel it, roll it back (docs/jobs.md).",
    no_args_is_help=True,
)
app.add_typer(job_app, name="job")
JobId = Annotated[str, typer.Argument(metavar="ID", help="The job's id.")]


@job_app.command(
    "create", epilog="Example: registry job create --filter location='Hall A' --set firmware_version=2.1 --dry-run"
)
def job_create(
    context: typer.Context,
    set_: Annotated[
        list[str],
        typer.Option(
            "--set",
            help="NAME=VALUE to change (repeat): attributes.KEY=VALUE one attribute, tags=a;b the whole set, "
            "NAME= clears it.",
        ),
    ],
    filter_: Annotated[
        list[str] | None,
        typer.Option("--filter", help="NAME=VALUE, a filter of GET /devices (repeat: all must match)."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Change nothing; the results say what would.")] = False,
    every: Annotated[bool, typer.Option("--all", help="Every device (no --filter).")] = False,
    watch: Annotated[bool, typer.Option("--watch", help="Then watch it to its end, as `registry job watch`.")] = False,
) -> None:
    """Start a job: PATCH every device matching the filters (those matching when it starts).

    Prints the job; `registry job watch ID` follows it. Exit 2: usage error (no job made)."""
    with _registry(context) as registry:
        body = fleet_jobs.request(filter_ or [], set_, dry_run=dry_run, every=every)  # a usage error: nothing sent
        job = _write(registry, "POST", "/jobs", body)
        _print_json(job)
        if watch:
            _watch(registry, job["id"])
        else:
            err.print(f"Watch it: registry job watch {job['id']}", highlight=False)


def _watch(registry: Registry, job_id: str) -> None:
    with _progress() as progress:
        task = progress.add_task(f"job {job_id[:8]}", total=None)

        def show(job: Any) -> None:
            matched = job["counts"]["matched"]
            progress.update(task, total=matched or None, completed=fleet_jobs.done(job), description=job["state"])

        job = fleet_jobs.watch(registry, job_id, sleep=registry.sleep, progress=show)
    err.print(fleet_jobs.summary(job), highlight=False)
    if job["state"] != "succeeded":
        if job["counts"]["failed"]:
            err.print(f"Why: registry job results {job_id} --outcome failed", highlight=False)
        raise typer.Exit(REFUSED)


@job_app.command("watch", epilog="Example: registry job watch 0193a6f0-…")
def job_watch(context: typer.Context, job_id: JobId) -> None:
    """Show a job's progress until it finishes, then its counts.

    Exit 0: succeeded; 1: completed with failures, cancelled or failed."""
    with _registry(context) as registry:
        _watch(registry, job_id)


class Outcomes(StrEnum):
    changed = "changed"
    unchanged = "unchanged"
    failed = "failed"
    skipped = "skipped"
    would_change = "would_change"


@job_app.command("results", epilog="Example: registry job results 0193a6f0-… --outcome failed")
def job_results(
    context: typer.Context,
    job_id: JobId,
    outcome: Annotated[Outcomes | None, typer.Option(help="Only the devices with this outcome.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON result a line instead of lines to read.")] = False,
) -> None:
    """List what a job did to each device (every page): its outcome, and the changes or the problem."""
    query = {"outcome": outcome.value if outcome else None, "limit": 100}
    with _registry(context) as registry:
        for page in registry.pages(f"/jobs/{job_id}/results", query):
            for result in page:
                if as_json:
                    print(json.dumps(result, ensure_ascii=False))
                    continue
                revision = f"  revision {result['revision']}" if result.get("revision") else ""
                out.print(Text(f"{result['device_id']}  {result['outcome']}{revision}", style="bold"), soft_wrap=False)
                detail = (result.get("problem") or {}).get("detail")
                for line in [detail] if detail else _changes(result.get("changes") or {}).splitlines():
                    out.print(Text(f"    {line}"), soft_wrap=False)


@job_app.command("cancel", epilog="Example: registry job cancel 0193a6f0-…")
def job_cancel(context: typer.Context, job_id: JobId) -> None:
    """Stop a job before its next chunk (what it did stays done). Exit 1 once it has finished."""
    with _registry(context) as registry:
        _print_json(_write(registry, "POST", f"/jobs/{job_id}/cancel", {}))


@job_app.command("rollback", epilog="Example: registry job rollback 0193a6f0-… --watch")
def job_rollback(
    context: typer.Context,
    job_id: JobId,
    watch: Annotated[bool, typer.Option("--watch", help="Then watch the rollback job to its end.")] = False,
) -> None:
    """Undo a finished job: a new job setting back exactly the fields it changed, skipping (and naming)
    any device where a later revision changed one of them."""
    with _registry(context) as registry:
        job = _write(registry, "POST", f"/jobs/{job_id}/rollback", {})
        _print_json(job)
        if watch:
            _watch(registry, job["id"])
        else:
            err.print(f"Watch it: registry job watch {job['id']}", highlight=False)


def run() -> None:
    """The console script's entry point."""
    app(prog_name="registry")
