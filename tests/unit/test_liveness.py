"""Liveness on the service and a moto store, with an injected clock: signs of life at most once
per resolution, the sweep finding only the devices due, each transition a ``liveness`` revision
made by the registry that moves neither ``version`` nor ``config_version``."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from registry.devices.service import DeviceService
from registry.devices.sweep import sweep
from registry.domain.errors import PreconditionFailed, ValidationFailed
from registry.domain.fleet import FleetFilter
from registry.domain.liveness import LivenessRules
from registry.domain.versions import ExpectedVersion
from registry.schemas import DeviceAttributes, StatusUpdate
from registry.storage import keys
from registry.storage.codec import encode
from registry.storage.device_reads import HistoryQuery
from registry.stream import stats
from registry.stream.change_events import change_event
from tests.support import DeviceBodies

# Resolution 60 s, 3 missed reports of the default 300 s: silent 900 s after registration, or
# 60 + 900 s after the last refresh.
RULES = LivenessRules(resolution_s=60, missed_reports=3, default_interval_s=300, min_interval_s=60)


@pytest.fixture
def live(store, clock, sleeps) -> DeviceService:
    return DeviceService(store, clock=clock, sleep=sleeps.append, rules=RULES)


@pytest.fixture
def calls(store) -> Counter[str]:
    counted: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        counted[model.name] += 1

    store.client.meta.events.register("before-call.dynamodb", count)
    return counted


@pytest.fixture
def device(live):
    bodies = DeviceBodies()

    def make(**fields: Any):
        return live.register(DeviceAttributes.model_validate(bodies(**fields)), "alice")

    return make


def report(live, device_id: str, status: str = "online"):
    return live.report(device_id, StatusUpdate(status=status), expected=None, principal="device:1")


def liveness_entries(live, device_id: str):
    page = live.store.query_history(HistoryQuery(device_id, "liveness", None, None, True, 100, None))
    return page.items


def test_a_registered_device_is_pending_never_seen_and_awaited_for_the_window(live, device):
    created = device()

    state, seen = live.status_of(created.id)

    assert (state.liveness, seen.liveness, seen.last_seen_at) == ("pending", "pending", None)
    assert seen.deadline == "2026-11-27T06:15:00.000Z"  # 3 × 300 s after registration


def test_the_first_report_makes_it_reporting_as_a_liveness_revision_of_the_registry(live, device, clock):
    created = device()
    clock.advance(seconds=10)

    state, seen = report(live, created.id)

    assert (seen.liveness, seen.last_seen_at) == ("reporting", "2026-11-27T06:00:10.000Z")
    assert seen.deadline == "2026-11-27T06:16:10.000Z"  # + resolution + window
    assert (state.revision, state.status_version, state.config_version) == (3, 2, 1)
    [entry] = liveness_entries(live, created.id)
    assert (entry.revision, entry.kind, entry.changed_by) == (3, "liveness", "registry")
    assert entry.changes == {"liveness": {"old": "pending", "new": "reporting"}}
    assert entry.snapshot == {"liveness": "reporting", "last_seen_at": "2026-11-27T06:00:10.000Z"}


def test_reports_within_the_resolution_write_nothing_and_the_next_one_refreshes(live, device, clock, calls):
    created = device()
    report(live, created.id)
    calls.clear()

    clock.advance(seconds=59)
    _, unchanged = report(live, created.id)
    assert unchanged.last_seen_at == "2026-11-27T06:00:00.000Z"
    assert calls == Counter({"Query": 1})  # the state and the sign of life, read together

    calls.clear()
    clock.advance(seconds=1)
    state, refreshed = report(live, created.id)
    assert refreshed.last_seen_at == "2026-11-27T06:01:00.000Z"
    assert calls == Counter({"Query": 1, "PutItem": 1})  # one small conditional put, no revision
    assert state.revision == 3 and live.status_of(created.id)[1] == refreshed


def test_a_refused_report_is_no_sign_of_life(live, device, clock):
    created = device()
    clock.advance(seconds=30)
    stale = live.store.get_device(created.id)
    with pytest.raises(PreconditionFailed):
        live.report(
            created.id,
            StatusUpdate(status="online"),
            expected=_expected(stale.status_version + 5),
            principal="device:1",
        )
    assert live.status_of(created.id)[1].last_seen_at is None


def _expected(version: int) -> ExpectedVersion:
    return ExpectedVersion(frozenset({version}))


def test_the_sweep_silences_exactly_the_devices_whose_deadline_passed(live, device, clock, calls):
    quiet, chatty = device(), device()
    report(live, quiet.id)
    clock.advance(seconds=600)
    newcomer_at = clock()
    newcomer = device()
    report(live, chatty.id)
    clock.advance(seconds=361)  # 06:16:01: quiet's deadline (06:16:00) passed, chatty's not

    calls.clear()
    result = sweep(live)

    assert (result.due, result.silenced) == (1, 1)
    assert calls["Query"] == keys.DUE_SHARDS + 1  # one per shard, then the device due, read again
    assert calls["TransactWriteItems"] == 1
    assert [live.status_of(d.id)[1].liveness for d in (quiet, chatty, newcomer)] == ["silent", "reporting", "pending"]
    [_, silenced] = liveness_entries(live, quiet.id)
    assert silenced.changes == {"liveness": {"old": "reporting", "new": "silent"}}
    assert silenced.snapshot == {"liveness": "silent", "last_seen_at": "2026-11-27T06:00:00.000Z"}
    assert silenced.at == clock()
    assert newcomer_at < clock()
    assert sweep(live).due == 0  # a silent device is awaited no more


def test_a_device_that_never_reports_goes_silent_with_last_seen_at_null(live, device, clock):
    created = device()
    clock.advance(seconds=900)

    assert sweep(live).silenced == 1

    state, seen = live.status_of(created.id)
    assert (seen.liveness, seen.last_seen_at, state.revision) == ("silent", None, 2)
    [entry] = liveness_entries(live, created.id)
    assert entry.changes == {"liveness": {"old": "pending", "new": "silent"}}
    assert entry.snapshot == {"liveness": "silent", "last_seen_at": None}


def test_a_report_from_a_silent_device_makes_it_reporting_at_once(live, device, clock):
    created = device()
    clock.advance(seconds=900)
    sweep(live)
    clock.advance(seconds=5)

    state, seen = report(live, created.id, status="unknown")  # the same status: no status revision

    assert (seen.liveness, seen.last_seen_at) == ("reporting", clock())
    assert (state.revision, state.status_version, state.config_version) == (3, 1, 1)
    kinds = [entry.changes["liveness"]["new"] for entry in liveness_entries(live, created.id)]
    assert kinds == ["silent", "reporting"]


def test_a_device_deleted_while_due_is_forgotten_not_silenced(live, device, clock):
    created = device()
    live.delete(created.id, expected=None, principal="alice")
    clock.advance(seconds=900)

    assert (sweep(live).due, sweep(live).due) == (1, 0)
    assert live.store.get_device(created.id).revision == 2  # created, deleted: no liveness entry


@pytest.mark.parametrize("interval", [1, 59])
def test_a_report_interval_below_the_deployments_least_is_422_naming_it(live, device, interval):
    with pytest.raises(ValidationFailed) as refused:
        device(report_interval_s=interval)
    assert refused.value.errors == [
        {"field": "report_interval_s", "message": "report_interval_s must be at least 60 seconds in this deployment"}
    ]


def test_a_new_report_interval_moves_the_deadline_in_the_same_revision(live, device, clock):
    created = device()
    report(live, created.id)

    changed = live.update(created.id, {"report_interval_s": 60}, expected=None, principal="alice")

    assert (changed.report_interval_s, changed.config_version) == (60, 2)
    # 3 × 60 s = the window, after the resolution: 06:00:00 + 60 + 180
    assert live.status_of(created.id)[1].deadline == "2026-11-27T06:04:00.000Z"
    clock.advance(seconds=240)
    assert sweep(live).silenced == 1


def test_a_device_of_a_filter_on_liveness_is_listed_by_its_index(live, device, clock):
    quiet, chatty = device(), device()
    report(live, chatty.id)
    clock.advance(seconds=900)
    sweep(live)

    silent, _ = live.list_devices(limit=10, cursor=None, filters=FleetFilter(liveness="silent"))
    reporting, _ = live.list_devices(limit=10, cursor=None, filters=FleetFilter(liveness="reporting"))

    assert [(item.id, item.liveness, item.last_seen_at) for item in silent] == [(quiet.id, "silent", None)]
    assert [item.id for item in reporting] == [chatty.id]


@pytest.mark.parametrize(
    ("new", "detail_type"), [("silent", "Device went silent"), ("reporting", "Device reporting again")]
)
def test_a_transition_is_published_with_the_detail_type_of_its_new_value(new, detail_type):
    entry = {
        "revision": 4,
        "kind": "liveness",
        "at": "2026-11-27T06:15:00.000Z",
        "changed_by": "registry",
        "changes": {"liveness": {"old": "pending", "new": new}},
        "snapshot": {"liveness": new, "last_seen_at": None},
    }
    record = {
        "eventName": "INSERT",
        "dynamodb": {"Keys": encode(keys.revision_key("d1", 4)), "NewImage": encode(entry)},
    }
    event = change_event(record)
    assert event is not None and event["DetailType"] == detail_type
    assert event["Detail"]["snapshot"] == {"liveness": new, "last_seen_at": None}


def test_the_fleet_statistics_move_a_device_between_liveness_buckets():
    state = {**keys.device_key("d1"), "status": "online", "device_type": "sensor", "liveness": "reporting"}
    record = {
        "eventName": "MODIFY",
        "dynamodb": {
            "Keys": encode(keys.device_key("d1")),
            "OldImage": encode(state),
            "NewImage": encode({**state, "liveness": "silent"}),
        },
    }
    assert stats.deltas([record]) == {("liveness", "reporting"): -1, ("liveness", "silent"): 1}
