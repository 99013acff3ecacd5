"""The two batch jobs: registering devices (``POST /devices/batch``) and reporting statuses
(``POST /status-reports``), each reading the per-item results of its route's answer."""

from __future__ import annotations

import contextlib
import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from registry_cli.batches import AGAIN, FAILED, Outcome
from registry_cli.client import RETRIED_STATUSES, ApiError, Registry, Unreachable, problem_text
from registry_cli.rows import TAGS, Row, device_record

CREATED = "created"
PRESENT = "already present"
CHANGED = "changed"
UNCHANGED = "unchanged"
MAC_TAKEN = "mac-address-taken"
_NOT_HEX = re.compile(r"[^0-9a-fA-F]")


def _results(answer: httpx.Response, rows: Sequence[Row]) -> list[Mapping[str, Any]]:
    results = sorted(answer.json().get("results") or [], key=lambda result: int(result.get("index", 0)))
    if len(results) != len(rows):
        raise Unreachable(f"The server answered {len(results)} results for a batch of {len(rows)}.")
    return results


def _slug(problem: Mapping[str, Any]) -> str:
    return str(problem.get("type", "")).rsplit(":", 1)[-1].rsplit("/", 1)[-1]


def _failed(row: Row, status: int, problem: Mapping[str, Any] | None) -> Outcome:
    """A refused item; one the server could not do now (503, 429) is to be sent again."""
    return Outcome(AGAIN if status in RETRIED_STATUSES else FAILED, f"line {row.line}: {problem_text(problem or {})}")


def canonical(record: Mapping[str, Any]) -> dict[str, Any]:
    """A device's attributes compared as the registry stores them: names trimmed, the MAC in
    lowercase colons, the IP address canonical, tags a lowercase set, nothing empty."""
    values = device_record(record)
    for field in ("name", "device_type"):
        if isinstance(values.get(field), str):
            values[field] = values[field].strip()
    mac = values.get("mac_address")
    if isinstance(mac, str) and len(digits := _NOT_HEX.sub("", mac)) == 12:
        values["mac_address"] = ":".join(digits[i : i + 2] for i in range(0, 12, 2)).lower()
    ip = values.get("ip_address")
    if isinstance(ip, str):
        with contextlib.suppress(ValueError):  # not an address: the server says so
            values["ip_address"] = str(ipaddress.ip_address(ip.strip()))
    if isinstance(values.get(TAGS), list):
        values[TAGS] = sorted({str(tag).lower() for tag in values[TAGS]})
    return values


def differences(wanted: Mapping[str, Any], registered: Mapping[str, Any]) -> list[str]:
    """The fields whose values differ, each as ``field: 'file' here, 'registry' there``."""
    mine, theirs = canonical(wanted), canonical(registered)
    lines = []
    for field in sorted(set(mine) | set(theirs)):
        if mine.get(field) != theirs.get(field):
            lines.append(f"{field}: {mine.get(field)!r} in the file, {theirs.get(field)!r} registered")
    return lines


class RegisterDevices:
    """``registry import``. A device whose MAC is taken (a 409) is looked up: registered with the
    same attributes, it counts as already present (an earlier run, or a duplicate row); with
    other attributes, the row fails naming the device and each differing field."""

    route = "/devices/batch"
    envelope = "devices"
    outcomes: tuple[str, ...] = (CREATED, PRESENT)

    def exclusive_key(self, item: dict[str, Any]) -> str | None:
        return None  # a MAC repeated within a batch registers once: the repeat is recognised as present

    def settle(self, registry: Registry, rows: Sequence[Row], answer: httpx.Response) -> list[Outcome]:
        outcomes = []
        for row, result in zip(rows, _results(answer, rows), strict=True):
            status = int(result.get("status", 0))
            problem = result.get("problem") or {}
            if status == 201:
                # Replayed or not, this run's key: this run registered it.
                outcomes.append(Outcome(CREATED))
            elif status == 409 and _slug(problem) == MAC_TAKEN:
                outcomes.append(self._compare(registry, row, problem))
            else:
                outcomes.append(_failed(row, status, problem))
        return outcomes

    def _compare(self, registry: Registry, row: Row, problem: Mapping[str, Any]) -> Outcome:
        assert row.item is not None
        mac = str(row.item.get("mac_address"))
        try:
            page = registry.json("GET", "/devices", params={"mac_address": mac, "limit": 1})
            if not page.get("items"):
                return _failed(row, 409, problem)
            device_id = page["items"][0]["id"]
            registered = registry.json("GET", f"/devices/{device_id}")
        except ApiError as error:
            return Outcome(FAILED, f"line {row.line}: {problem_text(problem)} (looking it up: {error.detail})")
        differing = differences(row.item, registered)
        if not differing:
            return Outcome(PRESENT)
        mac_shown = registered.get("mac_address", mac)
        return Outcome(
            FAILED,
            f"line {row.line}: MAC address {mac_shown} is already registered to device {device_id} with other "
            f"attributes ({'; '.join(differing)})",
        )


class ReportStatuses:
    """``registry report``: status reports, at most one per device in a batch."""

    route = "/status-reports"
    envelope = "reports"
    outcomes: tuple[str, ...] = (CHANGED, UNCHANGED)

    def exclusive_key(self, item: dict[str, Any]) -> str | None:
        return str(item.get("device_id"))

    def settle(self, registry: Registry, rows: Sequence[Row], answer: httpx.Response) -> list[Outcome]:
        outcomes = []
        for row, result in zip(rows, _results(answer, rows), strict=True):
            status = int(result.get("status", 0))
            if status == 200:
                outcomes.append(Outcome(CHANGED if result.get("changed") else UNCHANGED))
            else:
                outcomes.append(_failed(row, status, result.get("problem")))
        return outcomes
