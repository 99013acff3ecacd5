"""What a new user trips on with the ``registry`` command (issue 21 item 11): a URL without its
scheme and a server that is not running fail at once with the reason; ``--since`` takes a date and a
time ago; ``registry history`` reads at 80 columns."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from typer.testing import CliRunner

from registry_cli.client import Registry, Unreachable, UsageError
from registry_cli.main import Connection, app
from registry_cli.times import parse_time

NOW = datetime(2031, 5, 17, 12, 30, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("2026-12-06", "2026-12-06T00:00:00.000Z"),
        ("24h", "2031-05-16T12:30:00.000Z"),
        ("90s", "2031-05-17T12:28:30.000Z"),
        ("30m", "2031-05-17T12:00:00.000Z"),
        ("7d", "2031-05-10T12:30:00.000Z"),
        ("2w", "2031-05-03T12:30:00.000Z"),
        ("2026-11-27T08:00:00Z", "2026-11-27T08:00:00.000Z"),
        ("2026-11-27T09:00:00+01:00", "2026-11-27T08:00:00.000Z"),
    ],
)
def test_a_time_is_a_timestamp_a_date_or_a_time_ago(typed: str, sent: str) -> None:
    assert parse_time(typed, lambda: NOW) == sent


@pytest.mark.parametrize("typed", ["yesterday", "24 hours", "2026-13-01", "2026-11-27T08:00:00", "-5m"])
def test_anything_else_is_refused_naming_what_is_accepted(typed: str) -> None:
    with pytest.raises(ValueError, match=r"a date|time zone"):
        parse_time(typed, lambda: NOW)


def test_a_url_without_its_scheme_is_refused_before_anything_is_sent() -> None:
    sent: list[httpx.Request] = []
    with pytest.raises(UsageError, match="http:// or https://"):
        Registry("127.0.0.1:3000", transport=httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(200)))
    result = CliRunner().invoke(app, ["--url", "localhost:3000", "get", "d1"])
    assert result.exit_code == 2 and "http:// or https://" in result.output
    assert sent == []


def test_a_refused_connection_fails_at_once_with_the_reason() -> None:
    attempts: list[httpx.Request] = []
    sleeps: list[float] = []

    def refused(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    registry = Registry("http://127.0.0.1:9", transport=httpx.MockTransport(refused), sleep=sleeps.append)
    with pytest.raises(Unreachable, match="connection was refused"):
        registry.request("GET", "/devices")
    assert len(attempts) == 1 and sleeps == []  # no retry, no wait


def test_a_server_that_is_not_running_is_reported_at_once_by_the_real_transport() -> None:
    started = time.monotonic()
    result = CliRunner().invoke(app, ["--url", "http://127.0.0.1:9", "get", "d1"])  # port 9: discard, closed
    assert result.exit_code == 1 and "connection was refused" in result.output, result.output
    print(f"reported after {time.monotonic() - started:.2f} s")  # was 20 s of silence


def test_since_is_sent_as_the_api_timestamp() -> None:
    seen: list[httpx.URL] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json={"items": [], "next_cursor": None})

    before = datetime.now(UTC)
    result = CliRunner().invoke(
        app,
        ["history", "d1", "--since", "24h", "--until", "2030-01-02"],
        obj=Connection(transport=httpx.MockTransport(answer)),
    )
    after = datetime.now(UTC)
    assert result.exit_code == 0, result.output
    since = datetime.fromisoformat(seen[0].params["since"])
    assert before - timedelta(hours=24, seconds=1) <= since <= after - timedelta(hours=24) + timedelta(seconds=1)
    assert seen[0].params["until"] == "2030-01-02T00:00:00.000Z"
    refused = CliRunner().invoke(app, ["history", "d1", "--since", "last week"], obj=Connection())
    assert refused.exit_code == 2 and "a time ago" in refused.output


def test_history_reads_at_80_columns() -> None:
    entries = [
        {
            "revision": 12,
            "kind": "config",
            "at": "2026-12-06T08:15:42.123Z",
            "changed_by": "client-credentials-operator-app",
            "changes": {
                "location": {"old": "warehouse 7, aisle 3", "new": "warehouse 9, aisle 12"},
                "attributes": {"old": {"rack": 4}, "new": {"rack": 5, "slot": "b"}},
                "firmware_version": {"old": None, "new": "2.4.1"},
            },
        }
    ]

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"items": entries, "next_cursor": None})

    result = CliRunner(env={"COLUMNS": "80"}).invoke(
        app, ["history", "d1"], obj=Connection(transport=httpx.MockTransport(answer))
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80, result.output
    assert lines[0] == "#12  config  2026-12-06 08:15:42.123 UTC  by client-credentials-operator-app"
    assert "    location: warehouse 7, aisle 3 → warehouse 9, aisle 12" in lines
    assert '    attributes: {"rack": 4} → {"rack": 5, "slot": "b"}' in lines  # JSON, not a Python repr
    assert "    firmware_version: (none) → 2.4.1" in lines
