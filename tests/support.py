"""Plain helpers and constants the suites share; the fixtures built on them stay in the conftest
files. What an error answer must look like (one ``assert_problem``), the words no answer may
carry, a transaction DynamoDB cancelled, the bodies of test devices, the local paths and names.

Imports nothing from the registry: ``tests/conftest.py`` sets the environment before it does."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.client import parse_headers
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
# The browser origins the tests' local server allows (CORS_ORIGINS).
LOCAL_CORS_ORIGINS = ("http://app.example", "https://admin.example:8443")
TABLE_NAME = "devices-test"
IDEMPOTENCY_TABLE_NAME = "idempotency-test"
DYNAMODB_ENDPOINT = "https://dynamodb.us-east-1.amazonaws.com/"  # for botocore's connection errors
# `make test-future`'s time.sleep shim (tests/faketime/sitecustomize.py): every Python process the
# tests start needs it as pytest has it, or its first sleep fails under libfaketime (Errno 22).
FAKETIME_SHIM = ROOT / "tests" / "faketime"


def python_path() -> str:
    """PYTHONPATH for a Python subprocess of the tests: the Lambda code and the repository (never
    the CLI's source, as a user's process has none), after the faketime shim when it runs."""
    shim = [str(FAKETIME_SHIM)] if os.environ.get("FAKETIME") else []
    return ":".join([*shim, str(ROOT / "functions"), str(ROOT)])


PROBLEM_JSON = "application/problem+json"
# Internal wording that must never reach a client: a stack, the libraries under the API, their
# errors and operations.
LEAKS = (
    "Traceback",
    'File "',
    "DynamoDB",
    "dynamodb",
    "botocore",
    "boto3",
    "ClientError",
    "ConditionalCheck",
    "TransactWriteItems",
    "TransactionCanceled",
    "Exception",
    "RuntimeError",
    "pydantic",
    "errors.pydantic.dev",
)
_PROBLEM_MEMBERS = {"type", "title", "status", "detail", "instance", "errors"}


def _parts(response: Any) -> tuple[int, dict[str, str], str]:
    if isinstance(response, dict):  # a Lambda proxy response from the `invoke` fixture
        return int(response["statusCode"]), response["headers"], response.get("body") or ""
    return response.status_code, dict(response.headers), response.text  # requests.Response


def assert_problem(response: Any, status: int, slug: str | None = None) -> dict[str, Any]:
    """``response`` (a proxy response or a ``requests`` one) is an RFC 9457 problem document
    with this status (and type slug), carrying none of :data:`LEAKS`; returns the document."""
    code, headers, text = _parts(response)
    assert code == status, text[:500]
    content_type = {name.lower(): value for name, value in headers.items()}.get("content-type")
    assert content_type == PROBLEM_JSON, content_type
    problem = json.loads(text)
    assert problem["status"] == status
    assert problem["title"] and problem["detail"] and problem["type"]
    if slug is not None:
        assert problem["type"].rsplit(":", 1)[-1] == slug, problem
    assert set(problem) <= _PROBLEM_MEMBERS, problem
    for leak in LEAKS:
        assert leak not in text, f"{leak!r} leaked: {text}"
    return dict(problem)


def error_fields(problem: dict[str, Any]) -> dict[str, str]:
    """``errors`` as {field: message}; every entry must name a field and say what is wrong."""
    assert problem.get("errors"), problem
    assert all(set(entry) == {"field", "message"} and entry["message"] for entry in problem["errors"])
    return {entry["field"]: entry["message"] for entry in problem["errors"]}


def cancelled(*codes: str) -> dict[str, Any]:
    """The error of a transaction DynamoDB cancelled, with one reason per operation."""
    return {
        "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
        "CancellationReasons": [{"Code": code} for code in codes],
    }


# -- test devices ----------------------------------------------------------------------------


def nth_mac(n: int) -> str:
    """The n-th test MAC address (locally administered: never a real device's)."""
    return f"02:00:00:00:{n // 256:02x}:{n % 256:02x}"


class DeviceBodies:
    """Registration bodies, one per call: ``Device <n>``, a sensor, the n-th MAC address, with
    the fields given over them. The device factories (``make_device``, ``register``) use one."""

    def __init__(self) -> None:
        self._numbers = itertools.count(1)

    def __call__(self, **fields: Any) -> dict[str, Any]:
        n = next(self._numbers)
        return {"name": f"Device {n}", "device_type": "sensor", "mac_address": nth_mac(n), **fields}


# -- time -------------------------------------------------------------------------------------

# The integration suite's ``ticking_clock``: its n-th write happens n minutes after this.
CLOCK_START = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)


