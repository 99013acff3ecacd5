"""Hostile input through the local HTTP server: every kind gets a clear 4xx problem document and
changes nothing (the device, its status, its history and the device list read back the same).

Requests are written byte by byte on a socket, so that what an HTTP client library would refuse
to send (CR LF inside a header, raw non-UTF-8 bytes) reaches the server too."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.client import HTTPResponse
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import requests

from registry.storage import keys as table
from tests.support import PROBLEM_JSON, LocalServer, assert_problem

KiB = 1024
UNKNOWN = "0190f5e2-7a3b-7c1d-9e2f-3a4b5c6d7e8f"
# Our storage layout: key prefixes and index key names. An answer may echo what the request sent
# (a query parameter named pk is refused by that name), never name any of these on its own.
STORAGE_NAMES = (
    table.DEVICE_PREFIX,
    table.MAC_PREFIX,
    table.REVISION_PREFIX,
    *(name for name in table.string_attributes() if name.startswith(("h_", "list_"))),
)


@dataclass(frozen=True)
class Hostile:
    kind: str
    method: str
    path: str  # {id} is the target device
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)
    expect: tuple[int, str] = field(kw_only=True)  # the status and problem type docs/reliability.md states


TOO_LARGE = (413, "payload-too-large")
MALFORMED = (400, "malformed-json")
INVALID = (422, "validation-failed")
MEDIA_TYPE = (415, "unsupported-media-type")
BAD_HEADER = (400, "invalid-header")


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


VALID = {"name": "Hostile", "device_type": "sensor", "mac_address": "02:ee:00:00:00:99"}
CASES = [
    # size
    Hostile(
        "body over 64 KiB (POST)", "POST", "/devices", _json({**VALID, "location": "x" * 70 * KiB}), expect=TOO_LARGE
    ),
    Hostile("body over 64 KiB (PATCH)", "PATCH", "/devices/{id}", b" " * (64 * KiB + 1), expect=TOO_LARGE),
    Hostile("body of 1 MiB (PUT status)", "PUT", "/devices/{id}/status", b"[" * (1024 * KiB), expect=TOO_LARGE),
    Hostile("body on a GET over 64 KiB", "GET", "/devices/{id}", b"x" * (65 * KiB), expect=TOO_LARGE),
    # deep or huge JSON
    Hostile("100k nested arrays", "POST", "/devices", b"[" * 100_000 + b"]" * 100_000, expect=TOO_LARGE),
    Hostile("30k nested arrays (under the limit)", "POST", "/devices", b"[" * 30_000 + b"]" * 30_000, expect=MALFORMED),
    Hostile("10k nested objects", "PATCH", "/devices/{id}", b'{"a":' * 10_000 + b"1" + b"}" * 10_000, expect=MALFORMED),
    Hostile("unclosed nesting", "POST", "/devices", b"[" * 65_000, expect=MALFORMED),
    Hostile(
        "nested value in attributes",
        "PATCH",
        "/devices/{id}",
        b'{"attributes": {"k": ' + b"[" * 500 + b"]" * 500 + b"}}",
        expect=INVALID,
    ),
    Hostile("5000-digit number", "POST", "/devices", b'{"name": ' + b"9" * 5000 + b"}", expect=MALFORMED),
    Hostile(
        "1e999999 (infinity)",
        "PUT",
        "/devices/{id}/status",
        b'{"status": "online", "reason": 1e999999}',
        expect=INVALID,
    ),
    Hostile("NaN literal", "PATCH", "/devices/{id}", b'{"location": NaN}', expect=INVALID),
    Hostile(
        "4000 attribute keys",
        "PATCH",
        "/devices/{id}",
        _json({"attributes": {f"k{i}": "v" for i in range(4000)}}),
        expect=INVALID,
    ),
    Hostile(
        "duplicate object keys, one invalid",
        "PATCH",
        "/devices/{id}",
        b'{"location": "a", "location": 7}',
        expect=INVALID,
    ),
    # encodings
    Hostile("non-UTF-8 bytes", "POST", "/devices", b'{"name": "\xff\xfe\xfd"}', expect=MALFORMED),
    Hostile("UTF-16 body", "PUT", "/devices/{id}/status", '{"status": "online"}'.encode("utf-16"), expect=MALFORMED),
    Hostile("lone surrogate escape", "PATCH", "/devices/{id}", b'{"location": "\\ud800"}', expect=INVALID),
    Hostile("JSON that is a string", "PUT", "/devices/{id}/status", b'"online"', expect=INVALID),
    Hostile("empty body on POST", "POST", "/devices", b"", expect=MALFORMED),
    # content types
    Hostile("text/plain", "POST", "/devices", _json(VALID), (("Content-Type", "text/plain"),), expect=MEDIA_TYPE),
    Hostile(
        "form encoded",
        "PUT",
        "/devices/{id}/status",
        b"status=online",
        (("Content-Type", "application/x-www-form-urlencoded"),),
        expect=MEDIA_TYPE,
    ),
    Hostile(
        "multipart",
        "POST",
        "/devices",
        b"--b\r\n\r\n--b--",
        (("Content-Type", "multipart/form-data; boundary=b"),),
        expect=MEDIA_TYPE,
    ),
    Hostile(
        "merge patch on POST",
        "POST",
        "/devices",
        _json(VALID),
        (("Content-Type", "application/merge-patch+json"),),
        expect=MEDIA_TYPE,
    ),
    # query parameters
    Hostile("repeated limit, the last out of range", "GET", "/devices?limit=2&limit=0", expect=INVALID),
    Hostile("limit 0", "GET", "/devices?limit=0", expect=INVALID),
    Hostile("limit 101", "GET", "/devices/{id}/history?limit=101", expect=INVALID),
    Hostile("limit 10^30", "GET", "/devices?limit=" + "1" * 31, expect=INVALID),
    Hostile("limit -1", "GET", "/devices/{id}/history?limit=-1", expect=INVALID),
    Hostile("limit 1e2", "GET", "/devices?limit=1e2", expect=INVALID),
    Hostile("limit empty", "GET", "/devices?limit=", expect=INVALID),
    Hostile("query parameter on a write", "DELETE", "/devices/{id}?pk=DEVICE%23x", expect=INVALID),
    Hostile("order sideways", "GET", "/devices/{id}/history?order=sideways", expect=INVALID),
    Hostile("since not a time", "GET", "/devices/{id}/history?since=yesterday", expect=INVALID),
    Hostile("since year 10000", "GET", "/devices/{id}/history?since=10000-01-01T00:00:00Z", expect=INVALID),
    Hostile("status filter injection", "GET", "/devices?status=online%27%20OR%201%3D1", expect=INVALID),
    Hostile("query over 64 KiB", "GET", "/devices?cursor=" + "A" * 70 * KiB, expect=(414, "uri-too-long")),
    # path ids
    Hostile("id not a UUID", "GET", "/devices/not-a-uuid", expect=INVALID),
    Hostile("id of 32 hex digits", "GET", "/devices/" + "a" * 32, expect=INVALID),
    Hostile("id in braces", "PATCH", "/devices/{" + UNKNOWN + "}", _json({"location": "x"}), expect=INVALID),
    Hostile("id as urn", "DELETE", "/devices/urn:uuid:" + UNKNOWN, expect=INVALID),
    Hostile("id with NUL", "PUT", "/devices/%00/status", _json({"status": "online"}), expect=INVALID),
    Hostile("id of 10k characters", "GET", "/devices/" + "9" * 10_000, expect=INVALID),
    Hostile("id with a key prefix", "GET", "/devices/DEVICE%23" + UNKNOWN, expect=INVALID),
    Hostile("path traversal", "GET", "/devices/..%2F..%2Fetc%2Fpasswd/status", expect=INVALID),
    Hostile("revision 0", "GET", "/devices/{id}/history/0", expect=INVALID),
    Hostile("revision 10^20", "GET", "/devices/{id}/history/" + "1" * 21, expect=INVALID),
    Hostile("revision not a number", "GET", "/devices/{id}/history/REV%23000000000001", expect=INVALID),
    # headers
    Hostile(
        "If-Match with CR LF injection",
        "PATCH",
        "/devices/{id}",
        _json({"location": "x"}),
        # On the wire these are two If-Match lines, one list (RFC 9110 §5.3): neither tag is current.
        (("Content-Type", "application/json"), ("If-Match", '"7"\r\nX-Injected: yes\r\nIf-Match: "9"')),
        expect=(412, "precondition-failed"),
    ),
    Hostile(
        "If-Match of 8 KiB",
        "PUT",
        "/devices/{id}/status",
        _json({"status": "error"}),
        (("Content-Type", "application/json"), ("If-Match", '"1", ' * 1600)),
        expect=BAD_HEADER,
    ),
    Hostile(
        "If-Match not an entity tag", "DELETE", "/devices/{id}", headers=(("If-Match", "1 OR 1=1"),), expect=BAD_HEADER
    ),
    Hostile(
        "If-Match of 70 KiB",
        "DELETE",
        "/devices/{id}",
        headers=(("If-Match", "x" * 70 * KiB),),
        expect=(431, "request-header-fields-too-large"),
    ),
    Hostile(
        "Idempotency-Key of 300 characters",
        "PUT",
        "/devices/{id}/status",
        _json({"status": "error"}),
        (("Content-Type", "application/json"), ("Idempotency-Key", "k" * 300)),
        expect=BAD_HEADER,
    ),
    Hostile(
        "Idempotency-Key with control characters",
        "PATCH",
        "/devices/{id}",
        _json({"location": "x"}),
        (("Content-Type", "application/json"), ("Idempotency-Key", "a\x01b\x7f")),
        expect=BAD_HEADER,
    ),
    Hostile(
        "Idempotency-Key with spaces",
        "DELETE",
        "/devices/{id}",
        headers=(("Idempotency-Key", "a b"),),
        expect=BAD_HEADER,
    ),
    Hostile(
        "Idempotency-Key with non-ASCII",
        "POST",
        "/devices",
        _json(VALID),
        (("Content-Type", "application/json"), ("Idempotency-Key", "clé")),
        expect=BAD_HEADER,
    ),
    Hostile("request line garbage", "BREW", "/devices/{id}", expect=(405, "method-not-allowed")),
]


def _send(url: str, case: Hostile, device_id: str) -> tuple[int, dict[str, str], bytes]:
    where = urlsplit(url)
    head = [f"{case.method} {case.path.replace('{id}', device_id)} HTTP/1.1", f"Host: {where.netloc}"]
    head += [f"{name}: {value}" for name, value in case.headers]
    head += [f"Content-Length: {len(case.body)}", "Connection: close"]
    raw = "\r\n".join(head).encode("utf-8") + b"\r\n\r\n" + case.body
    with socket.create_connection((where.hostname, where.port), timeout=60) as sock:
        sock.sendall(raw)
        response = HTTPResponse(sock)
        response.begin()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def _snapshot(url: str, device_id: str) -> tuple[Any, ...]:
    device = requests.get(f"{url}/devices/{device_id}", timeout=30)
    status = requests.get(f"{url}/devices/{device_id}/status", timeout=30).json()
    history = requests.get(f"{url}/devices/{device_id}/history", params={"limit": "100"}, timeout=30).json()
    listed, cursor = [], None
    while True:
        page = requests.get(
            f"{url}/devices", params={"limit": "100", **({"cursor": cursor} if cursor else {})}, timeout=30
        ).json()
        listed += page["items"]
        if not (cursor := page["next_cursor"]):
            break
    return device.json(), device.headers["ETag"], status, history, listed


@pytest.fixture(scope="module")
def local_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server of this module's own: every case reads the whole device list back twice, and
    the session's server lists whatever the other suites registered (816 devices in a full run,
    9 pages each time)."""
    server = LocalServer(tmp_path_factory.mktemp("hostile") / "server.log")
    yield server.start()
    server.stop()


