"""Handlers on a clock the test controls, swapped in the way the style guide prescribes:
Powertools ``dependency_overrides`` on each route's own app."""

import importlib
from datetime import UTC, datetime, timedelta

import pytest

from registry import wiring
from registry.routes import ROUTES
from registry.service import DeviceService
from registry.store import DeviceStore
from registry.types import format_timestamp
from tests.conftest import TABLE_NAME

START = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)


@pytest.fixture
def ticking_clock(dynamodb):
    """Every write the handlers make happens one minute after the previous one, from 06:00Z."""
    ticks = iter(range(1_000_000))

    def clock() -> str:
        return format_timestamp(START + timedelta(minutes=next(ticks)))

    service = DeviceService(DeviceStore(wiring.dynamodb_client(), TABLE_NAME), clock=clock, sleep=lambda _: None)
    apps = [importlib.import_module(f"handlers.{route.handler}").app for route in ROUTES]
    for app in apps:
        app.dependency_overrides[wiring.get_service] = lambda: service
    yield clock
    for app in apps:
        app.dependency_overrides.pop(wiring.get_service, None)


def minute(n: int) -> str:
    """The time of the n-th tick of :func:`ticking_clock` (0 is 06:00Z)."""
    return format_timestamp(START + timedelta(minutes=n))


COST_FIGURES = pytest.StashKey[list[str]]()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """The DynamoDB cost figures test_dynamodb_cost.py measured, for quoting."""
    for table in config.stash.get(COST_FIGURES, []):
        terminalreporter.write_sep("-", table.splitlines()[0])
        terminalreporter.write_line("\n".join(table.splitlines()[1:]))