def minute(n: int) -> str:
    """The time of the n-th tick of ``ticking_clock`` (0 is 06:00Z), as the API writes times
    (written out here, not by the registry's own formatter)."""
    return (CLOCK_START + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- a raw HTTP/1.1 client: bytes written as given, answers read in order ---------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def problem(self, status: int, slug: str | None = None) -> dict[str, Any]:
        return assert_problem(
            {"statusCode": self.status, "headers": self.headers, "body": self.body.decode()}, status, slug
        )


class Client:
    """One connection, bytes written as given, answers read in order."""

    def __init__(self, url: str) -> None:
        where = urlsplit(url)
        self.host = where.netloc
        self.sock = socket.create_connection((where.hostname, where.port), timeout=30)
        self.stream: BinaryIO = self.sock.makefile("rb")

    def send(self, raw: bytes) -> None:
        self.sock.sendall(raw)

    def request(self, method: str, path: str, body: bytes = b"", headers: tuple[str, ...] = ()) -> bytes:
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}", *headers]
        if body and not any(line.lower().startswith(("content-length", "transfer-encoding")) for line in headers):
            head.append(f"Content-Length: {len(body)}")
        return "\r\n".join(head).encode() + b"\r\n\r\n" + body

    def answer(self, *, head: bool = False) -> Answer | None:
        """The next answer, or None if the server closed the connection."""
        line = self.stream.readline()
        if not line:
            return None
        status = int(line.split(b" ", 2)[1])
        message = parse_headers(self.stream)  # type: ignore[arg-type]
        headers = {name: value for name, value in message.items()}
        length = 0 if head or status in (204, 304) else int(message.get("Content-Length", 0))
        return Answer(status, headers, self.stream.read(length))

    def closed(self) -> bool:
        return self.stream.read(1) == b""

    def close(self) -> None:
        self.stream.close()
        self.sock.close()


@contextmanager
def connection(url: str) -> Iterator[Client]:
    client = Client(url)
    try:
        yield client
    finally:
        client.close()


def device_body() -> bytes:
    """A device to register, with a random locally administered MAC, as bytes to send."""
    mac = ":".join(f"{b:02x}" for b in [0x0A, *uuid.uuid4().bytes[:5]])
    return json.dumps({"name": "Framed", "device_type": "sensor", "mac_address": mac}).encode()


# The line the local server prints once it listens (local/server.py, main): its URL, then its DynamoDB's.
_ANNOUNCED = re.compile(r"Device Registry API on (http://\S+) \((?:embedded DynamoDB at )?(http://[^,;)]+)")


