"""docs/cost.md's monthly bills, computed from three things the page states: the DynamoDB units of
each operation per device (one table, which tests/integration/test_dynamodb_cost.py measures
from the code and compares), the workload, and us-east-1 list prices; and what each stage costs
a month before its first request, from the stage definitions themselves (infra/stage.py: cache
cluster, SnapStart, the functions' memory, the alarms).

    .venv/bin/python -m benchmarks.bill            # print the bills
    .venv/bin/python -m benchmarks.bill --write    # write them into docs/cost.md
    .venv/bin/python -m benchmarks.bill --check    # exit 1 if docs/cost.md differs from what they give

``make bench`` runs the units test and ``--check``: the page cannot drift from the code."""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "cost.md"
UNITS = ("<!-- units: measured by tests/integration/test_dynamodb_cost.py -->", "<!-- /units -->")
BILLS = ("<!-- bills: written by python -m benchmarks.bill --write -->", "<!-- /bills -->")
FIXED = ("<!-- fixed: written by python -m benchmarks.bill --write -->", "<!-- /fixed -->")
FLEETS = (1_000, 100_000, 1_000_000)
HOURS = 730  # a month, as AWS prices it
MONTH_S = 30 * 24 * 3600


@dataclass(frozen=True)
class Units:
    rru: float
    wru: float


@dataclass(frozen=True)
class Prices:
    """us-east-1 list prices in USD (docs/cost.md names each source and the date checked)."""

    # REST API requests a month: (up to this many, price each); tiered, like IoT Core messages
    gateway_tiers: tuple[tuple[float, float], ...] = (
        (333e6, 3.50 / 1e6),
        (1e9, 2.80 / 1e6),
        (20e9, 2.38 / 1e6),
        (float("inf"), 1.51 / 1e6),
    )
    gateway_cache_hour: float = 0.020  # 0.5 GB cache
    lambda_request: float = 0.20 / 1e6
    lambda_gb_s: float = 0.0000133334  # arm64, first 7.5 billion GB-s
    rru: float = 0.125 / 1e6  # on-demand
    wru: float = 0.625 / 1e6
    storage_gb: float = 0.25  # per GB-month, Standard table class
    event: float = 1.00 / 1e6  # EventBridge custom event (64 KB chunk)
    snapstart_cache_gb_s: float = 0.0000015046  # per GB-second of each SnapStart version's snapshot
    snapstart_restore_gb: float = 0.0001397998  # per GB restored (an environment started from it)
    alarm_metric: float = 0.10  # per standard-resolution alarm metric a month (each metric of a math alarm)
    kms_key: float = 1.00  # per customer-managed key a month
    log_ingest_gb: float = 0.50  # CloudWatch Logs ingestion (Standard class)
    iot_registry_op: float = 1.25 / 1e6  # IoT Core registry operation
    iot_shadow_op: float = 1.25 / 1e6  # Device Shadow operation (1 KB chunk)
    # IoT Core messages (5 KB chunk; an HTTPS request is one)
    iot_message_tiers: tuple[tuple[float, float], ...] = (
        (1e9, 1.00 / 1e6),
        (5e9, 0.80 / 1e6),
        (float("inf"), 0.70 / 1e6),
    )


def tiered(count: float, tiers: tuple[tuple[float, float], ...]) -> float:
    """The price of ``count`` units a month under volume tiers (each: up to this total, price each)."""
    total, below = 0.0, 0.0
    for ceiling, price in tiers:
        total += max(0.0, min(count, ceiling) - below) * price
        below = ceiling
    return total


