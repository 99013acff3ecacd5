"""Two writers on one device: the loser of the conditional transaction reads again and retries,
so no update is lost and revisions stay gap-free; a writer that keeps losing gets a 409."""

import boto3
import pytest

from registry.devices.service import DeviceService
from registry.domain.errors import ConcurrentUpdate, MacAddressTaken, PreconditionFailed
from registry.http.preconditions import expected_version
from registry.schemas import DeviceAttributes, StatusUpdate
from registry.storage.devices import DeviceStore
from tests.support import TABLE_NAME


@pytest.fixture
def rival(dynamodb):
    """Another writer: its own client on the same table, unseen by the hooks on ours."""
    return DeviceService(DeviceStore(boto3.client("dynamodb"), TABLE_NAME), sleep=lambda _: None)


def rival_writes_before_our_commit(store, rival, device_id, times):
    """Right before each of our next ``times`` transactions leaves, the rival changes the device."""
    written = []

    def interfere(**_):
        if len(written) < times:
            written.append(f"rival {len(written) + 1}")
            rival.set_status(device_id, StatusUpdate(status="online", reason=written[-1]), expected=None, principal="r")

    store.client.meta.events.register("before-call.dynamodb.TransactWriteItems", interfere)
    return written


def test_a_stale_write_is_retried_and_both_changes_are_kept(
    registry, register, store, rival, sleeps, assert_table_consistent
):
    device = register()
    written = rival_writes_before_our_commit(store, rival, device.id, times=2)
    updated = registry.update(device.id, {"location": "Roof"}, expected=None, principal="bob")
    assert len(written) == 2 and len(sleeps) == 2  # two lost races, each followed by a jittered pause
    assert updated.revision == 4 and updated.location == "Roof"
    assert updated.status == "online" and updated.reason == "rival 2"  # the rival's change survives
    entries, _ = registry.history(device.id, kind=None, since=None, until=None, order="asc", limit=10, cursor=None)
    assert [(e.revision, e.kind, e.changed_by) for e in entries] == [
        (1, "created", "alice"),
        (2, "status", "r"),
        (3, "status", "r"),
        (4, "config", "bob"),
    ]
    assert_table_consistent()


def test_if_match_is_checked_again_after_losing_a_race(registry, register, store, rival, table_items):
    device = register()
    # The rival changes the status, not the config: our config precondition still holds on the re-read.
    rival_writes_before_our_commit(store, rival, device.id, times=1)
    updated = registry.update(device.id, {"location": "Roof"}, expected=expected_version('"1"'), principal="bob")
    assert (updated.config_version, updated.location, updated.revision) == (2, "Roof", 3)

    # Now the rival changes the config before our commit: on the re-read our precondition fails.
    def rival_changes_the_config(**_):
        store.client.meta.events.unregister("before-call.dynamodb.TransactWriteItems", rival_changes_the_config)
        rival.update(device.id, {"location": "Cellar"}, expected=None, principal="r")

    store.client.meta.events.register("before-call.dynamodb.TransactWriteItems", rival_changes_the_config)
    with pytest.raises(PreconditionFailed):
        registry.update(device.id, {"location": "Attic"}, expected=expected_version('"2"'), principal="bob")
    current = registry.get(device.id)
    assert (current.location, current.config_version, current.revision) == ("Cellar", 3, 4)
    assert "Attic" not in str(table_items())


def test_a_writer_that_keeps_losing_gets_concurrent_update_and_writes_nothing(
    registry, register, store, rival, sleeps, table_items, assert_table_consistent
):
    device = register()
    written = rival_writes_before_our_commit(store, rival, device.id, times=100)
    with pytest.raises(ConcurrentUpdate) as raised:
        registry.update(device.id, {"location": "Roof"}, expected=None, principal="bob")
    assert raised.value.status == 409 and raised.value.retry_after == 1
    assert len(written) == registry.max_attempts and len(sleeps) == registry.max_attempts - 1
    assert all(0 <= pause <= 0.5 for pause in sleeps)
    assert not any(item.get("location") == "Roof" for item in table_items())
    assert_table_consistent()


def test_a_rival_taking_the_mac_between_read_and_write_is_409_naming_it(registry, register, store, rival):
    device = register()
    holder = []

    def take_the_mac(**_):
        if not holder:
            mac = "00:00:00:00:00:99"
            holder.append(rival.register(DeviceAttributes(name="Rival", device_type="sensor", mac_address=mac), "r"))

    store.client.meta.events.register("before-call.dynamodb.TransactWriteItems", take_the_mac)
    with pytest.raises(MacAddressTaken) as raised:
        registry.update(device.id, {"mac_address": "00:00:00:00:00:99"}, expected=None, principal="bob")
    assert raised.value.existing_id == holder[0].id
    assert registry.get(device.id).revision == 1
