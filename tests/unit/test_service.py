"""Versions, revisions, diffs and history: the service on a moto table built from table.py."""

import pytest
from pydantic import ValidationError

from registry.devices.service import DeviceService
from registry.domain.errors import (
    DeviceNotFound,
    HistoryEntryNotFound,
    MacAddressTaken,
    PreconditionFailed,
)
from registry.http.preconditions import expected_version
from registry.metrics import Counter
from registry.schemas import DeviceAttributes, StatusUpdate
from registry.storage import keys as table
from registry.storage import migrations
from registry.storage.migrations import Migration


def history(registry, device_id, **filters):
    query = {"kind": None, "since": None, "until": None, "order": "asc", "limit": 100, "cursor": None, **filters}
    items, _ = registry.history(device_id, **query)
    return items


def status(value, reason=None):
    return StatusUpdate(status=value, reason=reason)


def test_registration_starts_every_version_at_one_and_records_a_created_entry(registry, register):
    device = register(name="Boiler", mac_address="00-1A-2B-3C-4D-5E", attributes={"floor": "2"})
    assert (device.config_version, device.status_version, device.revision) == (1, 1, 1)
    assert device.status == "unknown"
    assert device.created_at == device.updated_at == "2026-11-27T06:00:00.000Z"
    [entry] = history(registry, device.id)
    assert entry.kind == "created" and entry.revision == 1 and entry.changed_by == "alice"
    assert entry.changes["mac_address"] == {"old": None, "new": "00:1a:2b:3c:4d:5e"}
    assert entry.changes["attributes.floor"] == {"old": None, "new": "2"}
    assert entry.snapshot["name"] == "Boiler" and entry.snapshot["config_version"] == 1


def test_attribute_change_bumps_config_version_and_records_only_what_changed(registry, register, clock):
    device = register(location="Basement", attributes={"floor": "2", "rack": "7"})
    clock.advance(seconds=5)
    updated = registry.update(
        device.id,
        {"location": "Roof", "name": device.name, "attributes": {"floor": None, "zone": "b"}},
        expected=None,
        principal="bob",
    )
    assert updated.config_version == 2 and updated.revision == 2
    assert updated.updated_at == "2026-11-27T06:00:05.000Z" and updated.created_at == device.created_at
    assert updated.attributes == {"rack": "7", "zone": "b"}
    entry = history(registry, device.id)[-1]
    assert entry.kind == "config" and entry.changed_by == "bob"
    assert entry.changes == {
        "location": {"old": "Basement", "new": "Roof"},
        "attributes.floor": {"old": "2", "new": None},
        "attributes.zone": {"old": None, "new": "b"},
    }
    assert entry.snapshot["location"] == "Roof" and entry.snapshot["config_version"] == 2


def test_merge_patch_null_clears_an_optional_field_and_attributes_null_clears_them_all(registry, register):
    device = register(location="Basement", firmware_version="1.0", attributes={"floor": "2"})
    updated = registry.update(device.id, {"location": None, "attributes": None}, expected=None, principal="bob")
    assert updated.location is None and updated.attributes == {}
    assert updated.firmware_version == "1.0"


def test_patch_that_changes_nothing_creates_no_version(registry, register, table_items):
    device = register(location="Basement")
    before = table_items()
    same = registry.update(device.id, {"location": "Basement"}, expected=None, principal="bob")
    assert same.config_version == 1 and table_items() == before


def test_patch_leaving_an_invalid_device_is_rejected(registry, register, table_items):
    device = register()
    before = table_items()
    with pytest.raises(ValidationError):  # the problem renderer answers it as a 422 naming the field
        registry.update(device.id, {"name": " "}, expected=None, principal="bob")
    assert table_items() == before


def test_revisions_are_gap_free_across_config_and_status_changes(registry, register, assert_table_consistent):
    device = register()
    registry.set_status(device.id, status("online"), expected=None, principal="bob")
    registry.update(device.id, {"location": "Roof"}, expected=None, principal="bob")
    registry.set_status(device.id, status("offline", "unplugged"), expected=None, principal="bob")
    registry.set_status(device.id, status("offline", "unplugged"), expected=None, principal="bob")  # no change
    entries = history(registry, device.id)
    assert [e.revision for e in entries] == [1, 2, 3, 4]
    assert [e.kind for e in entries] == ["created", "status", "config", "status"]
    current = registry.get(device.id)
    assert (current.config_version, current.status_version, current.revision) == (2, 3, 4)
    assert entries[-1].changes == {
        "status": {"old": "online", "new": "offline"},
        "reason": {"old": None, "new": "unplugged"},
    }
    assert entries[-1].snapshot == {
        "status": "offline",
        "reason": "unplugged",
        "version": 3,
        "updated_at": current.status_updated_at,
    }
    assert_table_consistent()


