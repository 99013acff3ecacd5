"""``make run`` keeps its data (LOCAL_DATA_DIR): what the local server acknowledged is there after
a restart, whether it was stopped with Ctrl-C or killed mid-write. (Without a data directory it
keeps nothing: ``LocalServer`` never passes one on unless a test asks.)"""

from __future__ import annotations

import signal
import threading
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

    def make(name: str) -> LocalServer:
        made.append(LocalServer(tmp_path / f"{name}.log", LOCAL_DATA_DIR=str(data_dir)))
        return made[-1]

    yield make
    for each in made:
        each.close()


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
    enough = threading.Event()

    def write() -> None:
        while True:
            try:
                response = requests.post(f"{url}/devices", json=bodies(), timeout=30)
            except requests.RequestException:
                return  # killed under us: not acknowledged
            if response.status_code == 201:
                acknowledged.append(response.json())
            if len(acknowledged) >= 30:
                enough.set()

    writers = [threading.Thread(target=write) for _ in range(4)]
    for writer in writers:
        writer.start()
    assert enough.wait(timeout=120)
    killed.stop(signal.SIGKILL)  # while the writers are still writing
    for writer in writers:
        writer.join(timeout=60)
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
