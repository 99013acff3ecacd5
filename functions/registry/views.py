"""Domain items → response models and their headers."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response

from registry.api import JSON, etag
from registry.models import DeviceDetail, DeviceStatus, DeviceSummary, HistoryEntry

DETAIL_FIELDS = tuple(DeviceDetail.model_fields)
SUMMARY_FIELDS = tuple(DeviceSummary.model_fields)
ENTRY_FIELDS = tuple(HistoryEntry.model_fields)


def device_detail(state: dict[str, Any]) -> DeviceDetail:
    return DeviceDetail.model_validate({field: state.get(field) for field in DETAIL_FIELDS})


def device_summary(item: dict[str, Any]) -> DeviceSummary:
    return DeviceSummary.model_validate({field: item.get(field) for field in SUMMARY_FIELDS})


def device_status(state: dict[str, Any]) -> DeviceStatus:
    return DeviceStatus(
        device_id=state["id"],
        status=state["status"],
        reason=state.get("reason"),
        version=state["status_version"],
        updated_at=state["status_updated_at"],
    )


def history_entry(item: dict[str, Any]) -> HistoryEntry:
    return HistoryEntry.model_validate({field: item.get(field) for field in ENTRY_FIELDS})


def device_response(state: dict[str, Any], status_code: int = 200, **headers: str) -> Response[DeviceDetail]:
    return Response(
        status_code=status_code,
        content_type=JSON,
        body=device_detail(state),
        headers={"ETag": etag(state["config_version"]), **headers},
    )


def status_response(state: dict[str, Any]) -> Response[DeviceStatus]:
    return Response(
        status_code=200,
        content_type=JSON,
        body=device_status(state),
        headers={"ETag": etag(state["status_version"])},
    )
