"""Time travel agrees with history, for any sequence of writes: ``as_of`` at each entry's time is
the state replayed from the history up to that entry, and ``diff(a, b)`` applied to the state at
revision ``a`` gives the state at revision ``b``."""

from datetime import timedelta
from itertools import count
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.devices.service import DeviceService
from registry.domain.errors import DeviceNotFound
from registry.domain.values import format_timestamp
from registry.domain.vocabulary import ATTRIBUTE_FIELDS, StatusValue
from registry.schemas import DeviceAttributes, StatusUpdate
from registry.storage.device_reads import HistoryQuery
from tests.support import CLOCK_START

# One moto table serves every example (each registers a device of its own).
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

small_text = st.text(alphabet="abcxyz", min_size=1, max_size=3)
patches = st.fixed_dictionaries(
    {},
    optional={
        "location": st.none() | small_text,
        "firmware_version": st.none() | small_text,
        "attributes": st.none() | st.dictionaries(st.sampled_from(["k1", "k2", "k3"]), st.none() | small_text),
    },
)
statuses = st.builds(StatusUpdate, status=st.sampled_from(list(StatusValue)), reason=st.none() | small_text)
writes = st.lists(st.one_of(patches.map(lambda p: ("config", p)), statuses.map(lambda s: ("status", s))), max_size=8)


@pytest.fixture
def service_at(store):
    """A service on a clock of whole seconds, one second per call, and a MAC address, both of the
    example's own (examples share the table, never a time or an address)."""
    starts = count()

    def make() -> tuple[DeviceService, str]:
        n = next(starts)
        base, ticks = CLOCK_START + timedelta(days=n), count()
        service = DeviceService(store, clock=lambda: format_timestamp(base + timedelta(seconds=next(ticks))))
        return service, f"02:00:00:00:{n // 256:02x}:{n % 256:02x}"

    return make


def replay(entries: list[Any]) -> list[dict[str, Any]]:
    """The whole state after each entry, from the entries alone."""
    config: dict[str, Any] = {}
    status: dict[str, Any] = {"status": StatusValue.UNKNOWN.value, "reason": None}
    states = []
    for entry in entries:
        if entry.kind == "status":
            status = {"status": entry.snapshot["status"], "reason": entry.snapshot["reason"]}
        else:
            config = {field: entry.snapshot[field] for field in ATTRIBUTE_FIELDS}
        states.append({**config, **status, "attributes": dict(config.get("attributes") or {})})
    return states


def apply(state: dict[str, Any], changes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    result = {**state, "attributes": dict(state["attributes"])}
    for field, change in changes.items():
        if field.startswith("attributes."):
            key = field.removeprefix("attributes.")
            if change["new"] is None:
                result["attributes"].pop(key, None)
            else:
                result["attributes"][key] = change["new"]
        else:
            assert state.get(field) == change["old"], field
            result[field] = change["new"]
    return result


@SETTINGS
@given(sequence=writes, delete=st.booleans(), data=st.data())
def test_as_of_and_diff_agree_with_the_replayed_history(service_at, sequence, delete, data):
    service, mac = service_at()
    device = service.register(DeviceAttributes(name="n", device_type="t", mac_address=mac), "p")
    for kind, write in sequence:
        if kind == "config":
            service.update(device.id, write, expected=None, principal="p")
        else:
            service.set_status(device.id, write, expected=None, principal="p")
    if delete:
        service.delete(device.id, expected=None, principal="p")
    entries = service.store.query_history(HistoryQuery(device.id, None, None, None, True, 100, None)).items
    states = replay(entries)

    for entry, state in zip(entries, states, strict=True):
        if entry.kind == "deleted":
            with pytest.raises(DeviceNotFound):
                service.config_as_of(device.id, entry.at)
            with pytest.raises(DeviceNotFound):
                service.status_as_of(device.id, entry.at)
            continue
        config = service.config_as_of(device.id, entry.at).snapshot
        assert {field: config[field] for field in ATTRIBUTE_FIELDS} == {
            field: state[field] for field in ATTRIBUTE_FIELDS
        }
        status = service.status_as_of(device.id, entry.at)
        assert (status["status"], status["reason"]) == (state["status"], state["reason"])

    revisions = st.integers(min_value=1, max_value=len(entries))
    first, second = data.draw(revisions), data.draw(st.none() | revisions)
    got_first, got_second, changes = service.diff_revisions(device.id, first, second)
    assert (got_first, got_second) == (first, second or len(entries))
    assert apply(states[first - 1], changes) == states[got_second - 1]
