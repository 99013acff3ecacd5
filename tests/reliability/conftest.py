"""Fixtures for the reliability suite: problem-document checks and the figures it reports."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

PROBLEM_JSON = "application/problem+json"

# Figures measured by the tests, printed at the end of the run (docs/reliability.md quotes them).
FIGURES: dict[str, Any] = {}


def assert_problem(response: Any, *statuses: int) -> dict[str, Any]:
    """``response`` (requests or proxy dict) is an RFC 9457 problem with one of ``statuses``."""
    if isinstance(response, dict):
        status, headers, body = response["statusCode"], response["headers"], response.get("json")
    else:
        status, headers, body = response.status_code, response.headers, response.json()
    assert status in statuses, (status, body)
    assert headers["Content-Type"] == PROBLEM_JSON
    assert body["status"] == status and body["title"] and body["detail"], body
    return dict(body)


@pytest.fixture
def figures() -> Iterator[dict[str, Any]]:
    yield FIGURES


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.write_sep("-", "reliability figures")
        for name, value in sorted(FIGURES.items()):
            terminalreporter.write_line(f"{name}: {value}")
