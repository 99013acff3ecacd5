"""Cold start: a fresh process per run imports a route function and serves its first event,
against the floor (boto3, a DynamoDB client, one GetItem) and the FastAPI + Mangum peer, all on
one embedded moto DynamoDB server. Runs are interleaved in a shuffled order every round.

Our functions run from their code assets as the stack stages them (infra/bytecode.py: the
asset's files and their unchecked-hash .pyc), so a cold start here compiles what one in AWS does.
The cold part alone, every route function: ``python -m benchmarks.cold [--rounds N]``."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

from benchmarks.fixtures import (
    COLD_ROUTE_NAMES,
    ROOT,
    ROUTE_NAMES,
    TABLE_NAME,
    Events,
    expected_status,
    lambda_environment,
    seed,
)

CHILD = ROOT / "benchmarks" / "child.py"
FLOOR = ("floor", "floor")
IMPORT_PROFILES = 3  # -X importtime runs per variant; each module's median self time is kept

Variant = tuple[str, str]  # (ours | peer | floor, route)

GROUPS = {
    "boto3": "boto3 + botocore",
    "botocore": "boto3 + botocore",
    "s3transfer": "boto3 + botocore",
    "urllib3": "boto3 + botocore",
    "jmespath": "boto3 + botocore",
    "dateutil": "boto3 + botocore",
    "pydantic": "pydantic",
    "pydantic_core": "pydantic",
    "annotated_types": "pydantic",
    "typing_extensions": "pydantic",
    "typing_inspection": "pydantic",
    "aws_lambda_powertools": "Powertools",
    "registry": "our code",
    "handlers": "our code",
    "fastapi": "FastAPI + Mangum",
    "starlette": "FastAPI + Mangum",
    "anyio": "FastAPI + Mangum",
    "sniffio": "FastAPI + Mangum",
    "mangum": "FastAPI + Mangum",
    "benchmarks": "FastAPI + Mangum",
}


@dataclass
class ImportProfile:
    """``-X importtime`` of one process: self time (µs) per module."""

    self_us: dict[str, int]

    @classmethod
    def parse(cls, stderr: str) -> ImportProfile:
        found: dict[str, int] = {}
        for line in stderr.splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            self_us, _, name = line.removeprefix("import time:").split("|")
            found[name.strip()] = int(self_us)
        return cls(found)

    @classmethod
    def median(cls, profiles: list[ImportProfile]) -> ImportProfile:
        names = set().union(*(profile.self_us for profile in profiles))
        return cls({name: int(median(p.self_us.get(name, 0) for p in profiles)) for name in names})

    def beyond(self, floor: ImportProfile) -> dict[str, int]:
        return {name: us for name, us in self.self_us.items() if name not in floor.self_us}

    @staticmethod
    def by_group(modules: dict[str, int]) -> dict[str, int]:
        groups: dict[str, int] = defaultdict(int)
        for name, us in modules.items():
            groups[GROUPS.get(name.split(".")[0], "stdlib + other")] += us
        return dict(sorted(groups.items(), key=lambda item: -item[1]))


def compile_seconds(modules: list[str], repeat: int = 5) -> float:
    """What compiling these modules of ours from source costs (an asset without their .pyc pays it)."""
    sources = []
    for module in modules:
        path = ROOT / "functions" / Path(*module.split("."))
        file = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
        if file.is_file():
            sources.append((file.read_text(encoding="utf-8"), str(file)))
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for text, name in sources:
            compile(text, name, "exec")
        best = min(best, time.perf_counter() - started)
    return best


class StoreClock:
    """Wraps the embedded DynamoDB's WSGI app to add up the time it spends answering: moto is
    far slower than DynamoDB (a 50-item Query takes it tens of milliseconds), so that time is
    taken out of every variant's cold start, the floor's included."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seconds = 0.0
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        started = time.perf_counter()
        try:
            return list(self.app(environ, start_response))
        finally:
            with self.lock:
                self.seconds += time.perf_counter() - started


@dataclass
class ColdResult:
    rounds: int
    seconds: dict[Variant, list[float]] = field(default_factory=dict)  # spawn to first answer, minus store
    store_seconds: dict[Variant, list[float]] = field(default_factory=dict)  # what moto took meanwhile
    imports: dict[Variant, ImportProfile] = field(default_factory=dict)
    bytecode: bool = True  # our functions ran from their staged assets, .pyc included
    # The process's own CPU time (user + system), spawn to exit: what the machine's load does not
    # stretch, unlike the wall-clock figures (which stay the result); moto answers in this process.
    cpu_seconds: dict[Variant, list[float]] = field(default_factory=dict)

    def median(self, variant: Variant) -> float:
        return median(self.seconds[variant])

    def ratio(self, variant: Variant) -> float:
        return self.median(variant) / self.median(FLOOR)

    def cpu_ratio(self, variant: Variant) -> float:
        return median(self.cpu_seconds[variant]) / median(self.cpu_seconds[FLOOR])


def _payload(events: Events, variant: Variant) -> str:
    import json

    kind, route = variant
    if kind == "floor":
        # The GetItem key, built here so that the floor imports nothing of ours.
        from boto3.dynamodb.types import TypeSerializer

        from registry.storage import keys

        key = keys.device_key(events.seeded.device_id)
        return json.dumps({name: TypeSerializer().serialize(value) for name, value in key.items()})
    return json.dumps(events.event(route))