@pytest.fixture(scope="module")
def target(local_server: str) -> str:
    created = requests.post(f"{local_server}/devices", json={**VALID, "mac_address": "02:ee:00:00:00:01"}, timeout=30)
    assert created.status_code == 201
    return str(created.json()["id"])


@pytest.mark.parametrize("case", CASES, ids=[case.kind for case in CASES])
def test_hostile_request_is_a_clear_4xx_and_changes_nothing(local_server, target, figures, case):
    before = _snapshot(local_server, target)
    status, headers, body = _send(local_server, case, target)
    text = body.decode("utf-8", "replace")
    assert_problem({"statusCode": status, "headers": headers, "body": text}, *case.expect)
    sent = unquote(case.path) + case.body.decode("utf-8", "replace")
    assert not [name for name in STORAGE_NAMES if name in text and name not in sent], text
    assert _snapshot(local_server, target) == before
    figures["hostile input: kinds tried (all 4xx problem, nothing changed)"] = len(CASES)


# -- cursors edited by hand ------------------------------------------------------------------


def _decode(cursor: str) -> dict[str, Any]:
    return dict(json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))))


def _encode(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {key for inner in value.values() for key in _keys(inner)}
    if isinstance(value, list):
        return {key for inner in value for key in _keys(inner)}
    return set()


def test_a_history_cursor_pointed_at_another_device_reaches_only_that_devices_own_entries(local_server):
    mine, theirs = (
        requests.post(f"{local_server}/devices", json={**VALID, "mac_address": mac}, timeout=30).json()["id"]
        for mac in ("02:ee:00:00:00:02", "02:ee:00:00:00:03")
    )
    for n in range(4):
        requests.put(
            f"{local_server}/devices/{mine}/status", json={"status": "online", "reason": f"mine {n}"}, timeout=30
        )
        requests.put(
            f"{local_server}/devices/{theirs}/status", json={"status": "error", "reason": f"theirs {n}"}, timeout=30
        )
    page = requests.get(f"{local_server}/devices/{mine}/history", params={"limit": "2"}, timeout=30).json()
    cursor = _decode(page["next_cursor"])
    assert set(cursor) <= {"r", "a"}, "a cursor names no table key"

    # The cursor, as is and with its revision moved, used on the other device's history.
    for edited in (page["next_cursor"], _encode({**cursor, "r": 3}), _encode({**cursor, "r": 99})):
        answer = requests.get(f"{local_server}/devices/{theirs}/history", params={"cursor": edited}, timeout=30)
        assert answer.status_code == 200
        reasons = [entry["snapshot"].get("reason") for entry in answer.json()["items"] if entry["kind"] == "status"]
        assert all(reason.startswith("theirs") for reason in reasons), reasons

    # Cursors carrying table keys, other devices' ids or the wrong shape are refused.
    forged = [
        _encode({**cursor, table.PK: table.device_pk(theirs)}),
        _encode({"r": cursor["r"], "a": cursor["a"], "d": theirs}),
        _encode(table.revision_key(theirs, 1)),
        _encode({"r": -1, "a": cursor["a"]}),
        _encode({"r": True, "a": cursor["a"]}),
        _encode({"r": 1, "a": "' OR 1=1"}),
        _encode([1, 2]),
        _encode({"d": theirs}),  # a device-list cursor
        page["next_cursor"] + "x",
    ]
    for token in forged:
        refused = requests.get(f"{local_server}/devices/{mine}/history", params={"cursor": token}, timeout=30)
        assert refused.status_code == 400 and refused.headers["Content-Type"] == PROBLEM_JSON, token


def test_a_device_list_cursor_edited_by_hand_never_shows_a_deleted_device_or_a_table_key(local_server):
    gone = requests.post(f"{local_server}/devices", json={**VALID, "mac_address": "02:ee:00:00:00:04"}, timeout=30)
    gone_id = gone.json()["id"]
    assert requests.delete(f"{local_server}/devices/{gone_id}", timeout=30).status_code == 204
    for edited in (
        _encode({"d": gone_id}),
        _encode({"d": UNKNOWN}),
        _encode({"d": "00000000-0000-0000-0000-000000000000"}),
    ):
        page = requests.get(f"{local_server}/devices", params={"cursor": edited, "limit": "100"}, timeout=30)
        assert page.status_code == 200
        assert gone_id not in {item["id"] for item in page.json()["items"]}
        assert not _keys(page.json()) & {"pk", "sk", "device_id", "list_all"}
    claim = table.mac_claim_key("02:ee:00:00:00:04")
    for token in (_encode({"d": gone_id, **claim}), _encode({"d": table.device_pk(gone_id)})):
        refused = requests.get(f"{local_server}/devices", params={"cursor": token}, timeout=30)
        assert refused.status_code == 400 and refused.headers["Content-Type"] == PROBLEM_JSON
