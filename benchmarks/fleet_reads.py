"""The reads of ``benchmarks.fleet_size`` without the HTTP server around them: the route handlers
themselves on the embedded DynamoDB's moto (``local/dynamodb.py``'s patches), in this process.
Median ms of ``GET /devices/{id}``, ``GET /devices/{id}/history`` (20 entries) and the two-filter
list page (``device_type`` + ``firmware_version``), on a registry of one device, then after
registering ``--devices`` (through the service, as ``POST /devices`` does), and each one's ratio.

What ``fleet_size`` adds — the local server's HTTP, its handler processes, the DynamoDB endpoint
on a socket and the change stream's catch-up after 10,000 registrations (~13 min here) — is left
out, so this one answers in minutes whether a change to the embedded DynamoDB made a read O(page)
or O(table).

    .venv/bin/python -m benchmarks.fleet_reads [--devices 10000] [--rounds 21]"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys

from benchmarks.fixtures import use_lambda_environment
from benchmarks.fleet_size import DEVICE_TYPES, FIRMWARE, _body, _median_ms

READS = ("GET /devices/{id}", "GET /devices/{id}/history", "GET /devices?device_type&firmware_version")


def measure(devices: int, rounds: int) -> dict[str, tuple[float, float]]:
    import boto3
    from moto import mock_aws

    import local.dynamodb  # noqa: F401  (the embedded DynamoDB's patches of moto)
    from local.proxy_events import LambdaContext, proxy_event
    from registry import wiring
    from registry.http.routes import route_for
    from registry.schemas import DeviceAttributes, StatusUpdate
    from registry.storage import keys

    with mock_aws():
        client = boto3.client("dynamodb")
        client.create_table(**keys.create_table_request(os.environ["TABLE_NAME"]))
        client.create_table(**keys.create_idempotency_table_request(os.environ["IDEMPOTENCY_TABLE_NAME"]))
        service = wiring.get_service()

        def call(name: str, path: str, query: str | None = None) -> None:
            route = route_for(name)
            event = proxy_event(route, path=path, path_parameters=route.match(path), query=query)
            handler = __import__(f"handlers.{name}", fromlist=["lambda_handler"]).lambda_handler
            answer = handler(event, LambdaContext())
            if answer["statusCode"] != 200:
                raise RuntimeError(f"{name} {path} answered {answer['statusCode']}: {answer.get('body')}")

        first = service.register(DeviceAttributes.model_validate(_body(0)), "bench")  # a sensor on FIRMWARE[0]
        for n in range(20):
            status = StatusUpdate(status=("online", "offline")[n % 2])
            service.report(first.id, status, expected=None, principal="bench")
        two_filters = f"device_type={DEVICE_TYPES[0]}&firmware_version={FIRMWARE[0]}"
        reads = {
            READS[0]: lambda: call("get_device", f"/devices/{first.id}"),
            READS[1]: lambda: call("list_history", f"/devices/{first.id}/history"),
            READS[2]: lambda: call("list_devices", "/devices", two_filters),
        }
        empty = {name: _median_ms(read, rounds) for name, read in reads.items()}
        print(f"registering {devices - 1:,} more devices ...", file=sys.stderr)
        for n in range(1, devices):
            service.register(DeviceAttributes.model_validate(_body(n)), "bench")
        full = {name: _median_ms(read, rounds) for name, read in reads.items()}
    return {name: (empty[name], full[name]) for name in reads}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fleet_reads", description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=21, help="timed calls per read (median)")
    args = parser.parse_args(argv)
    use_lambda_environment()
    with contextlib.redirect_stdout(io.StringIO()):  # the handlers' metric lines (EMF on stdout)
        rows = measure(args.devices, args.rounds)
    print(f"| read (handler + embedded DynamoDB, in-process) | 1 device, ms | {args.devices:,} devices, ms | ratio |")
    print("|---|---:|---:|---:|")
    for name, (empty, full) in rows.items():
        print(f"| `{name}` | {empty:.1f} | {full:.1f} | {full / empty:.2f}× |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
