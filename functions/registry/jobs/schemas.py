"""The edge models of the /jobs routes (api.md, "Fleet jobs"). A job's filter takes the names and
values of ``GET /devices``' filters, with the same types (so the same rules and canonical forms); its
patch is ``PATCH /devices/{id}``'s body, validated the same way."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import (
    Field,
    SerializerFunctionWrapHandler,
    StrictBool,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from registry.domain.fleet import FleetFilter
from registry.domain.jobs import JobState, Outcome
from registry.domain.vocabulary import StatusValue
from registry.schemas import (
    MAX_FIRMWARE,
    MAX_LOCATION,
    MAX_NAME,
    MAX_SERIAL,
    Count,
    Cursor,
    DeviceId,
    DevicePatch,
    DeviceType,
    FieldChange,
    IpAddress,
    ItemProblem,
    MacAddress,
    Tag,
    Timestamp,
    _Input,
    _Model,
)

JobId = Annotated[DeviceId, Field(description="Job id (UUID)")]  # a UUID v7, as a device's
JobIdPath = Annotated[DeviceId, Path(description="Job id (UUID)", examples=["0190f5e2-7a3b-7c1d-9e2f-3a4b5c6d7e8f"])]


class JobAction(_Input):
    """The body of ``POST /jobs/{id}/cancel`` and ``…/rollback``: an empty object (every POST takes a
    JSON object; there is nothing to choose yet)."""


def _exact(limit: int) -> object:
    return StringConstraints(min_length=1, max_length=limit)


class JobFilter(_Input):
    """``GET /devices``' filters: exact values, combined with AND."""

    device_type: DeviceType | None = None
    status: StatusValue | None = None
    mac_address: MacAddress | None = None
    firmware_version: Annotated[str, _exact(MAX_FIRMWARE)] | None = None
    location: Annotated[str, _exact(MAX_LOCATION)] | None = None
    serial_number: Annotated[str, _exact(MAX_SERIAL)] | None = None
    ip_address: IpAddress | None = None
    tag: Tag | None = None
    name_prefix: Annotated[str, _exact(MAX_NAME)] | None = None

    def given(self) -> dict[str, str]:
        """The filters set, by name, in their canonical form."""
        return {name: str(value) for name, value in self.model_dump(mode="json", exclude_none=True).items()}


def fleet_filter(stored: dict[str, str]) -> FleetFilter:
    return FleetFilter(**stored)


class JobPatch(DevicePatch):
    """``PATCH /devices/{id}``'s merge patch, but never a MAC address: one is unique to one device."""

    @field_validator("mac_address")
    @classmethod
    def _not_for_a_fleet(cls, value: str | None) -> str | None:
        raise ValueError("cannot be set by a job: a MAC address belongs to one device (use PATCH /devices/{id})")

    @model_validator(mode="after")
    def _changes_something(self) -> JobPatch:
        if not self.model_fields_set:
            raise ValueError("patch is empty: name at least one field to change")
        return self


class JobRequest(_Input):
    """The body of ``POST /jobs``."""

    patch: JobPatch
    dry_run: StrictBool = Field(default=False, description="Change nothing; each result says what would change")
    all: StrictBool = Field(default=False, description="Required (true) for a job over every device (no filter)")
    filter: JobFilter = Field(
        default_factory=JobFilter,
        validate_default=True,
        description="The devices: those matching when the job starts. Empty or absent: every device, with `all`",
    )

    @field_validator("filter")
    @classmethod
    def _whole_fleet_only_when_asked(cls, value: JobFilter, info: ValidationInfo) -> JobFilter:
        if not value.given() and info.data.get("all") is not True:
            raise ValueError('is empty: a job over every device must say so with "all": true')
        return value


class JobCounts(_Model):
    matched: Count = Field(description="Devices the job acts on (those matching when it started)")
    changed: Count = Field(description="Changed (a dry run: would change)")
    unchanged: Count
    failed: Count
    skipped: Count = Field(description="Left as they are (a rollback: changed since by a later revision)")


class JobDetail(_Model):
    id: JobId
    state: JobState
    filter: dict[str, str]
    patch: dict[str, Any]
    dry_run: bool
    rollback_of: JobId | None = Field(description="The job this one rolls back")
    created_by: str
    created_at: Timestamp
    started_at: Timestamp | None
    finished_at: Timestamp | None
    counts: JobCounts


class JobListPage(_Model):
    items: list[JobDetail]
    next_cursor: Cursor | None = Field(description="Pass as `cursor` for the next page; null on the last")


class JobResultItem(_Model):
    device_id: DeviceId
    outcome: Outcome
    revision: int | None = Field(default=None, ge=1, description="The revision the job made (`changed`)")
    changes: dict[str, FieldChange] | None = Field(
        default=None, description="What it changed (`changed`) or would change (`would_change`)"
    )
    problem: ItemProblem | None = Field(default=None, description="Why it failed or was skipped")

    @model_serializer(mode="wrap")
    def _omit_absent(self, handler: SerializerFunctionWrapHandler):  # no return type: it would be the schema
        return {name: value for name, value in handler(self).items() if value is not None}


class JobResultPage(_Model):
    items: list[JobResultItem]
    next_cursor: Cursor | None = Field(
        description="Pass as `cursor` for the next page; null on the last. With `outcome`, a page may hold "
        "fewer items than `limit` (even none) before the last"
    )
