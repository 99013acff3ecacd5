"""The edge models of the batch routes (``POST /devices/batch``, ``POST /status-reports``).

A batch's items are declared with their full schema (a generated client builds them as it
builds a single POST's body) but are not validated with the batch: each is validated on its
own by ``registry.batch.runner``, so that one bad item is that item's 422, not the whole request's."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SkipValidation

from registry.schemas import Count, DeviceAttributes, DeviceDetail, DeviceId, ItemProblem, StatusUpdate, _Input, _Model

MAX_ITEMS = 100
Index = Annotated[int, Field(ge=0, lt=MAX_ITEMS, description="The item's position in the request, from 0")]


def _items(what: str) -> object:
    return Field(
        min_length=1,
        max_length=MAX_ITEMS,
        description=f"1–{MAX_ITEMS} {what}; each is validated on its own (a bad one is its own 422 result)",
    )


class StatusReport(StatusUpdate):
    """One device's status, meaning exactly what ``PUT /devices/{device_id}/status`` means."""

    device_id: DeviceId


class DeviceBatch(_Input):
    """The body of ``POST /devices/batch``."""

    devices: Annotated[list[SkipValidation[DeviceAttributes]], _items("devices to register")]


class StatusReportBatch(_Input):
    """The body of ``POST /status-reports``: at most one report per device."""

    reports: Annotated[list[SkipValidation[StatusReport]], _items("reports, one per device at most")]


_TRY_AGAIN = "503 not done now (the store was busy), send it again"


class RegistrationFailed(_Model):
    """A device not registered, and why."""

    index: Index
    status: Literal[409, 422, 503] = Field(
        description=f"409 MAC address taken (also by an earlier device of this batch); 422 not valid; {_TRY_AGAIN}"
    )
    problem: ItemProblem


class ReportFailed(_Model):
    """A report not applied, and why."""

    index: Index
    status: Literal[404, 409, 422, 503] = Field(
        description=f"404 no such device; 409 changed by other writers meanwhile; 422 not valid; {_TRY_AGAIN}"
    )
    problem: ItemProblem


class DeviceRegistered(_Model):
    index: Index
    status: Literal[201]
    device: DeviceDetail


class DeviceBatchResults(_Model):
    results: list[DeviceRegistered | RegistrationFailed] = Field(description="One per device sent, in the order sent")
    created: Count
    failed: Count


class StatusReported(_Model):
    index: Index
    device_id: DeviceId
    status: Literal[200]
    changed: bool = Field(description="false: the device already had this status and reason; nothing was written")
    version: int = Field(ge=1, description="The status version now (its ETag)")


class StatusReportResults(_Model):
    results: list[StatusReported | ReportFailed] = Field(description="One per report sent, in the order sent")
    changed: Count
    unchanged: Count
    failed: Count
