"""A device's writes: each change one conditional transaction (the device's item, its history
entry, its MAC claim, holder intervals and tag items, and on deletion its credentials), and the
transaction's cancellation reasons turned into domain errors (409 MAC taken) or a stale read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from registry.domain.errors import MacAddressTaken
from registry.domain.records import Device, HistoryRecord, Holder
from registry.domain.vocabulary import HistoryKind
from registry.storage import keys
from registry.storage.codec import decode as _from_item
from registry.storage.codec import encode as _to_item
from registry.storage.dynamodb import TableStore, unavailable

if TYPE_CHECKING:
    from registry.domain.jobs import JobResult
    from registry.storage.credentials import CredentialStore
    from registry.storage.jobs import JobStore


class StaleRevision(Exception):
    """Another writer changed the device between our read and our write: read again."""


class ResultExists(Exception):
    """The job already has its result for this device: an earlier delivery of the same step made
    the change (and wrote the result in its transaction), so this one must not make it again."""


def _list_index_attributes(device: Device) -> dict[str, str]:
    """Where a live device appears in the sparse list indexes (a tombstone has none)."""
    if device.deleted:
        return {}
    return {
        keys.LIST_SORT: device.id,
        keys.LIST_ALL: keys.LIST_ALL_VALUE,
        keys.LIST_BY_TYPE: device.device_type,
        keys.LIST_BY_STATUS: device.status,
        keys.LIST_BY_TYPE_STATUS: keys.type_status_key(device.device_type, device.status),
        keys.LIST_BY_MAC: device.mac_address,
        **keys.lookup_attributes(device.config()),
    }


def _live_tags(device: Device) -> set[str]:
    """The tags under which a device is listed: none once deleted."""
    return set() if device.deleted else set(device.tags)


def _device_item(device: Device) -> dict[str, Any]:
    return {**device.to_item(), **_list_index_attributes(device), **keys.device_key(device.id)}


def _history_item(device_id: str, entry: HistoryRecord) -> dict[str, Any]:
    group = keys.history_group(entry.kind)
    return {
        **entry.to_item(),
        keys.HISTORY_AT: keys.history_at_key(entry.at, entry.revision),
        keys.HISTORY_KIND_AT: keys.history_kind_key(group, entry.at, entry.revision),
        **keys.revision_key(device_id, entry.revision),
    }


# An interval opened or closed by a write: (address kind, canonical address, interval).
HolderWrite = tuple[str, str, Holder]


def _holder_item(kind: str, address: str, holder: Holder) -> dict[str, Any]:
    return {**holder.to_item(), **keys.holder_key(kind, address, holder.since, holder.revision, holder.device_id)}


@dataclass(frozen=True)
class _Operation:
    """One item of a transaction, and the MAC address it claims, if it claims one: a failed
    claim condition means the address is taken, any other failed condition a stale read."""

    request: dict[str, Any]
    claims: str | None = None
    job_result: bool = False  # a job's result for the device: failing its condition means done already


class DeviceWrites(TableStore):
    def create_device(
        self,
        device: Device,
        history: HistoryRecord,
        *,
        holders: tuple[HolderWrite, ...] = (),
        seen: dict[str, Any] | None = None,
    ) -> None:
        """Device, MAC claim, first history entry, holder intervals and its sign-of-life item
        (``seen``: a Put built by registry/storage/liveness.py), all or nothing."""
        self._transact(
            [
                *([_Operation(seen)] if seen is not None else []),
                _Operation(self._put(_device_item(device), new=True)),
                self._claim(device.mac_address, device.id),
                _Operation(self._put_history(device.id, history)),
                *self._holder_puts(holders),
                *self._tag_writes(device.id, set(), _live_tags(device)),
            ],
            device_id=device.id,
        )

    def commit(
        self,
        device: Device,
        *,
        expected_revision: int,
        history: HistoryRecord,
        claim_mac: str | None = None,
        release_mac: str | None = None,
        holders: tuple[HolderWrite, ...] = (),
        previous: Device | None = None,
        seen: dict[str, Any] | None = None,
        job_result: tuple[str, JobResult] | None = None,
    ) -> None:
        """Replace the device's item if its revision is still ``expected_revision``, append
        the history entry, move the MAC claim when the address changes or the device goes,
        put the holder intervals the change opens or closes, and move its tag items from the
        ``previous`` device's live tags to this one's (no ``previous``: the tags are unchanged);
        a deletion also deletes the device's credentials (:meth:`CredentialStore.revocations`, read
        before the transaction is built); ``seen``: the Put of its sign-of-life item (a liveness
        revision, registry/storage/liveness.py); a change made by a job puts the job's ``job_result``
        (job id, result) for the device, if it has none yet.
        Raises :class:`StaleRevision` if another writer got there first, :class:`ResultExists` if
        the job's result is there already."""
        # A deleted device's credentials go with it: their items, read first by the credential store.
        # The credential and job stores are imported where used: only a deletion and a job's change
        # need them, and their records cost most routes' cold start for nothing (docs/performance.md).
        revoked = (
            _credential_store()(self.client, self.table_name).revocations(device.id)
            if history.kind == HistoryKind.DELETED
            else []
        )
        state_put = self._put(_device_item(device), new=False)
        state_put["Put"]["ConditionExpression"] = "revision = :expected"
        state_put["Put"]["ExpressionAttributeValues"] = _to_item({":expected": expected_revision})
        operations = [_Operation(state_put), _Operation(self._put_history(device.id, history))]
        if claim_mac is not None:
            operations.append(self._claim(claim_mac, device.id))
        if release_mac is not None:
            release = {
                "TableName": self.table_name,
                "Key": _to_item(keys.mac_claim_key(release_mac)),
                "ConditionExpression": "device_id = :id",
                "ExpressionAttributeValues": _to_item({":id": device.id}),
            }
            operations.append(_Operation({"Delete": release}))
        operations.extend(self._holder_puts(holders))
        if previous is not None:
            operations.extend(self._tag_writes(device.id, _live_tags(previous), _live_tags(device)))
        operations.extend(_Operation(item) for item in revoked)
        if seen is not None:
            operations.append(_Operation(seen))
        if job_result is not None:
            put = _job_store()(self.client, self.table_name).result_put(*job_result)
            operations.append(_Operation(put, job_result=True))
        self._transact(operations, device_id=device.id)

    def _holder_puts(self, holders: tuple[HolderWrite, ...]) -> list[_Operation]:
        # Unconditional: the transaction's device condition already orders the writes, and an
        # interval's key is its device's and revision's, so no other writer puts the same item.
        return [_Operation(self._put(_holder_item(*holder), new=False)) for holder in holders]

    def _tag_writes(self, device_id: str, before: set[str], after: set[str]) -> list[_Operation]:
        """Put an item for each tag the device gains, delete the item of each it loses: what
        places it in ``list_by_tag``. Unconditional, ordered by the device's own condition."""
        puts = [
            _Operation(
                self._put({**keys.tag_key(device_id, tag), keys.LIST_BY_TAG: tag, keys.LIST_SORT: device_id}, new=False)
            )
            for tag in sorted(after - before)
        ]
        deletes = [
            _Operation({"Delete": {"TableName": self.table_name, "Key": _to_item(keys.tag_key(device_id, tag))}})
            for tag in sorted(before - after)
        ]
        return puts + deletes

    def _claim(self, mac: str, device_id: str) -> _Operation:
        request = self._put({**keys.mac_claim_key(mac), "device_id": device_id, "mac_address": mac}, new=True)
        # Return the holder's item on failure, so the 409 can name the device that has it.
        request["Put"]["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        return _Operation(request, claims=mac)

    def _put_history(self, device_id: str, history: HistoryRecord) -> dict[str, Any]:
        # History entries are immutable: a put that would overwrite one fails.
        return self._put(_history_item(device_id, history), new=True)

    def _transact(self, operations: list[_Operation], *, device_id: str) -> None:
        try:
            self.client.transact_write_items(TransactItems=[operation.request for operation in operations])
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code != "TransactionCanceledException":
                raise self._translate(error) from error
            reasons = error.response.get("CancellationReasons", [])
            self._raise_for_cancellation(reasons, operations, device_id=device_id, error=error)
        except BotoCoreError as error:
            raise unavailable(error) from error

    def _raise_for_cancellation(
        self, reasons: list[dict[str, Any]], operations: list[_Operation], *, device_id: str, error: ClientError
    ) -> None:
        codes = [reason.get("Code", "None") for reason in reasons]
        for operation, reason in zip(operations, reasons, strict=False):
            if reason.get("Code") == "ConditionalCheckFailed" and operation.job_result:
                raise ResultExists from error
            if reason.get("Code") == "ConditionalCheckFailed" and operation.claims is not None:
                holder = _from_item(reason.get("Item", {})).get("device_id")
                if holder != device_id:
                    raise MacAddressTaken(operation.claims, holder or self._claim_holder(operation.claims)) from error
        if "ConditionalCheckFailed" in codes or "TransactionConflict" in codes:
            raise StaleRevision from error
        raise unavailable(error) from error

    def _claim_holder(self, mac: str) -> str:
        response = self._call(self.client.get_item, TableName=self.table_name, Key=_to_item(keys.mac_claim_key(mac)))
        return str(_from_item(response.get("Item", {})).get("device_id", "unknown"))


def _credential_store() -> type[CredentialStore]:
    from registry.storage.credentials import CredentialStore

    return CredentialStore


def _job_store() -> type[JobStore]:
    from registry.storage.jobs import JobStore

    return JobStore
