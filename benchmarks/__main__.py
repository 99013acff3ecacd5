"""``make bench``: every benchmark in one run, one table on stdout, docs/performance.md rewritten.

    .venv/bin/python -m benchmarks [--rounds 10] [--warm-rounds 15] [--batch 30]
                                   [--fleet 100000] [--history 10000] [--no-docs]

Order: ``cdk synth`` and the DynamoDB cost run first (neither is timed, so they may share the
CPU), then the warm and cold timings, each alone."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.fixtures import ROOT, use_lambda_environment


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="cold starts per variant (interleaved)")
    parser.add_argument("--warm-rounds", type=int, default=15, help="warm batches per variant (interleaved)")
    parser.add_argument("--batch", type=int, default=30, help="invocations per warm batch")
    parser.add_argument("--fleet", type=int, default=100_000, help="devices in the large DynamoDB case")
    parser.add_argument("--history", type=int, default=10_000, help="history entries in the large case")
    parser.add_argument("--no-docs", action="store_true", help="print the table only; leave docs/ alone")
    args = parser.parse_args(argv)

    use_lambda_environment()
    from benchmarks import assets, cold, cost, report, warm
    from registry import settings, wiring

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-cdk-") as outdir:
        synth = _start_synth(assets, Path(outdir))
        cost.SIZES["large"] = (args.fleet, args.history)
        print("DynamoDB cost (moto, in-process) ...", file=sys.stderr)
        costs = cost.measure()
        print("asset sizes (cdk synth) ...", file=sys.stderr)
        sizes = assets.collect(synth, Path(outdir))
    for cache in (wiring.get_service, wiring.dynamodb_client, settings.get_settings):
        cache.cache_clear()
    print("warm overhead ...", file=sys.stderr)
    warm_result = warm.measure(args.warm_rounds, args.batch)
    print("cold start ...", file=sys.stderr)
    cold_result = cold.measure(args.rounds)
    results = report.Results(cold_result, warm_result, costs, sizes, time.perf_counter() - started, argv_text(argv))
    print(report.table(results))
    if not args.no_docs:
        path = ROOT / "docs" / "performance.md"
        path.write_text(report.document(results), encoding="utf-8")
        print(f"\nwrote {path.relative_to(ROOT)}", file=sys.stderr)
    return 0


def _start_synth(assets: object, outdir: Path) -> object:
    try:
        return assets.synth(outdir)  # type: ignore[attr-defined]
    except OSError as error:  # no npx: fall back to cdk.out/ or functions/
        print(f"  cdk synth unavailable: {error}", file=sys.stderr)
        return None


def argv_text(argv: list[str] | None) -> str:
    args = sys.argv[1:] if argv is None else argv
    return " ".join(["python -m benchmarks", *args])


if __name__ == "__main__":
    sys.exit(main())
