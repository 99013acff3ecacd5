"""Stored records → response models and their headers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import Response

from registry.domain.records import Device, HistoryRecord, Holder, ListedDevice, Seen
from registry.domain.vocabulary import LivenessValue, StatusValue
from registry.http.etags import etag
from registry.http.media import JSON
from registry.schemas import (
    CredentialPage,
    CredentialSummary,
    DeviceDetail,
    DeviceDiff,
    DeviceStatus,
    DeviceSummary,
    DeviceWithStatus,
    FieldChange,
    HistoryEntry,
    HolderInterval,
)

if TYPE_CHECKING:  # credential routes only: its records are kept out of other cold starts
    from registry.domain.credentials import StoredCredential


def device_detail(device: Device) -> DeviceDetail:
    return DeviceDetail.model_validate(
        {
            "id": device.id,
            **device.config(),
            "config_version": device.config_version,
            "created_at": device.created_at,
            "updated_at": device.updated_at,
        }
    )


def device_summary(device: ListedDevice) -> DeviceSummary:
    return DeviceSummary.model_validate(device.to_item())


def device_status(device: Device, seen: Seen | None) -> DeviceStatus:
    """The status resource: the state's status, and the liveness its sign-of-life item tells
    (none stored: as the state says, never seen)."""
    return DeviceStatus(
        device_id=device.id,
        status=StatusValue(device.status),
        reason=device.reason,
        version=device.status_version,
        updated_at=device.status_updated_at,
        liveness=LivenessValue(seen.liveness if seen else device.liveness),
        last_seen_at=seen.last_seen_at if seen else None,
    )


def device_with_status(device: Device, seen: Seen | None) -> DeviceWithStatus:
    """An item of a detail page: the detail, and the status resource under ``status``."""
    detail = device_detail(device).model_dump(mode="json")
    status = device_status(device, seen).model_dump(mode="json")
    return DeviceWithStatus.model_validate({**detail, "status": status})


def history_entry(entry: HistoryRecord) -> HistoryEntry:
    return HistoryEntry.model_validate(entry.to_item())


def holder_interval(holder: Holder) -> HolderInterval:
    return HolderInterval.model_validate({"device_id": holder.device_id, "from": holder.since, "until": holder.until})


def device_response(device: Device, status_code: int = 200, **headers: str) -> Response[DeviceDetail]:
    return Response(
        status_code=status_code,
        content_type=JSON,
        body=device_detail(device),
        headers={"ETag": etag(device.config_version), **headers},
    )


def status_response(device: Device, seen: Seen | None) -> Response[DeviceStatus]:
    return Response(
        status_code=200,
        content_type=JSON,
        body=device_status(device, seen),
        headers={"ETag": etag(device.status_version)},
    )


# -- time travel: answers about the past carry no ETag (there is no version of the past to change)


def device_as_of_response(device_id: str, entry: HistoryRecord) -> Response[DeviceDetail]:
    """The detail in force at an as-of time, from the config-kind entry then in force."""
    # An entry written before tags existed: the device had none then.
    detail = {"tags": [], **entry.snapshot, "id": device_id, "created_at": entry.created_at, "updated_at": entry.at}
    return Response(status_code=200, content_type=JSON, body=DeviceDetail.model_validate(detail))


def status_as_of_response(device_id: str, status: dict[str, Any]) -> Response[DeviceStatus]:
    """The status in force at an as-of time, from its status snapshot and the liveness snapshot
    then in force (before any: pending, never seen)."""
    body = DeviceStatus.model_validate({"liveness": "pending", "last_seen_at": None, **status, "device_id": device_id})
    return Response(status_code=200, content_type=JSON, body=body)


def device_diff(device_id: str, first: int, second: int, changes: dict[str, dict[str, Any]]) -> DeviceDiff:
    return DeviceDiff.model_validate(
        {
            "device_id": device_id,
            "from": first,
            "to": second,
            "changes": {field: FieldChange.model_validate(change) for field, change in changes.items()},
        }
    )


def credential_page(records: list[StoredCredential]) -> CredentialPage:
    """A device's credentials as operators see them: never a secret, nor its hash."""
    return CredentialPage(
        items=[
            CredentialSummary(credential_id=r.credential_id, created_at=r.created_at, last_used_at=r.last_used_at)
            for r in records
        ]
    )
