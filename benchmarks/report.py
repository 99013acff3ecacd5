"""The one table ``make bench`` prints, and docs/performance.md around it."""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

from benchmarks.assets import Assets
from benchmarks.cold import FLOOR, IMPORT_PROFILES, ColdResult, ImportProfile, compile_seconds
from benchmarks.fixtures import COLD_ROUTE_NAMES, ROUTE_NAMES
from benchmarks.warm import WarmResult

COLD_GOAL, WARM_GOAL = 1.3, 1.5


@dataclass
class Results:
    cold: ColdResult
    warm: WarmResult
    cost: dict[str, Any]
    assets: Assets
    seconds: float
    command: str
    machine: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.machine = machine()


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    return {
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load": load,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.0f}"


def _function_id(route: str) -> str:
    return "".join(part.capitalize() for part in route.split("_"))


def _main_case(cost: dict[str, Any], route: str, size: str) -> dict[str, Any] | None:
    """The route's first request, or for a page route its ``limit=5`` page (full at both sizes)."""
    cases = [c for c in cost["cases"] if c["route"] == route and c["size"] == size]
    return next((c for c in cases if "limit=5" in c["label"]), cases[0] if cases else None)


def _asset(assets: Assets, route: str) -> str:
    found = next((a for a in assets.functions if a.function == _function_id(route)), None)
    return f"{found.zip_bytes / 1024:.1f}" if found else "?"


def table(results: Results) -> str:
    cold, warm = results.cold, results.warm
    header = (
        "| function | cold ms | ×floor | peer ms | peer ×floor | warm µs | ×minimal | peer ×minimal "
        "| DynamoDB requests | items read small → large | zip KB |"
    )
    lines = [header, "|" + "---|" * 11]
    lines.append(
        f"| floor: boto3 + client + GetItem | {_ms(cold.median(FLOOR))} | 1.00 | | | | | | GetItem | 1 → 1 | |"
    )
    for route in COLD_ROUTE_NAMES:
        ours = ("ours", route)
        small, large = _main_case(results.cost, route, "small"), _main_case(results.cost, route, "large")
        requests = small["requests"] if small else "—"
        items = f"{small['items_read']} → {large['items_read']}" if small and large else "—"
        lines.append(
            f"| {_function_id(route)} | {_ms(cold.median(ours))} | {cold.ratio(ours):.2f} "
            f"| {_peer_cold(cold, route)} | {_warm_cells(warm, route)} "
            f"| {requests} | {items} | {_asset(results.assets, route)} |"
        )
    return "\n".join(lines)


def _peer_cold(cold: ColdResult, route: str) -> str:
    """The peer's cold ms and ratio, where it has the route (the first ten routes)."""
    peer = ("peer", route)
    return f"{_ms(cold.median(peer))} | {cold.ratio(peer):.2f}" if cold.seconds.get(peer) else "— | —"


def _warm_cells(warm: WarmResult, route: str) -> str:
    if route not in ROUTE_NAMES:
        return "— | — | —"
    return f"{_us(warm.median('ours', route))} | {warm.ratio('ours', route):.2f} | {warm.ratio('peer', route):.2f}"


def _spread(values: list[float]) -> str:
    ordered = sorted(values)
    return f"{ordered[0] * 1000:.0f}–{ordered[-1] * 1000:.0f}"


def _cold_section(results: Results) -> str:
    cold = results.cold
    lines = [
        "| function | ours: median ms (min–max) | ×floor | peer: median ms (min–max) | ×floor "
        "| moto's share, ms (subtracted) | ours ≤ 1.3× | ours: CPU ms | CPU ×floor |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| floor | {_ms(cold.median(FLOOR))} ({_spread(cold.seconds[FLOOR])}) | 1.00 | | | "
        f"{_ms(median(cold.store_seconds[FLOOR]))} | | {_cpu_cells(cold, FLOOR)} |",
    ]
    for route in COLD_ROUTE_NAMES:
        ours, peer = ("ours", route), ("peer", route)
        peer_cells = (
            f"{_ms(cold.median(peer))} ({_spread(cold.seconds[peer])}) | {cold.ratio(peer):.2f}"
            if cold.seconds.get(peer)
            else "— | —"
        )
        lines.append(
            f"| {_function_id(route)} | {_ms(cold.median(ours))} ({_spread(cold.seconds[ours])}) | "
            f"{cold.ratio(ours):.2f} | {peer_cells} | {_ms(median(cold.store_seconds[ours]))} | "
            f"{'yes' if cold.ratio(ours) <= COLD_GOAL else 'no'} | {_cpu_cells(cold, ours)} |"
        )
    return "\n".join(lines)


def _cpu_cells(cold: ColdResult, variant: tuple[str, str]) -> str:
    """The process's CPU time and its ratio to the floor's: the load-independent reading."""
    if not cold.cpu_seconds.get(variant):
        return "— | —"
    return f"{_ms(median(cold.cpu_seconds[variant]))} | {cold.cpu_ratio(variant):.2f}"


def cold_table(cold: ColdResult) -> str:
    """The cold part alone (``python -m benchmarks.cold``): each function's median and ratio."""
    lines = [
        "| function | ours ms (min–max) | ×floor | ours ≤ 1.3× | CPU ms | CPU ×floor |",
        "|---|---|---|---|---|---|",
        f"| floor | {_ms(cold.median(FLOOR))} ({_spread(cold.seconds[FLOOR])}) | 1.00 | | {_cpu_cells(cold, FLOOR)} |",
    ]
    for route in (route for route in COLD_ROUTE_NAMES if cold.seconds.get(("ours", route))):
        ours = ("ours", route)
        ratio, met = cold.ratio(ours), cold.ratio(ours) <= COLD_GOAL
        lines.append(
            f"| {_function_id(route)} | {_ms(cold.median(ours))} ({_spread(cold.seconds[ours])}) | {ratio:.2f} "
            f"| {'yes' if met else 'no'} | {_cpu_cells(cold, ours)} |"
        )
    for kind, route in cold.seconds:
        if kind == "source":  # the same asset without its bytecode, side by side
            name = f"{_function_id(route)} without .pyc"
            lines.append(
                f"| {name} | {_ms(cold.median((kind, route)))} | {cold.ratio((kind, route)):.2f} | "
                f"| {_cpu_cells(cold, (kind, route))} |"
            )
    return "\n".join(lines)


def _imports_section(results: Results) -> str:
    imports = results.cold.imports
    floor = imports[FLOOR]
    groups = ["pydantic", "Powertools", "our code", "FastAPI + Mangum", "stdlib + other", "boto3 + botocore"]
    lines = [
        "| function | imports beyond the floor, ms | "
        + " | ".join(groups)
        + " | of which compiling our modules | largest modules (self ms) |",
        "|---|---|" + "---|" * len(groups) + "---|---|",
    ]
    variants = [("ours", route) for route in COLD_ROUTE_NAMES] + [("peer", "get_device")]
    for variant in variants:
        extra = imports[variant].beyond(floor)
        by_group = ImportProfile.by_group(extra)
        top = sorted(extra.items(), key=lambda item: -item[1])[:5]
        name = _function_id(variant[1]) + (" (peer)" if variant[0] == "peer" else "")
        ours = [module for module in extra if module.split(".")[0] in ("registry", "handlers")]
        lines.append(
            f"| {name} | {sum(extra.values()) / 1000:.0f} | "
            + " | ".join(f"{by_group.get(group, 0) / 1000:.0f}" for group in groups)
            + f" | {_compiling(results.cold, variant, ours)} | "
            + ", ".join(f"`{module}` {us / 1000:.1f}" for module, us in top)
            + " |"
        )
    floor_total = sum(floor.self_us.values()) / 1000
    lines.append(f"\nThe floor's own imports (boto3, botocore and theirs): {floor_total:.0f} ms in the same profiles.")
    return "\n".join(lines)


def _compiling(cold: ColdResult, variant: tuple[str, str], modules: list[str]) -> str:
    """What compiling the variant's modules of ours costs at its cold start: nothing where the
    asset ships their bytecode (infra/bytecode.py), else ``compile()`` of exactly those modules."""
    if variant[0] == "ours" and cold.bytecode:
        return f"0 ({len(modules)} modules, .pyc shipped; {compile_seconds(modules) * 1000:.0f} from source)"
    return f"{compile_seconds(modules) * 1000:.0f} ({len(modules)} modules)"


def _warm_section(results: Results) -> str:
    warm = results.warm
    lines = [
        "| function | ours µs | minimal µs | peer µs | ours ×minimal | peer ×minimal | ours − minimal µs "
        "| ours ≤ 1.5× |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for route in ROUTE_NAMES:
        ours, minimal = warm.median("ours", route), warm.median("minimal", route)
        lines.append(
            f"| {_function_id(route)} | {_us(ours)} | {_us(minimal)} | {_us(warm.median('peer', route))} | "
            f"{warm.ratio('ours', route):.2f} | {warm.ratio('peer', route):.2f} | {_us(ours - minimal)} | "
            f"{'yes' if warm.ratio('ours', route) <= WARM_GOAL else 'no'} |"
        )
    return "\n".join(lines)


def _cost_section(results: Results) -> str:
    cost = results.cost
    small = {(c["route"], c["label"]): c for c in cost["cases"] if c["size"] == "small"}
    large = {(c["route"], c["label"]): c for c in cost["cases"] if c["size"] == "large"}
    lines = [
        "| function | request | DynamoDB requests | items read (small → large) | KB read | RCU | WCU (table) "
        "| index entries written |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, s in small.items():
        big = large[key]
        same = "" if s["requests"] == big["requests"] else f" → {big['requests']}"
        lines.append(
            f"| {_function_id(key[0])} | {key[1]} | {s['requests']}{same} | {s['items_read']} → {big['items_read']} | "
            f"{s['kb_read']} → {big['kb_read']} | {s['rcu']:g} → {big['rcu']:g} | {s['wcu']:g} → {big['wcu']:g} | "
            f"{s['index_writes']} → {big['index_writes']} |"
        )
    return "\n".join(lines)


def _assets_section(results: Results) -> str:
    found = results.assets.functions
    lines = [
        "| function | handler | files | bytes | zip bytes | memory MB | runtime | layers |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for asset in found:
        lines.append(
            f"| {asset.function} | `{asset.handler}` | {asset.files} | {asset.bytes:,} | {asset.zip_bytes:,} | "
            f"{asset.memory_mb} | {asset.runtime} {asset.architecture} | {', '.join(asset.layers) or '—'} |"
        )
    return "\n".join(lines)


def document(results: Results) -> str:
    m = results.machine
    cold, warm = results.cold, results.warm
    ratios = {route: cold.ratio(("ours", route)) for route in COLD_ROUTE_NAMES if route != "swagger"}
    worst = max(ratios, key=ratios.__getitem__)
    best = min(ratios, key=ratios.__getitem__)
    met = [route for route, ratio in ratios.items() if ratio <= COLD_GOAL]
    seed = results.cost["seed_seconds"]
    fleet, history = results.cost["large"]
    fleet_small, history_small = results.cost["small"]
    return TEMPLATE.format(
        command=results.command,
        minutes=results.seconds / 60,
        cpu=m["cpu"],
        os=m["os"],
        python=m["python"],
        load=m["load"],
        date=m["date"],
        rounds=cold.rounds,
        warm_rounds=warm.rounds,
        batch=warm.batch,
        table=table(results),
        cold_table=_cold_section(results),
        imports_table=_imports_section(results),
        warm_table=_warm_section(results),
        cost_table=_cost_section(results),
        assets_table=_assets_section(results),
        assets_source=results.assets.source,
        floor_ms=_ms(cold.median(FLOOR)),
        worst=_function_id(worst),
        worst_ratio=ratios[worst],
        best=_function_id(best),
        best_ratio=ratios[best],
        met=", ".join(_function_id(route) for route in met) or "none",
        fleet=f"{fleet:,}",
        fleet_small=f"{fleet_small:,}",
        history_small=f"{history_small:,}",
        profiles=IMPORT_PROFILES,
        history=f"{history:,}",
        seed_small=seed["small"],
        seed_large=seed["large"],
    )


TEMPLATE = (Path(__file__).parent / "performance.md.in").read_text(encoding="utf-8")