@dataclass(frozen=True)
class Workload:
    """Per device and month (30 days)."""

    report_every_min: int = 5
    changed_share: float = 0.02  # of reports that change the status (or reason)
    registrations: float = 0.05  # new or replaced devices
    attribute_changes: float = 2.0
    reads: float = 30.0  # GET /devices/{id} by dashboards and operators, none served from the cache
    batch: int = 100  # reports per POST /status-reports, and devices per POST /devices/batch
    # Lambda: billed milliseconds of a warm invocation (assumed, not measured here) and memory.
    single_ms: float = 30.0  # one item at 512 MB (infra/functions.py MEMORY_MB)
    batch_ms: float = 400.0  # 100 items at 1,024 MB (BATCH_MEMORY_MB), 8 at a time
    publisher_ms: float = 200.0  # one stream batch at 256 MB (infra/change_events.py)
    events_per_publish: float = 10.0  # stream records per publisher invocation (steady trickle)
    stats_wru_per_publish: float = 6.0  # fleet statistics per stream batch (docs/capacity.md)
    kb_per_device: float = 6.0  # device item, MAC claim, index entries, created + config entries (×3 with LSIs)
    kb_per_status_entry: float = 2.0  # ~0.7 KB, stored in the table and both history LSIs
    retained_days: int = 30  # status_history_days: status entries kept this long
    # CloudWatch Logs bytes a request (python -m benchmarks.log_volume): the API's access log line,
    # the handler's own output (its EMF metrics; it logs nothing more on success, at INFO or DEBUG
    # alike), and Lambda's START/END/REPORT lines for each invocation.
    access_log_bytes: int = 685
    handler_log_bytes: int = 110
    platform_log_bytes: int = 259
    # New execution environments a day per SnapStart version, each a restore (assumed: scale-out
    # and Lambda recycling environments every few hours), and the daily keep-warm invocation.
    restores_per_version_day: float = 4.0

    @property
    def reports(self) -> float:
        return MONTH_S / 60 / self.report_every_min


def units(doc: Path = DOC) -> dict[str, Units]:
    """The units table of docs/cost.md: ``| `operation` | RRU | WRU | ... |`` per device."""
    section = _section(doc.read_text(encoding="utf-8"), UNITS)
    found = {}
    for match in re.finditer(r"^\| `(\w+)` \| ([\d.]+) \| ([\d.]+) \|", section, re.MULTILINE):
        found[match.group(1)] = Units(float(match.group(2)), float(match.group(3)))
    return found


def _section(text: str, markers: tuple[str, str]) -> str:
    start, end = text.index(markers[0]) + len(markers[0]), text.index(markers[1])
    return text[start:end]


Line = tuple[str, float, float, float]  # what, single reports, batched reports, IoT Core


def bill(devices: int, u: dict[str, Units], w: Workload = Workload(), p: Prices = Prices()) -> list[Line]:
    """The month's lines for ``devices``: our API with single reports, with batched reports, and
    AWS IoT Core (registry + Device Shadow) for the same work."""
    reports = devices * w.reports
    changes = reports * w.changed_share
    same = reports - changes
    registrations, edits, reads = devices * w.registrations, devices * w.attribute_changes, devices * w.reads
    requests_single = reports + registrations + edits + reads
    requests_batched = reports / w.batch + registrations / w.batch + edits + reads
    events = registrations + edits + changes
    publishes = events / w.events_per_publish

    def lambda_gb_s(single: float, batched: float) -> float:
        return (single * w.single_ms / 1000 * 0.5) + (batched * w.batch_ms / 1000 * 1.0)

    def capacity(kind: str, names: list[tuple[str, float]]) -> float:
        return sum(getattr(u[name], kind) * count for name, count in names)

    base = [("attribute_change", edits), ("read_device", reads)]
    single_ops = [*base, ("register", registrations), ("status_change", changes), ("status_unchanged", same)]
    batched_ops = [
        *base,
        ("register_batched_keyed", registrations),
        ("status_change_batched", changes),
        ("status_unchanged_batched", same),
    ]
    stats_wru = publishes * w.stats_wru_per_publish
    storage_gb = devices * (w.kb_per_device + w.kb_per_status_entry * changes / devices * w.retained_days / 30) / 1e6
    return [
        (
            "API Gateway requests",
            tiered(requests_single, p.gateway_tiers),
            tiered(requests_batched, p.gateway_tiers),
            0.0,
        ),
        ("API Gateway cache (0.5 GB, 730 h)", HOURS * p.gateway_cache_hour, HOURS * p.gateway_cache_hour, 0.0),
        (
            "Lambda requests (API + publisher)",
            (requests_single + publishes) * p.lambda_request,
            (requests_batched + publishes) * p.lambda_request,
            0.0,
        ),
        (
            "Lambda GB-s (API + publisher)",
            (lambda_gb_s(requests_single, 0) + publishes * w.publisher_ms / 1000 * 0.25) * p.lambda_gb_s,
            (lambda_gb_s(edits + reads, requests_batched - edits - reads) + publishes * w.publisher_ms / 1000 * 0.25)
            * p.lambda_gb_s,
            0.0,
        ),
        ("DynamoDB reads (RRU)", capacity("rru", single_ops) * p.rru, capacity("rru", batched_ops) * p.rru, 0.0),
        (
            "DynamoDB writes (WRU, statistics included)",
            (capacity("wru", single_ops) + stats_wru) * p.wru,
            (capacity("wru", batched_ops) + stats_wru) * p.wru,
            0.0,
        ),
        ("DynamoDB storage", storage_gb * p.storage_gb, storage_gb * p.storage_gb, 0.0),
        ("DynamoDB Streams (read by Lambda: free)", 0.0, 0.0, 0.0),
        ("EventBridge events", events * p.event, events * p.event, 0.0),
        (
            "CloudWatch Logs ingestion (access log + functions)",
            log_gb(requests_single, requests_single + publishes, w) * p.log_ingest_gb,
            log_gb(requests_batched, requests_batched + publishes, w) * p.log_ingest_gb,
            0.0,
        ),
        ("IoT Core registry (create, update, describe)", 0.0, 0.0, (registrations + edits + reads) * p.iot_registry_op),
        ("IoT Device Shadow updates", 0.0, 0.0, reports * p.iot_shadow_op),
        ("IoT Core messages (one per HTTPS report)", 0.0, 0.0, tiered(reports, p.iot_message_tiers)),
    ]


