"""Fleet jobs from the command line (``registry job …``, docs/jobs.md): the request a job is made of,
from ``--filter k=v`` and ``--set k=v`` pairs, and the polling that watches it to its end."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from registry_cli.client import Registry, UsageError

FINISHED = frozenset({"succeeded", "completed_with_failures", "cancelled", "failed"})
COUNTS = ("matched", "changed", "unchanged", "failed", "skipped")
POLL_S = 0.5  # how often `watch` asks: its route's throttle is 20/s in prod (infra/stage.py)
TAG_SEPARATOR = ";"  # as the import's tags column


def _pair(text: str, option: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name.strip():
        raise UsageError(f"{option} {text!r}: write NAME=VALUE, e.g. {option} location='Hall B'.")
    return name.strip(), value


def filters(pairs: Iterable[str]) -> dict[str, str]:
    """``--filter device_type=sensor`` → the job's filter (the server says which names it takes)."""
    return dict(_pair(pair, "--filter") for pair in pairs)


def patch(pairs: Iterable[str]) -> dict[str, Any]:
    """``--set location=Hall B --set attributes.rack=r2 --set tags=edge;roof --set serial_number=`` →
    a merge patch: ``attributes.<key>`` one key, ``tags`` the whole set, an empty value clears."""
    merged: dict[str, Any] = {}
    for pair in pairs:
        name, value = _pair(pair, "--set")
        cleared = value if value != "" else None
        if name.startswith("attributes."):
            merged.setdefault("attributes", {})[name.removeprefix("attributes.")] = cleared
        elif name == "tags":
            merged["tags"] = [tag for tag in value.split(TAG_SEPARATOR) if tag]
        else:
            merged[name] = cleared
    if not merged:
        raise UsageError("Say what to change: --set NAME=VALUE (at least one).")
    return merged


def request(filter_pairs: Iterable[str], set_pairs: Iterable[str], *, dry_run: bool, every: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"filter": filters(filter_pairs), "patch": patch(set_pairs), "dry_run": dry_run}
    if every:
        body["all"] = True
    elif not body["filter"]:
        raise UsageError("A job over every device must say so: --all (or narrow it with --filter NAME=VALUE).")
    return body


def done(job: Mapping[str, Any]) -> int:
    """How many of the job's devices it has acted on so far."""
    counts = job.get("counts") or {}
    return sum(int(counts.get(name, 0)) for name in COUNTS[1:])


def watch(
    registry: Registry,
    job_id: str,
    *,
    sleep: Callable[[float], object],
    progress: Callable[[Mapping[str, Any]], None],
) -> dict[str, Any]:
    """Poll the job until it finishes, calling ``progress`` with each answer; the finished job."""
    while True:
        job = dict(registry.json("GET", f"/jobs/{job_id}"))
        progress(job)
        if job.get("state") in FINISHED:
            return job
        sleep(POLL_S)


def summary(job: Mapping[str, Any]) -> str:
    counts = job.get("counts") or {}
    return f"Job {job.get('id')} {job.get('state')}: " + ", ".join(f"{name} {counts.get(name, 0):,}" for name in COUNTS)