def test_history_times_never_go_backwards_even_if_the_clock_does(registry, register, clock):
    device = register()
    clock.advance(minutes=-10)
    registry.set_status(device.id, status("online"), expected=None, principal="bob")
    first, second = history(registry, device.id)
    assert second.at >= first.at


def test_history_entry_by_revision_and_unknown_revision(registry, register):
    device = register()
    assert registry.history_entry(device.id, 1).kind == "created"
    with pytest.raises(HistoryEntryNotFound):
        registry.history_entry(device.id, 2)


def test_moving_a_device_to_another_mac_frees_the_old_one(registry, register, assert_table_consistent):
    device = register(mac_address="00:00:00:00:00:01")
    registry.update(device.id, {"mac_address": "00-00-00-00-00-02"}, expected=None, principal="bob")
    newcomer = register(mac_address="000000000001")
    assert newcomer.mac_address == "00:00:00:00:00:01"
    with pytest.raises(MacAddressTaken) as raised:
        register(mac_address="0000.0000.0002")
    assert raised.value.existing_id == device.id and raised.value.mac == "00:00:00:00:00:02"
    assert_table_consistent()


def test_moving_a_device_onto_a_taken_mac_is_409_and_changes_nothing(registry, register, table_items):
    holder = register(mac_address="00:00:00:00:00:01")
    device = register(mac_address="00:00:00:00:00:02")
    before = table_items()
    with pytest.raises(MacAddressTaken) as raised:
        registry.update(device.id, {"mac_address": "00:00:00:00:00:01"}, expected=None, principal="bob")
    assert raised.value.existing_id == holder.id
    assert f"00:00:00:00:00:01 is already registered to device {holder.id}" in raised.value.detail
    assert table_items() == before


def test_duplicate_registration_in_another_spelling_names_mac_and_holder(registry, register, table_items):
    holder = register(mac_address="00:1a:2b:3c:4d:5e")
    before = table_items()
    with pytest.raises(MacAddressTaken) as raised:
        register(mac_address="001A.2B3C.4D5E")
    assert raised.value.status == 409
    assert "00:1a:2b:3c:4d:5e" in raised.value.detail and holder.id in raised.value.detail
    assert table_items() == before


def test_delete_leaves_a_tombstone_with_history_and_frees_the_mac(
    registry, register, table_items, assert_table_consistent
):
    device = register(mac_address="00:00:00:00:00:01")
    registry.set_status(device.id, status("online"), expected=None, principal="bob")
    registry.delete(device.id, expected=None, principal="carol")
    with pytest.raises(DeviceNotFound):
        registry.get(device.id)
    entries = history(registry, device.id)
    assert [e.kind for e in entries] == ["created", "status", "deleted"]
    assert entries[-1].changed_by == "carol" and entries[-1].revision == 3
    assert registry.history_entry(device.id, 3).kind == "deleted"
    assert register(mac_address="00:00:00:00:00:01").id != device.id
    assert device.id not in {item.id for item in registry.list_devices(limit=10, cursor=None)[0]}
    assert_table_consistent()
    tombstone = next(item for item in table_items() if item[table.SK] == table.STATE_SK and item["id"] == device.id)
    assert tombstone["deleted_at"] and tombstone["name"] == device.name


@pytest.mark.parametrize(
    "write",
    [
        lambda registry, device_id: registry.update(device_id, {"location": "x"}, expected=None, principal="b"),
        lambda registry, device_id: registry.set_status(device_id, status("online"), expected=None, principal="b"),
        lambda registry, device_id: registry.delete(device_id, expected=None, principal="b"),
    ],
    ids=["update", "status", "delete"],
)
def test_writes_to_a_deleted_device_are_not_found_and_change_nothing(registry, register, table_items, write):
    device = register()
    registry.delete(device.id, expected=None, principal="b")
    before = table_items()
    with pytest.raises(DeviceNotFound):
        write(registry, device.id)
    assert table_items() == before