def log_gb(requests: float, invocations: float, w: Workload = Workload()) -> float:
    """GB written to CloudWatch Logs by ``requests`` API requests making ``invocations`` invocations."""
    return (requests * w.access_log_bytes + invocations * (w.handler_log_bytes + w.platform_log_bytes)) / 1e9


@dataclass(frozen=True)
class StageSize:
    """What a stage's fixed cost depends on, read from its definition (infra/stage.py)."""

    name: str
    cache_cluster: bool
    snapshot_gb: float  # the memory of the SnapStart versions, GB: what their snapshots hold
    versions: int
    alarm_metrics: int


def stage_sizes() -> list[StageSize]:
    from infra.functions import DOCS_ROUTE, memory_mb
    from infra.stage import STAGES
    from registry.http.routes import ROUTES

    snapshotted = [route for route in ROUTES if route != DOCS_ROUTE]
    sizes = []
    for stage in STAGES.values():
        sizes.append(
            StageSize(
                name=stage.name,
                cache_cluster=stage.cache_cluster,
                snapshot_gb=sum(memory_mb(route) for route in snapshotted) / 1024 if stage.snap_start else 0.0,
                versions=len(snapshotted) if stage.snap_start else 0,
                alarm_metrics=alarm_metrics(len(ROUTES)),
            )
        )
    return sizes


def alarm_metrics(routes: int) -> int:
    """The metrics infra/monitoring.py's alarms read: the API's 5xx; each route function's errors
    and throttles; both tables' read and write throttles; the publisher's errors and iterator age;
    the dead-letter queue's depth; the fleet jobs' failed-jobs count, their worker's errors and
    throttles and their dead-letter queue's depth; the console's sign-in trigger's errors and
    throttles; the liveness sweep's errors and invocations (tests/infra/test_monitoring.py counts
    them in the template)."""
    return 1 + 2 * routes + 4 + 2 + 1 + 4 + 2 + 2


def fixed_lines(size: StageSize, w: Workload = Workload(), p: Prices = Prices()) -> list[tuple[str, float]]:
    """A stage's monthly cost before its first request, line by line."""
    month_s = HOURS * 3600
    return [
        ("API Gateway cache cluster (0.5 GB, 730 h)", HOURS * p.gateway_cache_hour if size.cache_cluster else 0.0),
        (
            f"SnapStart cache ({size.versions} versions, {size.snapshot_gb:g} GB, 730 h)",
            size.snapshot_gb * month_s * p.snapstart_cache_gb_s,
        ),
        (
            f"SnapStart restores ({w.restores_per_version_day:g} a version a day)",
            size.snapshot_gb * w.restores_per_version_day * 30 * p.snapstart_restore_gb,
        ),
        (f"CloudWatch alarms ({size.alarm_metrics} alarm metrics)", size.alarm_metrics * p.alarm_metric),
        ("KMS key of the alarm topic", p.kms_key),
    ]


def render_fixed(w: Workload = Workload(), p: Prices = Prices()) -> str:
    """The fixed-cost table: a column per stage, a row per line, its total, then the logs' rate."""
    sizes = stage_sizes()
    columns = [fixed_lines(size, w, p) for size in sizes]
    request_bytes = w.access_log_bytes + w.handler_log_bytes + w.platform_log_bytes
    per_million = log_gb(1e6, 1e6, w) * p.log_ingest_gb
    rows = [
        f"| {lines[-1][0]} | " + " | ".join(_usd(column[i][1]) for column in columns) + " |"
        for i, lines in enumerate(zip(*columns, strict=True))
    ]
    totals = " | ".join(f"**{_usd(sum(amount for _, amount in column))}**" for column in columns)
    return "\n".join(
        [
            "| line | " + " | ".join(f"`{size.name}`" for size in sizes) + " |",
            "|---|" + "---:|" * len(sizes),
            *rows,
            f"| **fixed, per month** | {totals} |",
            f"| then per million requests: CloudWatch Logs ({request_bytes:,} bytes each, at INFO or DEBUG) | "
            + " | ".join(_usd(per_million) for _ in sizes)
            + " |",
        ]
    )


