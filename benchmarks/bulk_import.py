"""``make bench`` (last step): registering N devices (default 10,000) through the local server
with ``registry import`` (``POST /devices/batch``, 100 a request, 4 in flight), against N single
``POST /devices`` from the same client (httpx, 4 in flight): wall time of each, their ratio, and
the DynamoDB requests per device each way, by operation.

    .venv/bin/python -m benchmarks.bulk_import [--devices 10000]

The singles run first, so the import runs on the larger table (moto's costs grow with it): the
ratio is, if anything, understated. The counts are every request the embedded DynamoDB served
while each ran; they include the change-stream consumer's (stream reads, the fleet statistics'
updates), shown apart."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.fixtures import ROOT
from registry_cli.client import ApiError, Registry

STREAMS = "DynamoDBStreams_20120810."
IN_FLIGHT = 4


def _mac(run: int, n: int) -> str:
    return f"0e:00:{run:02x}:{n >> 16 & 255:02x}:{n >> 8 & 255:02x}:{n & 255:02x}"


def _body(run: int, n: int) -> dict[str, object]:
    return {
        "name": f"Bench device {n}",
        "device_type": "sensor",
        "mac_address": _mac(run, n),
        "ip_address": f"10.{run}.{n >> 8 & 255}.{n & 255}",
        "firmware_version": "1.4.2",
        "location": f"hall {n % 20}",
        "attributes": {"rack": f"r{n % 40}"},
    }


def _register(registry: Registry, n: int) -> None:
    try:
        registry.request("POST", "/devices", body=_body(1, n), idempotency_key=f"bench-{n}")
    except ApiError as error:
        # A retry of a registration made before its answer was lost (a loaded server's 503) finds
        # the MAC taken by it: registered all the same.
        if error.slug != "mac-address-taken":
            raise


def _csv(path: Path, run: int, devices: int) -> Path:
    with path.open("w") as file:
        file.write("name,device_type,mac_address,ip_address,firmware_version,location,attributes.rack\n")
        for n in range(devices):
            body = _body(run, n)
            row = [body["name"], body["device_type"], body["mac_address"], body["ip_address"]]
            row += [body["firmware_version"], body["location"], f"r{n % 40}"]
            file.write(",".join(str(cell) for cell in row) + "\n")
    return path


def _delta(after: Counter[str], before: Counter[str]) -> Counter[str]:
    return Counter({target: after[target] - before[target] for target in after if after[target] > before[target]})


def _per_device(requests: Counter[str], devices: int) -> str:
    table = sum(count for target, count in requests.items() if not target.startswith(STREAMS))
    stream = sum(count for target, count in requests.items() if target.startswith(STREAMS))
    detail = ", ".join(
        f"{target.rsplit('.', 1)[-1]} {count / devices:.2f}"
        for target, count in sorted(requests.items())
        if not target.startswith(STREAMS)
    )
    return f"{table / devices:.2f} table requests per device ({detail}); stream reads {stream / devices:.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bulk_import", description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=10_000)
    args = parser.parse_args(argv)
    from local.server import LocalApi  # it sets the environment the handlers read, as `make run` does

    api = LocalApi(port=0)
    threading.Thread(target=api.http.serve_forever, daemon=True).start()
    assert api.dynamodb is not None
    counts = api.dynamodb.requests
    registry = Registry(api.url)
    try:
        print(f"{args.devices:,} single POST /devices, {IN_FLIGHT} in flight ...", file=sys.stderr)
        before = Counter(counts)
        started = time.perf_counter()
        with ThreadPoolExecutor(IN_FLIGHT) as pool:
            list(pool.map(lambda n: _register(registry, n), range(args.devices)))
        singles = time.perf_counter() - started
        singles_requests = _delta(counts, before)

        with tempfile.TemporaryDirectory(prefix="bench-import-") as directory:
            source = _csv(Path(directory) / "fleet.csv", 2, args.devices)
            print(f"registry import of {args.devices:,} devices ...", file=sys.stderr)
            before = Counter(counts)
            started = time.perf_counter()
            cli = subprocess.run(
                [str(ROOT / ".venv" / "bin" / "registry"), "--url", api.url, "import", str(source)],
                stderr=subprocess.PIPE,
                text=True,
            )
            summary = [line for line in cli.stderr.splitlines() if "devices:" in line or "error" in line]
            if cli.returncode != 0:
                errors = source.with_name("fleet.errors.csv")
                print(cli.stderr[-2000:], errors.read_text()[:2000] if errors.exists() else "", file=sys.stderr)
            batched = time.perf_counter() - started
            batch_requests = _delta(counts, before)
    finally:
        registry.close()
        api.http.shutdown()
        api.http.server_close()
        api.stream.stop()
        api.dynamodb.stop()

    print(f"Registering {args.devices:,} devices through the local server")
    print(f"  single POST /devices:   {singles:8.1f} s  {args.devices / singles:7.0f} devices/s")
    print(f"  registry import:        {batched:8.1f} s  {args.devices / batched:7.0f} devices/s  ({' '.join(summary)})")
    print(f"  ratio (singles/import): {singles / batched:8.1f}x")
    print(f"  singles: {_per_device(singles_requests, args.devices)}")
    print(f"  batch:   {_per_device(batch_requests, args.devices)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
