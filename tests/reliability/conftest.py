"""Fixtures for the reliability suite: the figures it measures, printed at the end of the run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

# Figures measured by the tests, printed at the end of the run (docs/reliability.md quotes them).
FIGURES: dict[str, Any] = {}


@pytest.fixture
def figures() -> Iterator[dict[str, Any]]:
    yield FIGURES


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.write_sep("-", "reliability figures")
        for name, value in sorted(FIGURES.items()):
            terminalreporter.write_line(f"{name}: {value}")
