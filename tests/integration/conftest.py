"""Handlers on a clock the test controls, swapped in the way the style guide prescribes:
Powertools ``dependency_overrides`` on each route's own app."""

import importlib
from datetime import timedelta

import pytest

from registry import wiring
from registry.devices.service import DeviceService
from registry.domain.values import format_timestamp
from registry.http.routes import ROUTES
from registry.storage.devices import DeviceStore
from tests.support import CLOCK_START, TABLE_NAME


@pytest.fixture
def ticking_clock(dynamodb):
    """Every write the handlers make happens one minute after the previous one, from 06:00Z
    (``tests.support.minute(n)`` is the n-th)."""
    ticks = iter(range(1_000_000))

    def clock() -> str:
        return format_timestamp(CLOCK_START + timedelta(minutes=next(ticks)))

    service = DeviceService(DeviceStore(wiring.dynamodb_client(), TABLE_NAME), clock=clock, sleep=lambda _: None)
    apps = [importlib.import_module(f"handlers.{route.handler}").app for route in ROUTES]
    for app in apps:
        app.dependency_overrides[wiring.get_service] = lambda: service
    yield clock
    for app in apps:
        app.dependency_overrides.pop(wiring.get_service, None)


@pytest.fixture
def timeline_device(ticking_clock, make_device, invoke):
    """A device with seven revisions, one a minute from minute(0): 1 created (Basement) · 2 status
    online · 3 liveness reporting (its first report's sign of life, recorded by the registry) · 4 config
    Roof · 5 status offline "unplugged" · 6 config firmware 2.0 · 7 status online."""
    device = make_device(location="Basement")
    path = f"/devices/{device['id']}"
    invoke("put_status", f"{path}/status", body={"status": "online"})
    invoke("update_device", path, body={"location": "Roof"})
    invoke("put_status", f"{path}/status", body={"status": "offline", "reason": "unplugged"})
    invoke("update_device", path, body={"firmware_version": "2.0"})
    invoke("put_status", f"{path}/status", body={"status": "online", "reason": None})
    return device
