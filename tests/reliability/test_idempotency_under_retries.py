"""Retries with an ``Idempotency-Key``: concurrent or sequential, a keyed request takes effect
once; the same key with another body is refused; a retry of a request still running is a 409."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests

from registry import wiring
from registry.storage import keys as table
from tests.support import assert_problem

DEVICE = {"name": "Retried", "device_type": "gateway", "mac_address": "02:1d:00:00:00:01"}


def _history(url: str, device_id: str) -> list[dict]:
    return requests.get(f"{url}/devices/{device_id}/history", params={"limit": "100"}, timeout=30).json()["items"]


def test_same_key_sent_concurrently_and_again_registers_one_device_with_one_history_entry(local_server):
    senders = 8
    start = threading.Barrier(senders)
    headers = {"Idempotency-Key": "concurrent-registration-1"}

    def send(_: int) -> requests.Response:
        start.wait()
        return requests.post(f"{local_server}/devices", json=DEVICE, headers=headers, timeout=60)

    with ThreadPoolExecutor(senders) as pool:
        answers = list(pool.map(send, range(senders)))
    answers += [requests.post(f"{local_server}/devices", json=DEVICE, headers=headers, timeout=60) for _ in range(3)]

    created = [answer for answer in answers if answer.status_code == 201]
    for refused in (answer for answer in answers if answer.status_code != 201):
        assert_problem(refused, 409, "idempotency-in-progress")
        assert refused.headers["Retry-After"]
    assert created, "no sender got the registration"
    assert len({answer.json()["id"] for answer in created}) == 1
    assert sum(answer.headers.get("Idempotent-Replayed") != "true" for answer in created) == 1
    assert answers[-1].status_code == 201 and answers[-1].headers["Idempotent-Replayed"] == "true"

    listed = requests.get(f"{local_server}/devices", params={"mac_address": DEVICE["mac_address"]}, timeout=30)
    assert [item["id"] for item in listed.json()["items"]] == [created[0].json()["id"]]
    assert [entry["kind"] for entry in _history(local_server, created[0].json()["id"])] == ["created"]


def test_same_key_with_another_change_is_422_and_changes_nothing(local_server):
    mac = "02:1d:00:00:00:02"
    device = requests.post(f"{local_server}/devices", json={**DEVICE, "mac_address": mac}, timeout=30).json()
    path = f"{local_server}/devices/{device['id']}"
    for suffix, method, first, second in (
        ("", "PATCH", {"location": "hall"}, {"location": "roof"}),
        ("/status", "PUT", {"status": "online"}, {"status": "offline"}),
    ):
        headers = {"Idempotency-Key": f"reused-{method}"}
        assert requests.request(method, path + suffix, json=first, headers=headers, timeout=30).status_code == 200
        before = _history(local_server, device["id"])
        reused = requests.request(method, path + suffix, json=second, headers=headers, timeout=30)
        assert_problem(reused, 422, "idempotency-key-reused")
        assert _history(local_server, device["id"]) == before


def test_a_retry_while_the_first_request_is_still_running_is_409_and_not_run_twice(
    invoke, table_items, assert_table_consistent
):
    """The retry arrives while the first request is between its idempotency record and its
    answer (injected at the moment the first one commits)."""
    headers = {"Idempotency-Key": "still-running"}
    retries: list[dict] = []

    def retry_meanwhile(**_: object) -> None:
        if not retries:
            retries.append(invoke("create_device", body=DEVICE, headers=headers))

    wiring.dynamodb_client().meta.events.register("before-call.dynamodb.TransactWriteItems", retry_meanwhile)
    first = invoke("create_device", body=DEVICE, headers=headers)

    assert first["statusCode"] == 201
    assert_problem(retries[0], 409, "idempotency-in-progress")
    assert retries[0]["headers"]["Retry-After"]
    states = [item for item in table_items() if item[table.SK] == table.STATE_SK]
    assert [state["id"] for state in states] == [first["json"]["id"]]
    assert_table_consistent()
