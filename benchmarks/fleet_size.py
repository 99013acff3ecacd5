"""``make bench``: the local server at fleet size. Reads on an empty registry first (one device),
then the same reads after registering N devices (default 10,000, ``POST /devices/batch``, 100 a
request): median ms of ``GET /devices/{id}``, ``GET /devices/{id}/history`` and a two-filter list
page (``device_type`` + ``firmware_version``), and each one's ratio to the empty registry, once the
local change-stream publisher has caught up with the registrations. Then
``registry export`` at that size: devices/s reading pages of details (``view=detail``, one request
per 100 devices) against the per-device path it replaced (a summary page, then one ``GET`` per
device, 8 in flight), both in this run, on the same server.

    .venv/bin/python -m benchmarks.fleet_size [--devices 10000] [--rounds 21] [--baseline-devices 1000]"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from registry_cli import exporting
from registry_cli.client import Registry

DEVICE_TYPES = ("sensor", "gateway", "camera")
FIRMWARE = tuple(f"2.{n}.0" for n in range(7))
BATCH = 100
IN_FLIGHT = 4
DETAILS_IN_FLIGHT = 8  # what the per-device export ran with


def _body(n: int) -> dict[str, Any]:
    return {
        "name": f"Fleet device {n}",
        "device_type": DEVICE_TYPES[n % len(DEVICE_TYPES)],
        "mac_address": f"0e:01:00:{n >> 16 & 255:02x}:{n >> 8 & 255:02x}:{n & 255:02x}",
        "firmware_version": FIRMWARE[n % len(FIRMWARE)],
        "location": f"hall {n % 20}",
        "attributes": {"rack": f"r{n % 40}"},
    }


def _register(registry: Registry, start: int, stop: int) -> None:
    with ThreadPoolExecutor(IN_FLIGHT) as pool:
        list(
            pool.map(
                lambda first: registry.request(
                    "POST",
                    "/devices/batch",
                    body={"devices": [_body(n) for n in range(first, min(first + BATCH, stop))]},
                    idempotency_key=f"fleet-size-{first}",
                ),
                range(start, stop, BATCH),
            )
        )


def _median_ms(call: Callable[[], Any], rounds: int) -> float:
    call()  # the first answer warms the route's execution environment
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def _reads(registry: Registry, device_id: str, rounds: int) -> dict[str, float]:
    two_filters = {"device_type": DEVICE_TYPES[0], "firmware_version": FIRMWARE[3]}
    return {
        "GET /devices/{id}": _median_ms(lambda: registry.request("GET", f"/devices/{device_id}"), rounds),
        "GET /devices/{id}/history": _median_ms(
            lambda: registry.request("GET", f"/devices/{device_id}/history"), rounds
        ),
        "GET /devices?device_type&firmware_version": _median_ms(
            lambda: registry.request("GET", "/devices", params=two_filters), rounds
        ),
    }


def _per_device_details(registry: Registry, most: int) -> Iterator[dict[str, Any]]:
    """The export's path before detail pages: summaries, then each device's detail."""
    yielded = 0
    with ThreadPoolExecutor(DETAILS_IN_FLIGHT) as pool:
        for page in registry.pages("/devices", {"limit": exporting.PAGE_SIZE}):
            for detail in pool.map(lambda s: registry.json("GET", f"/devices/{s['id']}"), page):
                yield detail
                yielded += 1
                if yielded >= most:
                    return


def _caught_up(stream: Any) -> None:
    """Until the local change-stream publisher has published every registration (two polls of
    every shard found nothing new): it shares the embedded DynamoDB's one request at a time, so
    reads measured while it catches up measure its backlog (~10,000 records), not the reads."""
    seen = stream.idle_rounds
    while stream.idle_rounds < seen + 2:
        time.sleep(0.2)


def _per_page(used: Counter[str], pages: int) -> str:
    """The table's requests (not the change stream's polls) per page, e.g. ``1 Query + 1 BatchGetItem``."""
    table = {t.rsplit(".", 1)[-1]: n for t, n in used.items() if t.startswith("DynamoDB_")}
    return " + ".join(f"{n / pages:.3g} {name}" for name, n in sorted(table.items())) if pages else "none"


def _rate(export: Callable[[], int]) -> tuple[int, float]:
    started = time.perf_counter()
    count = export()
    return count, count / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fleet_size", description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=21, help="timed requests per read (median)")
    parser.add_argument("--baseline-devices", type=int, default=1_000, help="devices the per-device export reads")
    args = parser.parse_args(argv)
    from local.server import LocalApi  # it sets the environment the handlers read, as `make run` does

    api = LocalApi(port=0)
    threading.Thread(target=api.http.serve_forever, daemon=True).start()
    registry = Registry(api.url)
    try:
        _register(registry, 0, 1)
        device_id = registry.json("GET", "/devices", params={"limit": 1})["items"][0]["id"]
        for n in range(20):  # a history page of 20 entries
            registry.request("PUT", f"/devices/{device_id}/status", body={"status": ("online", "offline")[n % 2]})
        print("reads on an empty registry ...", file=sys.stderr)
        empty = _reads(registry, device_id, args.rounds)
        print(f"registering {args.devices - 1:,} more devices ...", file=sys.stderr)
        started = time.perf_counter()
        _register(registry, 1, args.devices)
        seeded = time.perf_counter() - started
        print("change stream catching up ...", file=sys.stderr)
        started = time.perf_counter()
        _caught_up(api.stream)
        caught_up = time.perf_counter() - started
        print("reads at fleet size ...", file=sys.stderr)
        full = _reads(registry, device_id, args.rounds)
        print("export ...", file=sys.stderr)
        before = Counter(api.dynamodb.requests) if api.dynamodb else Counter()
        paged = _rate(lambda: exporting.export(registry, {}, "jsonl", io.StringIO()))
        used = (Counter(api.dynamodb.requests) if api.dynamodb else Counter()) - before
        per_page = _per_page(used, -(-paged[0] // exporting.PAGE_SIZE))
        per_device = _rate(lambda: sum(1 for _ in _per_device_details(registry, args.baseline_devices)))
    finally:
        registry.close()
        api.http.shutdown()
        api.http.server_close()
        api.stream.stop()
        if api.dynamodb is not None:
            api.dynamodb.stop()

    print(
        f"The local server at {args.devices:,} devices (registered in {seeded:.0f} s, change stream caught up "
        f"{caught_up:.0f} s later), median of {args.rounds}"
    )
    print(f"  {'read':44} {'1 device':>10} {f'{args.devices:,} devices':>15} {'ratio':>7}")
    for name, ms in full.items():
        print(f"  {name:44} {empty[name]:8.1f} ms {ms:12.1f} ms {ms / empty[name]:6.1f}x")
    print(f"registry export at {args.devices:,} devices")
    print(f"  pages of details (view=detail): {paged[1]:7.0f} devices/s ({paged[0]:,} devices)")
    print(f"  one GET per device (before):    {per_device[1]:7.0f} devices/s ({per_device[0]:,} devices)")
    print(f"  ratio:                          {paged[1] / per_device[1]:7.1f}x")
    print(f"  DynamoDB requests per page of {exporting.PAGE_SIZE} details: {per_page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