class LocalServer:
    """``python -m local.server`` as a user starts it, its output in ``log``; ``environment`` over
    ours (never a data directory unless given: in memory, as tests need). It binds a free port of
    its own (``PORT=0``), as its embedded DynamoDB does, and ``start`` reads both from the line it
    prints: a port picked here and bound there later could be taken in between by any process of
    a busy machine (another server's DynamoDB, say), and the tests would talk to that instead."""

    def __init__(self, log: Path, **environment: str) -> None:
        self.log = log
        self.url = ""  # both known once started
        self.dynamodb_endpoint = ""
        self.env = {k: v for k, v in os.environ.items() if k not in {"TABLE_NAME", "IDEMPOTENCY_TABLE_NAME"}}
        self.env.pop("LOCAL_DATA_DIR", None)
        self.env.update(PORT="0", HOST="127.0.0.1", PYTHONPATH=python_path(), PYTHONUNBUFFERED="1")
        self.env.update(environment)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 300) -> str:
        # A bound, not a speed check: a start takes seconds, but minutes on a saturated machine
        # (a whole suite under faketime with other work beside it once took over 120 s).
        logged = self.log.stat().st_size if self.log.exists() else 0  # earlier runs' lines stay
        self.url = self.dynamodb_endpoint = ""  # a restart takes new ports
        with self.log.open("a") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "local.server"],
                cwd=ROOT,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while True:
            if not self.url and (
                announced := _ANNOUNCED.search(self.log.read_bytes()[logged:].decode("utf-8", "replace"))
            ):
                self.url, self.dynamodb_endpoint = announced.groups()
            if self.url:
                with contextlib.suppress(requests.RequestException):  # still warming up
                    requests.get(f"{self.url}/devices", timeout=1)
                    return self.url
            if (code := self.process.poll()) is not None or time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):  # its execution environments too
                    os.killpg(self.process.pid, signal.SIGKILL)
                why = f"exited with code {code}" if code is not None else f"not answering after {timeout:.0f} s"
                log = self.log.read_text()
                raise RuntimeError(f"local server did not start ({why}); its log {self.log}:\n{log}") from None
            time.sleep(0.1)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stops it with ``sig`` (SIGINT: Ctrl-C; SIGKILL: the server and its execution
        environments, with no chance to tidy up)."""
        assert self.process is not None
        if sig == signal.SIGKILL:
            os.killpg(self.process.pid, sig)
        else:
            self.process.send_signal(sig)
        self.process.wait(timeout=30)

    def close(self) -> None:
        """Whatever a failed test left running goes (it runs in a session of its own)."""
        if self.process is not None and self.process.poll() is None:
            self.stop(signal.SIGKILL)


# DynamoDB's own words (as dynalite, written against the service, has them; moto 5.x checks nothing).
START_KEY_OUTSIDE = "The provided starting key is outside query boundaries based on provided conditions"
_BETWEEN = re.compile(r"([#\w]+) BETWEEN (:\w+) AND (:\w+)")
_EQUALS = re.compile(r"([#\w]+) = (:\w+)")
_BEGINS = re.compile(r"begins_with\(([#\w]+), (:\w+)\)")


def refuse_start_keys_outside_the_key_condition(client: Any) -> None:
    """Make ``client``'s Query refuse an ``ExclusiveStartKey`` outside its key condition with the
    ValidationException DynamoDB answers (a botocore hook answering in the service's place)."""

    def outside(params: dict[str, Any]) -> bool:
        start, condition = params.get("ExclusiveStartKey"), str(params.get("KeyConditionExpression", ""))
        names, values = params.get("ExpressionAttributeNames") or {}, params.get("ExpressionAttributeValues") or {}

        def key(name: str) -> str | None:
            value = (start or {}).get(names.get(name, name))
            return None if value is None else next(iter(value.values()))

        def value(placeholder: str) -> str:
            return str(next(iter(values[placeholder].values())))

        checks = [
            *(
                key(a) is not None and not value(low) <= str(key(a)) <= value(high)
                for a, low, high in _BETWEEN.findall(condition)
            ),
            *(key(a) is not None and str(key(a)) != value(v) for a, v in _EQUALS.findall(_BETWEEN.sub("", condition))),
            *(key(a) is not None and not str(key(a)).startswith(value(p)) for a, p in _BEGINS.findall(condition)),
        ]
        return start is not None and any(checks)

    def answer(params: dict[str, Any], **_: Any) -> Any:
        return start_key_refused() if outside(json.loads(params["body"])) else None

    client.meta.events.register("before-call.dynamodb.Query", answer)


def start_key_refused() -> tuple[Any, dict[str, Any]]:
    """What a botocore ``before-call`` hook returns to answer in DynamoDB's place: its refusal
    of a start key (HTTP 400, ValidationException)."""
    error = {"Error": {"Code": "ValidationException", "Message": START_KEY_OUTSIDE}}
    return type("Refused", (), {"status_code": 400, "headers": {}})(), error
