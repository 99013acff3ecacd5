"""Each condition the store puts on a write, tried on its own: the store is driven directly with
records built so that this one condition, and no other in the transaction, is what refuses the
write. (Through the service the conditions hide one another: a stale read also writes a history
revision that already exists.)"""

from dataclasses import replace

import pytest
from botocore.exceptions import ClientError

from registry.domain.credentials import StoredCredential
from registry.domain.errors import ConcurrentUpdate, MacAddressTaken
from registry.domain.records import Device, HistoryRecord
from registry.storage import keys as table
from registry.storage.codec import encode
from registry.storage.credentials import CredentialStore
from registry.storage.device_writes import StaleRevision
from registry.storage.devices import DeviceStore


def entry(device: Device, revision: int, *, kind: str = "status", by: str = "mallory") -> HistoryRecord:
    """A history entry for ``revision`` of ``device``, recording ``by`` as its author."""
    at = f"2026-11-27T07:00:{revision:02d}.000Z"
    return HistoryRecord(
        revision=revision, kind=kind, at=at, changed_by=by, changes={"reason": {"old": None, "new": by}}, snapshot={}
    )


def next_state(device: Device, **changes: object) -> Device:
    """``device`` one revision on, with ``changes``: what a writer that read ``device`` commits."""
    return replace(device, revision=device.revision + 1, **changes)


@pytest.fixture
def device(register, store: DeviceStore) -> Device:
    """A registered device at revision 2 (created, then one status change), as stored."""
    registered = register(mac_address="02:00:00:00:00:01")
    current = store.get_device(registered.id)
    assert current is not None
    store.commit(next_state(current, reason="first"), expected_revision=1, history=entry(current, 2, by="alice"))
    stored = store.get_device(registered.id)
    assert stored is not None and stored.revision == 2
    return stored


def test_a_commit_against_a_stale_revision_is_refused_and_changes_nothing(store, device, table_items):
    """The state item's ``revision = :expected``: a writer that read revision 1 commits after
    revision 2 was written. Its history entry (revision 3) is new, so only the state's condition
    can refuse it."""
    before = table_items()
    stale = replace(device, revision=1)
    with pytest.raises(StaleRevision):
        store.commit(next_state(stale, reason="stale"), expected_revision=1, history=entry(device, 3))
    assert table_items() == before
    assert store.get_history_entry(device.id, 3) is None


def test_a_commit_that_would_overwrite_a_history_entry_is_refused_and_changes_nothing(store, device, table_items):
    """History items' ``attribute_not_exists``: the state's revision matches, but the entry the
    commit writes (revision 2) exists already. History is immutable."""
    before = table_items()
    with pytest.raises(StaleRevision):
        store.commit(next_state(device, reason="rewritten"), expected_revision=2, history=entry(device, 2))
    assert table_items() == before
    kept = store.get_history_entry(device.id, 2)
    assert kept is not None and kept.changed_by == "alice"


def test_creating_a_device_whose_id_exists_is_refused_and_changes_nothing(store, device, table_items):
    """The new device's ``attribute_not_exists``: same id, a free MAC, and a history revision the
    device does not have yet, so only the device item's condition can refuse it."""
    before = table_items()
    impostor = replace(device, name="Impostor", mac_address="02:00:00:00:00:99", revision=3)
    with pytest.raises(StaleRevision):
        store.create_device(impostor, entry(device, 3, kind="created"))
    assert table_items() == before


def test_claiming_a_taken_mac_names_its_holder_from_the_failed_write_alone(store, device, register, table_items):
    """The MAC claim's ``attribute_not_exists``, and ``ReturnValuesOnConditionCheckFailure``: the
    holder is named from the cancelled transaction itself, with no read after it."""
    newcomer = register(mac_address="02:00:00:00:00:02")
    current = store.get_device(newcomer.id)
    assert current is not None
    before = table_items()
    calls: list[str] = []
    store.client.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    with pytest.raises(MacAddressTaken) as raised:
        store.commit(
            next_state(current, mac_address=device.mac_address),
            expected_revision=1,
            history=entry(current, 2, kind="config"),
            claim_mac=device.mac_address,
            release_mac=current.mac_address,
        )
    assert (raised.value.mac, raised.value.existing_id) == (device.mac_address, device.id)
    assert calls == ["TransactWriteItems"]
    assert table_items() == before


def test_releasing_a_mac_claimed_by_another_device_is_refused_and_keeps_its_claim(store, device, register, table_items):
    """The MAC release's ``device_id = :id``: a commit that would free an address another device
    holds (a stale read of who held it) is refused; the holder keeps its claim."""
    other = register(mac_address="02:00:00:00:00:02")
    current = store.get_device(other.id)
    assert current is not None
    before = table_items()
    with pytest.raises(StaleRevision):
        store.commit(
            next_state(current, mac_address="02:00:00:00:00:03"),
            expected_revision=1,
            history=entry(current, 2, kind="config"),
            claim_mac="02:00:00:00:00:03",
            release_mac=device.mac_address,
        )
    assert table_items() == before
    claims = {item["mac_address"]: item["device_id"] for item in before if item[table.SK] == table.CLAIM_SK}
    assert claims[device.mac_address] == device.id


# -- the credential store's conditions (registry/storage/credentials.py) ---------------------


def credential(credential_id: str, device_id: str, secret_hash: str) -> StoredCredential:
    return StoredCredential(
        credential_id=credential_id,
        device_id=device_id,
        created_at="2026-11-27T07:00:00.000Z",
        salt="c2FsdA==",
        hash=secret_hash,
    )


def test_a_credential_id_already_taken_is_refused_and_keeps_its_owner(store, device, register, table_items):
    """The credential item's ``attribute_not_exists``: a create whose id exists already (another
    device's) is refused; the credential still belongs to its device, with its own secret."""
    credentials = CredentialStore(store.client, store.table_name)
    credentials.create(credential("c-1", device.id, "b3duZXI="))
    other = register(mac_address="02:00:00:00:00:02")
    before = table_items()
    with pytest.raises(ConcurrentUpdate):
        credentials.create(credential("c-1", other.id, "dGhpZWY="))
    assert table_items() == before
    owned = credentials.get_credential("c-1")
    assert owned is not None and (owned.device_id, owned.hash) == (device.id, "b3duZXI=")
    assert credentials.of_device(other.id) == []


def test_deleting_a_device_refuses_when_its_first_credential_appeared_since_the_read(store, device):
    """:meth:`CredentialStore.revocations`' ``attribute_not_exists`` on the credential set of a device that had
    none when read: a credential created in between fails the deletion's transaction, so it is
    planned again and the new credential goes with the device (never left authorizing)."""
    credentials = CredentialStore(store.client, store.table_name)
    planned = credentials.revocations(device.id)  # read: no credential set yet
    credentials.create(credential("c-late", device.id, "bGF0ZQ=="))
    with pytest.raises(ClientError) as raised:
        store.client.transact_write_items(TransactItems=planned)
    assert [reason["Code"] for reason in raised.value.response["CancellationReasons"]] == ["ConditionalCheckFailed"]
    assert [record.credential_id for record in credentials.of_device(device.id)] == ["c-late"]
    assert credentials.revocations(device.id)[1:] == [
        {"Delete": {"TableName": store.table_name, "Key": encode(table.credential_key("c-late"))}}
    ]  # planned again from a fresh read, the deletion takes the credential with it
