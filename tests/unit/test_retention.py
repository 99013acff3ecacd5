"""Retention (issue 10, item 7): with ``status_history_days`` set, status-kind history entries
carry an ``expires_at`` for DynamoDB TTL; config-kind entries never do. TTL deletes lazily and
moto never does, so an entry is expired either by its ``expires_at`` being past (still stored)
or by its item being gone (deleted by hand here, as TTL would)."""

from datetime import datetime, timedelta

import pytest

from registry.devices.service import DeviceService
from registry.domain.errors import HistoryEntryNotFound, HistoryExpired
from registry.domain.values import format_timestamp
from registry.http import views
from registry.schemas import DeviceAttributes, StatusUpdate
from registry.settings import SettingsError, get_settings
from registry.storage import keys as table
from registry.storage.codec import encode
from tests.support import TABLE_NAME, DeviceBodies

DAYS = 30
_BODIES = DeviceBodies()  # a distinct MAC per device


@pytest.fixture
def kept(store, clock, sleeps) -> DeviceService:
    return DeviceService(store, clock=clock, sleep=sleeps.append, status_history_days=DAYS)


def _status(service: DeviceService, device_id: str, status: str) -> None:
    service.set_status(device_id, StatusUpdate(status=status), expected=None, principal="bob")


def _raw(store, device_id: str, revision: int) -> dict:
    key = encode(table.revision_key(device_id, revision))
    return store.client.get_item(TableName=TABLE_NAME, Key=key).get("Item", {})


def _ttl_deletes(store, device_id: str, revision: int) -> None:
    store.client.delete_item(TableName=TABLE_NAME, Key=encode(table.revision_key(device_id, revision)))


def _epoch(at: str) -> int:
    return int(datetime.fromisoformat(at).timestamp())


def _device(kept, clock, store):
    """created (1) → status online (2) → config (3) → status offline (4), a day apart."""
    device = kept.register(DeviceAttributes.model_validate(_BODIES()), "alice")
    clock.advance(days=1)
    _status(kept, device.id, "online")
    clock.advance(days=1)
    kept.update(device.id, {"name": "renamed"}, expected=None, principal="alice")
    clock.advance(days=1)
    _status(kept, device.id, "offline")
    return device


def test_status_entries_carry_expires_at_for_ttl_and_config_entries_never(kept, clock, store):
    device = _device(kept, clock, store)

    assert table.TTL_ATTRIBUTE == "expires_at"  # the record field is the table's TTL attribute
    for revision in (2, 4):
        item = _raw(store, device.id, revision)
        entry = store.get_history_entry(device.id, revision)
        assert int(item[table.TTL_ATTRIBUTE]["N"]) == _epoch(entry.at) + DAYS * 24 * 3600
    for revision in (1, 3):
        assert table.TTL_ATTRIBUTE not in _raw(store, device.id, revision)


def test_no_expires_at_is_written_when_history_is_kept_forever(registry, register, store):
    device = register()
    _status(registry, device.id, "online")

    assert all(table.TTL_ATTRIBUTE not in _raw(store, device.id, r) for r in (1, 2))


def test_expires_at_is_stored_but_never_answered(kept, clock, store):
    device = _device(kept, clock, store)

    assert "expires_at" not in views.history_entry(kept.history_entry(device.id, 2)).model_dump()


def test_an_entry_past_its_expires_at_is_absent_from_pages_and_answers_expired_by_revision(kept, clock, store):
    device = _device(kept, clock, store)
    clock.advance(days=DAYS - 2)  # revision 2 (day 1) is past its time; revision 4 (day 3) is not

    for limit in (1, 2, 10):
        seen, cursor = [], None
        while True:
            page, cursor = kept.history(
                device.id, kind=None, since=None, until=None, order="asc", limit=limit, cursor=cursor
            )
            assert len(page) <= limit
            seen += [entry.revision for entry in page]
            if cursor is None:
                break
        assert seen == [1, 3, 4], limit
    status_page, _ = kept.history(device.id, kind="status", since=None, until=None, order="desc", limit=5, cursor=None)
    assert [entry.revision for entry in status_page] == [4]

    assert _raw(store, device.id, 2)  # still stored: TTL has not got to it
    with pytest.raises(HistoryExpired, match=r"2 of device .* has expired"):
        kept.history_entry(device.id, 2)
    assert kept.history_entry(device.id, 3).kind == "config"


