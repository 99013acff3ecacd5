"""Concurrent writers through the local HTTP server: nothing acknowledged is lost, nothing
unacknowledged is recorded, and revisions stay gap-free.

Eight threads each send 50 alternating status PUTs and attribute PATCHes to one device (each
write a real change: a distinct reason, a distinct attribute value), while four more threads
write to devices of their own. Afterwards the device's history is read back and compared with
what the server acknowledged."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests

from tests.support import assert_problem

SHARED_WRITERS, WRITES_EACH = 8, 50
# docs/reliability.md §1: a 409 concurrent-update is the service saying "send it again"; a client
# that does so lands every write. How many land at the first attempt depends on how the machine
# schedules the writers (a figure, not a gate: a loaded machine makes more conflicts).
RETRIES_AT_MOST = 30
OWN_WRITERS, OWN_WRITES_EACH = 4, 25
STATUSES = ("online", "offline", "maintenance", "error")


@dataclass
class Outcome:
    acked_status: list[dict[str, Any]] = field(default_factory=list)  # 2xx bodies of status PUTs
    acked_patch: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (value, 2xx body)
    refused: Counter[int] = field(default_factory=Counter)
    attempted: int = 0


def _register(url: str, mac: str) -> str:
    body = {"name": "Contended", "device_type": "sensor", "mac_address": mac}
    response = requests.post(f"{url}/devices", json=body, timeout=30)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _writer(url: str, device_id: str, name: str, writes: int, start: threading.Barrier) -> Outcome:
    outcome = Outcome()
    with requests.Session() as session:
        start.wait()
        for i in range(writes):
            value = f"{name}-{i}"
            outcome.attempted += 1
            for _attempt in range(RETRIES_AT_MOST + 1):
                if i % 2 == 0:
                    body = {"status": STATUSES[i // 2 % len(STATUSES)], "reason": value}
                    response = session.put(f"{url}/devices/{device_id}/status", json=body, timeout=60)
                else:
                    patch = {"attributes": {"last": value, name: str(i)}}
                    response = session.patch(f"{url}/devices/{device_id}", json=patch, timeout=60)
                if 200 <= response.status_code < 300:
                    break
                assert_problem(response, 409, "concurrent-update")  # docs/reliability.md §1
                assert response.headers["Retry-After"]
                outcome.refused[response.status_code] += 1
            else:
                raise AssertionError(f"{value} refused {RETRIES_AT_MOST + 1} times in a row")
            if i % 2 == 0:
                outcome.acked_status.append(response.json())
            else:
                outcome.acked_patch.append((value, response.json()))
    return outcome


def _history(url: str, device_id: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"order": "asc", "limit": "100", **({"cursor": cursor} if cursor else {})}
        page = requests.get(f"{url}/devices/{device_id}/history", params=params, timeout=30).json()
        entries += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return entries


def _check_device(url: str, device_id: str, outcomes: list[Outcome]) -> int:
    """Compare what was acknowledged with what the device's history and state say; return the
    number of history entries recorded for the writes."""
    history = _history(url, device_id)
    assert [entry["revision"] for entry in history] == list(range(1, len(history) + 1))
    status_entries = [entry for entry in history if entry["kind"] == "status"]
    config_entries = [entry for entry in history if entry["kind"] == "config"]
    # The first accepted report also made the pending device reporting: one liveness entry (api.md "Liveness").
    liveness_entries = [entry for entry in history if entry["kind"] == "liveness"]
    assert [entry["changes"]["liveness"] for entry in liveness_entries] == (
        [{"old": "pending", "new": "reporting"}] if status_entries else []
    )
    # + the "created" entry
    assert len(status_entries) + len(config_entries) + len(liveness_entries) == len(history) - 1

    # Every acknowledged write is recorded exactly once, and nothing else is.
    acked_reasons = Counter(body["reason"] for outcome in outcomes for body in outcome.acked_status)
    assert acked_reasons == Counter(entry["snapshot"]["reason"] for entry in status_entries)
    acked_values = Counter(value for outcome in outcomes for value, _ in outcome.acked_patch)
    assert acked_values == Counter(entry["changes"]["attributes.last"]["new"] for entry in config_entries)

    # Each acknowledgement named the version its write created: distinct, and as in history.
    by_reason = {entry["snapshot"]["reason"]: entry["snapshot"]["version"] for entry in status_entries}
    for outcome in outcomes:
        for body in outcome.acked_status:
            assert body["version"] == by_reason[body["reason"]]
        for value, body in outcome.acked_patch:
            assert body["attributes"]["last"] == value
    config_versions = [body["config_version"] for outcome in outcomes for _, body in outcome.acked_patch]
    assert sorted(config_versions) == list(range(2, len(config_entries) + 2))

    # The current state is the last acknowledged write of each kind, in revision order.
    status = requests.get(f"{url}/devices/{device_id}/status", timeout=30).json()
    device = requests.get(f"{url}/devices/{device_id}", timeout=30).json()
    if status_entries:
        assert status["reason"] == status_entries[-1]["snapshot"]["reason"]
        assert status["status"] == status_entries[-1]["snapshot"]["status"]
    assert status["version"] == len(status_entries) + 1
    assert device["config_version"] == len(config_entries) + 1
    if config_entries:
        assert device["attributes"] == config_entries[-1]["snapshot"]["attributes"]
    for outcome in outcomes:  # each writer's own key holds its last acknowledged value
        if outcome.acked_patch:
            value, _ = outcome.acked_patch[-1]
            writer, i = value.rsplit("-", 1)
            assert device["attributes"][writer] == i
    return len(status_entries) + len(config_entries)


def test_concurrent_writers_lose_nothing_and_leave_no_gap(local_server, figures):
    shared = _register(local_server, "02:cc:00:00:00:01")
    own = [_register(local_server, f"02:cc:00:00:01:{n:02x}") for n in range(OWN_WRITERS)]
    start = threading.Barrier(SHARED_WRITERS + OWN_WRITERS)
    with ThreadPoolExecutor(SHARED_WRITERS + OWN_WRITERS) as pool:
        shared_runs = [
            pool.submit(_writer, local_server, shared, f"w{n}", WRITES_EACH, start) for n in range(SHARED_WRITERS)
        ]
        own_runs = [
            pool.submit(_writer, local_server, device_id, f"o{n}", OWN_WRITES_EACH, start)
            for n, device_id in enumerate(own)
        ]
        shared_outcomes = [run.result() for run in shared_runs]
        own_outcomes = [run.result() for run in own_runs]

    recorded = _check_device(local_server, shared, shared_outcomes)
    for device_id, outcome in zip(own, own_outcomes, strict=True):
        _check_device(local_server, device_id, [outcome])
        # Alone on its device, a writer never meets a conflict.
        assert not outcome.refused and len(outcome.acked_status) + len(outcome.acked_patch) == OWN_WRITES_EACH

    acked = sum(len(o.acked_status) + len(o.acked_patch) for o in shared_outcomes)
    refused = sum((o.refused for o in shared_outcomes), Counter())
    # Sent again after each 409, every write lands, exactly once (_check_device: no gap, no twin).
    assert acked == SHARED_WRITERS * WRITES_EACH, (acked, dict(refused))
    figures["concurrency: shared device (attempted/acknowledged/recorded/refused)"] = (
        f"{SHARED_WRITERS * WRITES_EACH}/{acked}/{recorded}/{dict(refused)}"
    )
    figures["concurrency: own devices (attempted/acknowledged)"] = (
        f"{OWN_WRITERS * OWN_WRITES_EACH}/{sum(len(o.acked_status) + len(o.acked_patch) for o in own_outcomes)}"
    )


REVERTERS, RESTORE_ROUNDS, RACING_WRITES = 3, 10, 20


def _racing_status_writer(url: str, device_id: str, name: str, start: threading.Barrier) -> list[str]:
    """Status PUTs, each a distinct reason; the reasons of those acknowledged."""
    acked = []
    with requests.Session() as session:
        start.wait()
        for i in range(RACING_WRITES):
            body = {"status": STATUSES[i % len(STATUSES)], "reason": f"{name}-{i}"}
            response = session.put(f"{url}/devices/{device_id}/status", json=body, timeout=60)
            if response.status_code == 200:
                acked.append(body["reason"])
            else:  # 404 while a racing delete holds the device, 409 concurrent-update
                assert_problem(response, 404 if response.status_code == 404 else 409)
    return acked


def test_reverts_racing_other_writers_lose_nothing_and_leave_no_gap(local_server):
    device_id = _register(local_server, "02:cc:00:00:02:01")
    start = threading.Barrier(REVERTERS + 1)

    def reverter(name: str) -> tuple[list[str], list[str]]:
        """Alternately set a key of its own and revert to revision 1 (no keys): (patches, reverts) acknowledged."""
        patched, reverted = [], []
        with requests.Session() as session:
            start.wait()
            for i in range(RACING_WRITES):
                value = f"{name}-{i}"
                if i % 2 == 0:
                    url, body, acked = f"{local_server}/devices/{device_id}", {"attributes": {name: value}}, patched
                    response = session.patch(url, json=body, timeout=60)
                else:
                    url, body, acked = (
                        f"{local_server}/devices/{device_id}/revert",
                        {"to_revision": 1, "reason": value},
                        reverted,
                    )
                    response = session.post(url, json=body, timeout=60)
                if response.status_code == 200:
                    acked.append(value)
                else:
                    assert_problem(response, 409, "concurrent-update")
        return patched, reverted

    with ThreadPoolExecutor(REVERTERS + 1) as pool:
        runs = [pool.submit(reverter, f"r{n}") for n in range(REVERTERS)]
        statuses = pool.submit(_racing_status_writer, local_server, device_id, "s", start)
        outcomes, acked_status = [run.result() for run in runs], statuses.result()

    history = _history(local_server, device_id)
    assert [entry["revision"] for entry in history] == list(range(1, len(history) + 1))
    # Every acknowledged patch and status change is recorded exactly once; a revert is recorded
    # at most once, and only if acknowledged (one that found nothing to change writes nothing).
    patches = Counter(
        v
        for entry in history
        if entry["kind"] == "config" and "reverted_to" not in entry
        for v in (c["new"] for c in entry["changes"].values())
    )
    assert patches == Counter(value for patched, _ in outcomes for value in patched)
    reverts = Counter(entry["reason"] for entry in history if "reverted_to" in entry)
    assert reverts and set(reverts.values()) == {1}
    assert set(reverts) <= {reason for _, reverted in outcomes for reason in reverted}
    assert Counter(e["snapshot"]["reason"] for e in history if e["kind"] == "status") == Counter(acked_status)
    # The current attributes are those of the last config entry, and each revert restored revision 1's.
    device = requests.get(f"{local_server}/devices/{device_id}", timeout=30).json()
    config_entries = [entry for entry in history if entry["kind"] in {"created", "config"}]
    assert device["attributes"] == config_entries[-1]["snapshot"]["attributes"]
    assert device["config_version"] == len(config_entries)
    assert all(entry["snapshot"]["attributes"] == {} for entry in history if "reverted_to" in entry)


def test_deletes_and_restores_racing_status_writers_lose_nothing_and_leave_no_gap(local_server):
    device_id = _register(local_server, "02:cc:00:00:02:02")
    start = threading.Barrier(2)

    def delete_and_restore() -> tuple[int, int]:
        deleted = restored = 0
        with requests.Session() as session:
            start.wait()
            for _ in range(RESTORE_ROUNDS):
                for action, path in (("delete", ""), ("restore", "/restore")):
                    for _attempt in range(10):  # a 409 concurrent-update is retried; each step lands once
                        if action == "delete":
                            response = session.delete(f"{local_server}/devices/{device_id}", timeout=60)
                        else:
                            response = session.post(f"{local_server}/devices/{device_id}{path}", json={}, timeout=60)
                        if response.status_code in {200, 204}:
                            break
                        assert_problem(response, 409, "concurrent-update")
                    else:
                        raise AssertionError(f"{action} never landed")
                    deleted, restored = deleted + (action == "delete"), restored + (action == "restore")
        return deleted, restored

    with ThreadPoolExecutor(2) as pool:
        cycles = pool.submit(delete_and_restore)
        statuses = pool.submit(_racing_status_writer, local_server, device_id, "s", start)
        (deleted, restored), acked_status = cycles.result(), statuses.result()

    history = _history(local_server, device_id)
    assert [entry["revision"] for entry in history] == list(range(1, len(history) + 1))
    kinds = [entry["kind"] for entry in history if entry["kind"] in {"deleted", "restored"}]
    assert kinds == ["deleted", "restored"] * RESTORE_ROUNDS and (deleted, restored) == (RESTORE_ROUNDS,) * 2
    assert Counter(e["snapshot"]["reason"] for e in history if e["kind"] == "status") == Counter(acked_status)
    # Restored as it was: the status is the last one recorded, and the MAC is its own again.
    status = requests.get(f"{local_server}/devices/{device_id}/status", timeout=30).json()
    last_status = [entry for entry in history if entry["kind"] == "status"]
    assert status["reason"] == (last_status[-1]["snapshot"]["reason"] if last_status else None)
    taken = requests.post(
        f"{local_server}/devices",
        json={"name": "x", "device_type": "s", "mac_address": "02:cc:00:00:02:02"},
        timeout=30,
    )
    assert_problem(taken, 409)


def _holders(url: str, kind: str, address: str) -> set[tuple[str, str, str | None]]:
    base = "mac-addresses" if kind == "mac" else "ip-addresses"
    found, cursor = set(), None
    while True:
        query = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = requests.get(f"{url}/{base}/{address}/holders", params=query, timeout=30).json()
        found |= {(item["device_id"], item["from"], item["until"]) for item in page["items"]}
        cursor = page["next_cursor"]
        if cursor is None:
            return found


def test_address_moves_racing_other_writers_leave_holders_equal_to_the_history(local_server):
    """Holder intervals are written in the move's own transaction: whatever the races, the
    intervals answered are exactly those the history's config entries imply."""
    device_id = _register(local_server, "02:cc:00:00:03:01")
    start = threading.Barrier(REVERTERS + 1)

    def mover(n: int) -> None:
        with requests.Session() as session:
            start.wait()
            for i in range(RACING_WRITES):
                if i % 3 == 2:
                    url, body = f"{local_server}/devices/{device_id}/revert", {"to_revision": 1}
                    response = session.post(url, json=body, timeout=60)
                else:
                    patch = {"mac_address": f"02:cc:01:{n:02x}:00:{i:02x}", "ip_address": f"10.{n}.0.{i % 2}"}
                    response = session.patch(f"{local_server}/devices/{device_id}", json=patch, timeout=60)
                if response.status_code != 200:
                    assert_problem(response, 409)  # concurrent-update, or revision 1's MAC taken meanwhile

    with ThreadPoolExecutor(REVERTERS + 1) as pool:
        runs = [pool.submit(mover, n) for n in range(REVERTERS)]
        statuses = pool.submit(_racing_status_writer, local_server, device_id, "s", start)
        [run.result() for run in runs], statuses.result()

    history = _history(local_server, device_id)
    assert [entry["revision"] for entry in history] == list(range(1, len(history) + 1))
    expected: dict[tuple[str, str], set[tuple[str, str, str | None]]] = {}
    held: dict[str, tuple[str, str] | None] = {"mac": None, "ip": None}
    for entry in history:
        if entry["kind"] in {"status", "liveness"}:  # neither snapshot holds the addresses
            continue
        for kind, name in (("mac", "mac_address"), ("ip", "ip_address")):
            new = None if entry["kind"] == "deleted" else entry["snapshot"].get(name)
            old = held[kind]
            if (old[0] if old else None) == new:
                continue
            if old is not None:
                expected.setdefault((kind, old[0]), set()).add((device_id, old[1], entry["at"]))
            held[kind] = (new, entry["at"]) if new is not None else None
    for kind, current in held.items():
        if current is not None:
            expected.setdefault((kind, current[0]), set()).add((device_id, current[1], None))
    assert len(expected) > REVERTERS
    for (kind, address), intervals in expected.items():
        assert _holders(local_server, kind, address) == intervals, (kind, address)
