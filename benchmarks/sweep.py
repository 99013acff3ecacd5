"""The liveness sweep's reads (issue 22): a fleet of ``--devices`` on moto in-process, ``--silent``
of them (1 % by default) past their deadline, one sweep; what it asked DynamoDB for. It must read
only the devices due — index entries read = devices due, whatever the fleet — and silence each.

    .venv/bin/python -m benchmarks.sweep [--devices 100 100000] [--silent 0.01]

The fleet is seeded straight into moto's table (each device's STATE and SEEN items as the service
writes them), not through the API: 100,000 registrations would take most of an hour here and
measure nothing the sweep reads. moto is the embedded DynamoDB's (``local/dynamodb.py``: an index
Query reads the items of its partition key, as DynamoDB does, where moto as it ships reads every
item of the table at every Query: 143 s for one sweep at 10,000 devices), with the same answers
(``tests/reliability/test_moto_indexes.py``)."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections import Counter
from typing import Any

import boto3
from moto import mock_aws

from benchmarks.cost import _insert
from benchmarks.fixtures import use_lambda_environment

TABLE = "devices-sweep-bench"
NOW = "2026-12-07T12:00:00.000Z"
PAST, FUTURE = "2026-12-07T11:55:00.000Z", "2026-12-07T12:10:00.000Z"


def _seed(table: Any, devices: int, silent: int) -> None:
    from registry.domain.records import Device, Seen
    from registry.storage.codec import encode
    from registry.storage.device_writes import _device_item
    from registry.storage.liveness import seen_item

    for n in range(devices):
        device_id = f"01a25000-0000-7000-8000-{n:012x}"
        device = Device(
            id=device_id,
            name=f"Device {n}",
            device_type="sensor",
            mac_address=f"02:00:{n >> 24 & 255:02x}:{n >> 16 & 255:02x}:{n >> 8 & 255:02x}:{n & 255:02x}",
            config_version=1,
            created_at="2026-12-07T10:00:00.000Z",
            updated_at="2026-12-07T10:00:00.000Z",
            status="online",
            status_version=2,
            status_updated_at="2026-12-07T10:00:00.000Z",
            revision=3,
            last_at="2026-12-07T10:00:00.000Z",
            liveness="reporting",
        )
        seen = Seen(device_id, "reporting", "2026-12-07T11:40:00.000Z", PAST if n < silent else FUTURE)
        _insert(table, encode(_device_item(device)))
        _insert(table, encode(seen_item(seen)))


def measure(devices: int, share: float) -> dict[str, Any]:
    from moto.dynamodb.models import dynamodb_backends

    import local.dynamodb  # noqa: F401  (patches moto's Query, items and transactions)
    from registry.devices.service import DeviceService
    from registry.devices.sweep import sweep
    from registry.storage import keys
    from registry.storage.devices import DeviceStore

    silent = max(1, round(devices * share))
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(**keys.create_table_request(TABLE))
        _seed(dynamodb_backends["123456789012"]["us-east-1"].get_table(TABLE), devices, silent)
        requests: Counter[str] = Counter()
        read = {"index entries": 0, "items re-read": 0}
        lock = threading.Lock()  # the sweep silences devices from several threads

        def count(model: Any, **_: Any) -> None:
            with lock:
                requests[model.name] += 1

        def after_query(parsed: dict[str, Any], model: Any, **kwargs: Any) -> None:
            name = "index entries" if kwargs.get("context", {}).get("index") else "items re-read"
            with lock:
                read[name] += parsed.get("ScannedCount", 0)

        def before_query(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            context["index"] = params.get("IndexName") == keys.DUE_BY_DEADLINE

        client.meta.events.register("before-call.dynamodb", count)
        client.meta.events.register("before-parameter-build.dynamodb.Query", before_query)
        client.meta.events.register("after-call.dynamodb.Query", after_query)
        service = DeviceService(DeviceStore(client, TABLE), clock=lambda: NOW)
        started = time.perf_counter()
        report = sweep(service)
        seconds = time.perf_counter() - started
        again = sweep(service)
    return {
        "devices": devices,
        "due": report.due,
        "silenced": report.silenced,
        "index Queries": keys.DUE_SHARDS,
        **read,
        "transactions": requests["TransactWriteItems"],
        "Scans": requests["Scan"],
        "next sweep finds": again.due,
        "seconds (moto)": round(seconds, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sweep", description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, nargs="+", default=[100, 100_000])
    parser.add_argument("--silent", type=float, default=0.01, help="share of the fleet past its deadline")
    args = parser.parse_args(argv)
    use_lambda_environment()
    rows = []
    for devices in args.devices:
        print(f"sweep at {devices:,} devices ...", file=sys.stderr)
        rows.append(measure(devices, args.silent))
    header = list(rows[0])
    print(" | ".join(header))
    for row in rows:
        print(" | ".join(f"{row[name]:,}" if isinstance(row[name], int) else str(row[name]) for name in header))
        assert row["index entries"] == row["due"] == row["silenced"] and row["Scans"] == 0, row
        assert row["next sweep finds"] == 0, row
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