def staged_assets(routes: tuple[str, ...]) -> dict[str, Path]:
    """Each route function's code asset as the stack stages it (files and bytecode)."""
    from infra import FUNCTIONS_DIR
    from infra.bytecode import stage
    from infra.functions import asset_excludes
    from registry.http.routes import route_for

    return {route: stage(FUNCTIONS_DIR, asset_excludes(route_for(route))) for route in routes}


def _without_bytecode(asset: Path) -> Path:
    """A copy of the staged asset without its ``__pycache__`` folders: what the stack shipped before."""
    import shutil
    import tempfile

    copy = Path(tempfile.mkdtemp(prefix="function-source-")) / "asset"
    shutil.copytree(asset, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def _children_cpu() -> float:
    """User + system CPU seconds of every child process this one has waited for (runs are one at a time)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(variant: Variant, payload: str, env: dict[str, str], importtime: bool = False) -> tuple[float, str]:
    kind, route = variant
    if kind in ("ours", "source"):  # the asset on the path instead of functions/ (as /var/task in Lambda)
        env = {**env, "PYTHONPATH": f"{env[f'ASSET_{kind}_{route}']}:{ROOT}"}
    command = [sys.executable, *(["-X", "importtime"] if importtime else []), str(CHILD), kind, route]
    started = time.perf_counter()
    process = subprocess.run(command, input=payload, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    elapsed = time.perf_counter() - started
    expected = 200 if kind == "floor" else expected_status(route)
    if process.returncode != 0 or f"status={expected}" not in process.stdout:
        raise RuntimeError(f"{kind} {route} failed:\n{process.stdout[-2000:]}\n{process.stderr[-4000:]}")
    return elapsed, process.stderr


def measure(
    rounds: int,
    progress: bool = True,
    *,
    peers: bool = True,
    importtime: bool = True,
    source: tuple[str, ...] = (),
    routes: tuple[str, ...] = COLD_ROUTE_NAMES,
) -> ColdResult:
    """``source``: routes also run from their asset without its bytecode (the lever, side by side)."""
    import boto3

    from local.dynamodb import EmbeddedDynamoDB, create_tables
    from registry.devices.service import DeviceService
    from registry.storage.devices import DeviceStore

    server = EmbeddedDynamoDB()
    clock = StoreClock(server._server.app)  # the server's WSGI app, wrapped before it serves
    server._server.app = clock
    server.start()
    try:
        env = lambda_environment(server.endpoint)
        staged = staged_assets(tuple(dict.fromkeys(routes + source)))
        env.update({f"ASSET_ours_{route}": str(path) for route, path in staged.items()})
        env.update({f"ASSET_source_{route}": str(_without_bytecode(staged[route])) for route in source})
        create_tables(server.endpoint, TABLE_NAME, env["IDEMPOTENCY_TABLE_NAME"])
        client = boto3.client("dynamodb", endpoint_url=server.endpoint)
        events = Events(seed(DeviceService(DeviceStore(client, TABLE_NAME)), deletable=2 * (rounds + IMPORT_PROFILES)))
        variants: list[Variant] = [FLOOR, *(("ours", r) for r in routes)]
        variants += [("peer", r) for r in ROUTE_NAMES] if peers else []
        variants += [("source", r) for r in source]
        result = ColdResult(rounds, {v: [] for v in variants}, {v: [] for v in variants})
        result.cpu_seconds = {v: [] for v in variants}
        for variant in variants if importtime else []:  # untimed, with -X importtime: where the time goes
            profiles = [
                ImportProfile.parse(_run(variant, _payload(events, variant), env, importtime=True)[1])
                for _ in range(IMPORT_PROFILES)
            ]
            result.imports[variant] = ImportProfile.median(profiles)
        shuffler = random.Random(2026)
        for n in range(rounds):
            order = variants[:]
            shuffler.shuffle(order)
            for variant in order:
                payload = _payload(events, variant)
                clock.seconds = 0.0
                cpu_before = _children_cpu()
                elapsed, _ = _run(variant, payload, env)
                result.cpu_seconds[variant].append(_children_cpu() - cpu_before)
                result.seconds[variant].append(elapsed - clock.seconds)
                result.store_seconds[variant].append(clock.seconds)
            if progress:
                print(f"  cold start: round {n + 1}/{rounds}", file=sys.stderr, flush=True)
        return result
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    """The cold part of ``make bench`` alone: every route function against the floor."""
    import argparse

    from benchmarks.fixtures import use_lambda_environment

    parser = argparse.ArgumentParser(prog="python -m benchmarks.cold", description=main.__doc__)
    parser.add_argument("--rounds", type=int, default=10, help="cold starts per variant (interleaved)")
    parser.add_argument("--no-peers", action="store_true", help="our functions and the floor only")
    parser.add_argument("--no-profiles", action="store_true", help="skip the untimed -X importtime runs")
    parser.add_argument("--source", nargs="*", default=[], help="routes also run without the asset's bytecode")
    parser.add_argument("--routes", nargs="*", default=list(COLD_ROUTE_NAMES), help="our functions to measure")
    args = parser.parse_args(argv)
    use_lambda_environment()
    from benchmarks import report

    result = measure(
        args.rounds,
        peers=not args.no_peers,
        importtime=not args.no_profiles,
        source=tuple(args.source),
        routes=tuple(args.routes),
    )
    print(report.cold_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