def test_an_entry_deleted_by_ttl_answers_expired_and_a_revision_never_written_not_found(kept, clock, store):
    device = _device(kept, clock, store)
    _ttl_deletes(store, device.id, 2)

    with pytest.raises(HistoryExpired) as expired:
        kept.history_entry(device.id, 2)
    assert expired.value.status == 404
    assert expired.value.slug == "history-expired"
    with pytest.raises(HistoryEntryNotFound):
        kept.history_entry(device.id, 5)
    page, _ = kept.history(device.id, kind=None, since=None, until=None, order="desc", limit=10, cursor=None)
    assert [entry.revision for entry in page] == [4, 3, 1]


def test_diff_and_revert_say_expired_when_they_need_an_expired_entry(kept, clock, store):
    device = _device(kept, clock, store)
    _ttl_deletes(store, device.id, 2)

    with pytest.raises(HistoryExpired, match="History entry 2"):
        kept.diff_revisions(device.id, 2, None)
    with pytest.raises(HistoryExpired, match="History entry 2"):
        kept.diff_revisions(device.id, 1, 2)
    with pytest.raises(HistoryExpired):
        kept.revert(device.id, 2, reason=None, expected=None, principal="alice")
    # A config entry carries the status then in force: diffs between kept entries still answer.
    _, _, changes = kept.diff_revisions(device.id, 1, 3)
    assert changes["status"] == {"old": "unknown", "new": "online"}
    with pytest.raises(HistoryEntryNotFound, match="latest revision is 4"):
        kept.diff_revisions(device.id, 9, None)


def test_status_as_of_says_expired_when_the_status_then_was_an_expired_entry(kept, clock, store):
    device = _device(kept, clock, store)
    day1 = store.get_history_entry(device.id, 2).at
    day2 = store.get_history_entry(device.id, 3).at
    clock.advance(days=DAYS - 1)  # the horizon is now past day 2: entry 2 (day 1) is expired

    # Entry 2 still stored past its time, then deleted by TTL: either way the status is unknown.
    with pytest.raises(HistoryExpired, match=r"before .* has expired"):
        kept.status_as_of(device.id, day1)
    _ttl_deletes(store, device.id, 2)
    with pytest.raises(HistoryExpired):
        kept.status_as_of(device.id, day1)
    # Config entry 3 carries the status then, and revision 4 follows it with no gap.
    assert kept.status_as_of(device.id, day2)["status"] == "online"
    # The attributes as of any time never expire.
    assert kept.config_as_of(device.id, day1).revision == 1


def _later(at: str, **delta: float) -> str:
    return format_timestamp(datetime.fromisoformat(at) + timedelta(**delta))


def test_status_as_of_beyond_the_horizon_after_a_config_entry_followed_by_a_gap_is_expired(kept, clock, store):
    device = _device(kept, clock, store)  # 1 created day 0, 2 online day 1, 3 config day 2, 4 offline day 3
    clock.advance(days=1)
    kept.update(device.id, {"name": "again"}, expected=None, principal="alice")  # 5 config day 4: offline then
    clock.advance(days=1)
    _status(kept, device.id, "online")  # 6 status day 5
    at = {revision: store.get_history_entry(device.id, revision).at for revision in range(1, 7)}
    clock.advance(days=DAYS - 1, hours=-1)  # the horizon is just before day 4: entry 4 is past its time
    _ttl_deletes(store, device.id, 4)
    _ttl_deletes(store, device.id, 2)

    # Between 4 and 5 the newest stored entry is config 3, whose status then (online) no longer
    # held: the revision after it is gone, so the status at that time is unknown.
    with pytest.raises(HistoryExpired, match=r"before .* has expired"):
        kept.status_as_of(device.id, _later(at[4], hours=1))
    # Config 5 is within the horizon: every status entry after it is still kept.
    assert kept.status_as_of(device.id, _later(at[5], hours=1))["status"] == "offline"
    assert kept.status_as_of(device.id, at[6])["status"] == "online"
    # A config entry beyond the horizon with no gap after it (the device's latest) still answers.
    other = _device(kept, clock, store)
    kept.update(other.id, {"name": "last"}, expected=None, principal="alice")
    last = store.get_device(other.id)
    clock.advance(days=DAYS + 1)
    assert kept.status_as_of(other.id, clock())["status"] == "offline"
    assert last.revision == 5


def test_the_setting_is_read_from_the_environment(monkeypatch):
    get_settings.cache_clear()
    try:
        monkeypatch.setenv("STATUS_HISTORY_DAYS", "90")
        assert get_settings().status_history_days == 90
        get_settings.cache_clear()
        monkeypatch.setenv("STATUS_HISTORY_DAYS", "-1")
        with pytest.raises(SettingsError, match="STATUS_HISTORY_DAYS"):
            get_settings()
        get_settings.cache_clear()
        monkeypatch.delenv("STATUS_HISTORY_DAYS")
        assert get_settings().status_history_days == 0
    finally:
        get_settings.cache_clear()