def per_million_reports(u: dict[str, Units], w: Workload = Workload(), p: Prices = Prices()) -> list[Line]:
    """What a million status reports cost, at the first price tiers: the request and its Lambda
    share (whole for single reports, a hundredth batched), the DynamoDB units and, for a change,
    its event."""
    first_gateway, first_message = p.gateway_tiers[0][1], p.iot_message_tiers[0][1]
    single = first_gateway + p.lambda_request + w.single_ms / 1000 * 0.5 * p.lambda_gb_s
    batched = (first_gateway + p.lambda_request + w.batch_ms / 1000 * 1.0 * p.lambda_gb_s) / w.batch
    shadow = p.iot_shadow_op + first_message
    rows = []
    for what, single_op, batched_op, event in (
        ("a report that changes nothing", "status_unchanged", "status_unchanged_batched", 0.0),
        ("a report that changes the status", "status_change", "status_change_batched", p.event),
    ):
        units_cost = {op: u[op].rru * p.rru + u[op].wru * p.wru for op in (single_op, batched_op)}
        rows.append(
            (
                what,
                1e6 * (single + units_cost[single_op] + event),
                1e6 * (batched + units_cost[batched_op] + event),
                1e6 * shadow,
            )
        )
    return rows


def render(u: dict[str, Units] | None = None) -> str:
    u = units() if u is None else u
    parts = [
        "\n".join(
            [
                "### A million status reports",
                "",
                "| report | single | batched by 100 | IoT Device Shadow |",
                "|---|---:|---:|---:|",
                *(f"| {what} | {_usd(a)} | {_usd(b)} | {_usd(c)} |" for what, a, b, c in per_million_reports(u)),
            ]
        )
    ]
    for devices in FLEETS:
        lines = bill(devices, u)
        rows = [f"| {what} | {_usd(single)} | {_usd(batched)} | {_usd(iot)} |" for what, single, batched, iot in lines]
        totals = [sum(line[i] for line in lines) for i in (1, 2, 3)]
        parts.append(
            "\n".join(
                [
                    f"### {devices:,} devices",
                    "",
                    "| line | single reports | batched by 100 | IoT Core: registry + Shadow |",
                    "|---|---:|---:|---:|",
                    *rows,
                    f"| **total per month** | **{_usd(totals[0])}** | **{_usd(totals[1])}** | **{_usd(totals[2])}** |",
                    f"| per device per month | {_usd(totals[0] / devices, 4)} | {_usd(totals[1] / devices, 4)} | "
                    f"{_usd(totals[2] / devices, 4)} |",
                ]
            )
        )
    return "\n\n".join(parts)


def _usd(amount: float, places: int = 2) -> str:
    return f"${amount:,.{places}f}"


def _write(doc: Path, text: str) -> str:
    text = _replace(text, BILLS, render(units(doc)))
    return _replace(text, FIXED, render_fixed())


def _replace(text: str, markers: tuple[str, str], generated: str) -> str:
    before, after = text.split(markers[0])[0], text.split(markers[1])[1]
    return f"{before}{markers[0]}\n{generated}\n{markers[1]}{after}"


def current(doc: Path = DOC) -> bool:
    """Whether ``doc``'s bills are what its units table, the workload and the prices give."""
    text = doc.read_text(encoding="utf-8")
    return _write(doc, text) == text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bill", description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help="write the bills into docs/cost.md")
    action.add_argument("--check", action="store_true", help="exit 1 if docs/cost.md's bills are not current")
    args = parser.parse_args(argv)
    text = DOC.read_text(encoding="utf-8")
    current = _write(DOC, text)
    if args.write:
        DOC.write_text(current, encoding="utf-8")
    elif args.check:
        if current != text:
            print("docs/cost.md: the bills differ from its units table: run python -m benchmarks.bill --write")
            return 1
        print("docs/cost.md: the bills follow from its units table")
    else:
        print(render())
        print()
        print(render_fixed())
    return 0


if __name__ == "__main__":
    sys.exit(main())
