"""``make run`` keeps its data (LOCAL_DATA_DIR): what the local server acknowledged is there after
a restart, whether it was stopped with Ctrl-C or killed mid-write. (Without a data directory it
keeps nothing: ``LocalServer`` never passes one on unless a test asks.)"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support import DeviceBodies, LocalServer


def _register(url: str, body: dict[str, Any]) -> dict[str, Any]:
    response = requests.post(f"{url}/devices", json=body, timeout=30)
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "local-data"


@pytest.fixture
def server(tmp_path: Path, data_dir: Path) -> Iterator[Callable[[str], LocalServer]]:
    """Local servers on ``data_dir``, each logging to its own file; none outlives the test."""
    made: list[LocalServer] = []

    def make(name: str, **environment: str) -> LocalServer:
        made.append(LocalServer(tmp_path / f"{name}.log", LOCAL_DATA_DIR=str(data_dir), **environment))
        return made[-1]

    yield make
    for each in made:
        each.close()


def _kill_mid_writes(server: LocalServer, write: Callable[[], bool]) -> None:
    """Four threads call ``write`` until it returns False (the server gone under them); the
    server is killed (``kill -9``) once ``write`` says enough is acknowledged, while they write."""
    enough = threading.Event()

    def writer() -> None:
        while True:
            try:
                if write():
                    enough.set()
            except requests.RequestException:
                return  # killed under us: not acknowledged

    writers = [threading.Thread(target=writer) for _ in range(4)]
    for thread in writers:
        thread.start()
    assert enough.wait(timeout=120)
    server.stop(signal.SIGKILL)
    for thread in writers:
        thread.join(timeout=60)


def test_what_was_written_before_ctrl_c_is_there_after_a_restart_and_one_directory_serves_one_server(server):
    first = server("first")
    url = first.start()
    bodies = DeviceBodies()
    devices = [_register(url, bodies(attributes={"n": str(n)})) for n in range(3)]
    patched = requests.patch(
        f"{url}/devices/{devices[0]['id']}", json={"location": "plant room"}, headers={"If-Match": '"1"'}, timeout=30
    ).json()
    requests.put(f"{url}/devices/{devices[1]['id']}/status", json={"status": "online"}, timeout=30)
    history = requests.get(f"{url}/devices/{devices[0]['id']}/history", timeout=30).json()
    second = server("second")
    with pytest.raises(RuntimeError, match="did not start"):
        second.start()
    assert "Another local server is using" in second.log.read_text()
    first.stop(signal.SIGINT)

    url = first.start()
    assert requests.get(f"{url}/devices/{devices[0]['id']}", timeout=30).json() == patched
    assert requests.get(f"{url}/devices/{devices[2]['id']}", timeout=30).json() == devices[2]
    assert requests.get(f"{url}/devices/{devices[1]['id']}/status", timeout=30).json()["status"] == "online"
    assert requests.get(f"{url}/devices/{devices[0]['id']}/history", timeout=30).json() == history
    # The MAC claims came back too: the same MAC is still taken.
    again = requests.post(f"{url}/devices", json={**bodies(), "mac_address": devices[2]["mac_address"]}, timeout=30)
    assert again.status_code == 409


def test_a_server_killed_mid_write_loses_nothing_it_acknowledged(server, data_dir):
    killed = server("killed")
    url = killed.start()
    bodies = DeviceBodies()
    acknowledged: list[dict[str, Any]] = []

    def write() -> bool:
        response = requests.post(f"{url}/devices", json=bodies(), timeout=30)
        if response.status_code == 201:
            acknowledged.append(response.json())
        return len(acknowledged) >= 30

    _kill_mid_writes(killed, write)
    # A journal line the kill cut short is dropped, not misread, and the log says so.
    torn = b'{"headers": {"X-Amz-Target": "DynamoDB_20120810.PutI'
    with next(data_dir.glob("journal.*")).open("ab") as journal:
        journal.write(torn)

    url = killed.start()
    assert f"cut short ({len(torn)} bytes)" in killed.log.read_text()
    for device in acknowledged:
        assert requests.get(f"{url}/devices/{device['id']}", timeout=30).json() == device
    after = _register(url, bodies())
    killed.stop(signal.SIGKILL)
    url = killed.start()
    assert requests.get(f"{url}/devices/{after['id']}", timeout=30).status_code == 200


def test_a_damaged_journal_record_with_writes_after_it_stops_the_start_and_loses_nothing(server, data_dir):
    damaged = server("damaged")
    url = damaged.start()
    bodies = DeviceBodies()
    devices = [_register(url, bodies()) for _ in range(20)]
    damaged.stop(signal.SIGKILL)  # no clean stop: the writes are in the journal alone
    journal = next(data_dir.glob("journal.*"))
    lines = journal.read_bytes().splitlines(keepends=True)
    assert len(lines) >= 20
    kept = lines[9]
    journal.write_bytes(b"".join([*lines[:9], b"\x00" + kept[1:], *lines[10:]]))

    with pytest.raises(RuntimeError, match="did not start"):
        damaged.start()
    assert f"{journal}, line 10, is not a journal record" in damaged.log.read_text()
    assert "Traceback" not in damaged.log.read_text()

    # Nothing was dropped: the line repaired, every acknowledged device is back.
    journal.write_bytes(b"".join(lines))
    url = damaged.start()
    for device in devices:
        assert requests.get(f"{url}/devices/{device['id']}", timeout=30).json() == device


def _published(events_file: Path) -> set[tuple[str, int]]:
    """(device id, revision) of every change event in the file (a line cut short by a kill aside)."""
    published = set()
    for line in events_file.read_text(encoding="utf-8").splitlines() if events_file.exists() else []:
        try:
            detail = json.loads(line)["Detail"]
        except ValueError:
            continue
        published.add((detail["device_id"], detail["revision"]))
    return published


def test_every_revision_acknowledged_before_a_kill_is_published_after_the_restart(server, tmp_path):
    events_file = tmp_path / "events.jsonl"
    killed = server("events", LOCAL_EVENTS_FILE=str(events_file))
    url = killed.start()
    bodies = DeviceBodies()
    acknowledged: set[tuple[str, int]] = set()

    def write() -> bool:
        device = requests.post(f"{url}/devices", json=bodies(), timeout=30).json()
        acknowledged.add((device["id"], 1))
        for n in range(3):  # each a change (from unknown): revisions 2, 3, 4
            status = {"status": "online" if n % 2 else "offline"}
            answer = requests.put(f"{url}/devices/{device['id']}/status", json=status, timeout=30)
            assert answer.status_code == 200, answer.text
            acknowledged.add((device["id"], n + 2))
        return len(acknowledged) >= 80

    # Killed mid-writes: the publisher has not caught up with the last ones.
    _kill_mid_writes(killed, write)

    killed.start()
    deadline = time.monotonic() + 60  # how long the publisher may take to catch up (not a figure)
    while not acknowledged <= _published(events_file) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert acknowledged - _published(events_file) == set()
