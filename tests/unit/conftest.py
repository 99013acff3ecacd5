"""The service on a moto store with a clock and a sleep the tests control."""

from datetime import UTC, datetime, timedelta

import pytest

from registry.devices.service import DeviceService
from registry.domain.values import format_timestamp
from registry.schemas import DeviceAttributes
from tests.support import DeviceBodies


class Clock:
    """Starts at 2026-11-27T06:00:00Z; moves only when told to."""

    def __init__(self) -> None:
        self.moment = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)

    def __call__(self) -> str:
        return format_timestamp(self.moment)

    def advance(self, **delta: float) -> str:
        self.moment += timedelta(**delta)
        return self()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def registry(store, clock, sleeps) -> DeviceService:
    return DeviceService(store, clock=clock, sleep=sleeps.append)


@pytest.fixture
def register(registry):
    """Register a device through the service; a distinct MAC per call unless given."""
    bodies = DeviceBodies()

    def make(**fields):
        return registry.register(DeviceAttributes.model_validate(bodies(**fields)), "alice")

    return make