def test_unknown_device_is_not_found_for_reads_and_history(registry):
    unknown = "0190f5e2-7a3b-7c1d-9e2f-3a4b5c6d7e8f"
    with pytest.raises(DeviceNotFound):
        registry.get(unknown)
    with pytest.raises(DeviceNotFound):
        history(registry, unknown)


@pytest.mark.parametrize("header", ['"2"', 'W/"1"', '"0", "2"'])
def test_if_match_mismatch_is_412_and_changes_nothing(registry, register, table_items, header):
    device = register()
    before = table_items()
    for write in (
        lambda: registry.update(device.id, {"location": "x"}, expected=expected_version(header), principal="b"),
        lambda: registry.delete(device.id, expected=expected_version(header), principal="b"),
    ):
        with pytest.raises(PreconditionFailed) as raised:
            write()
        assert raised.value.status == 412
    assert table_items() == before


@pytest.mark.parametrize("header", ['"1"', "*", '"7", "1"', ' "1" '])
def test_if_match_with_the_current_etag_or_star_lets_the_write_through(registry, register, header):
    device = register()
    registry.update(device.id, {"location": "x"}, expected=expected_version(header), principal="b")
    stored = registry.get(device.id)
    assert (stored.location, stored.config_version, stored.revision) == ("x", 2, 2)
    assert history(registry, device.id)[-1].changes == {"location": {"old": None, "new": "x"}}


def test_status_if_match_compares_with_the_status_version_not_the_config_version(registry, register):
    device = register()
    registry.update(device.id, {"location": "x"}, expected=None, principal="b")  # config_version 2
    with pytest.raises(PreconditionFailed):
        registry.set_status(device.id, status("online"), expected=expected_version('"2"'), principal="b")
    assert (
        registry.set_status(device.id, status("online"), expected=expected_version('"1"'), principal="b").status_version
        == 2
    )


def test_registered_attributes_are_stored_in_canonical_form(registry, table_items):
    registry.register(
        DeviceAttributes.model_validate(
            {"name": " N ", "device_type": "cam", "mac_address": "AABBCCDDEEFF", "ip_address": "2001:0DB8::0001"}
        ),
        "alice",
    )
    state = next(item for item in table_items() if item[table.SK] == table.STATE_SK)
    assert (state["name"], state["mac_address"], state["ip_address"]) == ("N", "aa:bb:cc:dd:ee:ff", "2001:db8::1")


def test_patching_the_same_mac_in_another_spelling_is_not_a_change(registry, register, table_items):
    device = register(mac_address="00:1a:2b:3c:4d:5e")
    before = table_items()
    same = registry.update(device.id, {"mac_address": "001A.2B3C.4D5E"}, expected=None, principal="bob")
    assert same.config_version == 1 and table_items() == before


def test_registrations_status_changes_and_write_conflicts_are_counted_for_the_operator(store, clock, sleeps):
    counted: list[Counter] = []
    service = DeviceService(store, clock=clock, sleep=sleeps.append, count=counted.append)
    rival = DeviceService(store, clock=clock, sleep=sleeps.append)
    device = service.register(DeviceAttributes(name="M", device_type="meter", mac_address="02:00:00:00:aa:01"), "a")
    service.set_status(device.id, status("online"), expected=None, principal="a")
    service.set_status(device.id, status("online"), expected=None, principal="a")  # no change: not counted
    service.update(device.id, {"location": "Roof"}, expected=None, principal="a")  # not a status change
    assert counted == [Counter.REGISTRATIONS, Counter.STATUS_CHANGES]

    def rival_first(**_: object) -> None:
        store.client.meta.events.unregister("before-call.dynamodb.TransactWriteItems", rival_first)
        rival.set_status(device.id, status("maintenance"), expected=None, principal="r")

    store.client.meta.events.register("before-call.dynamodb.TransactWriteItems", rival_first)
    service.set_status(device.id, status("offline"), expected=None, principal="a")
    assert counted[2:] == [Counter.WRITE_CONFLICTS, Counter.STATUS_CHANGES]


def test_an_item_written_before_a_migration_reads_in_the_new_shape_until_the_migration_runs(
    registry, register, monkeypatch
):
    device = register(name="lower case")
    renamed = Migration(
        1,
        "shout_names",
        applies_to=lambda item: item.get("name", "").islower(),
        transform=lambda item: {**item, "name": item["name"].upper()},
    )
    monkeypatch.setattr(migrations, "MIGRATIONS", (renamed,))

    assert registry.get(device.id).name == "LOWER CASE"
