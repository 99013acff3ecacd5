"""Pydantic models at the edge: what a client may send (``extra="forbid"``), what we answer.

Reusable annotated types carry each rule once (:mod:`registry.types` holds the parsers).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.json_schema import SkipJsonSchema

from registry import types

DeviceId = Annotated[str, AfterValidator(types.canonical_uuid)]
MacAddress = Annotated[
    str,
    AfterValidator(types.canonical_mac),
    Field(
        description="MAC address; any of the accepted spellings, answered as lowercase colons",
        examples=["00:1a:2b:3c:4d:5e"],
        json_schema_extra={"pattern": types.MAC_PATTERN},
    ),
]
IpAddress = Annotated[
    str,
    AfterValidator(types.canonical_ip),
    Field(description="IPv4 or IPv6 address, answered in canonical form", examples=["192.0.2.10"]),
]
Timestamp = Annotated[str, Field(description="ISO 8601 UTC", examples=["2026-11-27T06:12:00.123Z"])]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
DeviceType = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
FirmwareVersion = Annotated[str, StringConstraints(max_length=64)]
SerialNumber = Annotated[str, StringConstraints(max_length=128)]
Location = Annotated[str, StringConstraints(max_length=256)]
Reason = Annotated[str, StringConstraints(max_length=256)]
AttributeKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
AttributeValue = Annotated[str, StringConstraints(max_length=256)]
Attributes = Annotated[dict[AttributeKey, AttributeValue], Field(max_length=50)]

OPTIONAL_FIELDS = ("ip_address", "firmware_version", "serial_number", "location")
REQUIRED_FIELDS = ("name", "device_type", "mac_address")
ATTRIBUTE_FIELDS = REQUIRED_FIELDS + OPTIONAL_FIELDS + ("attributes",)


class StatusValue(StrEnum):
    UNKNOWN = "unknown"
    ONLINE = "online"
    OFFLINE = "offline"
    MAINTENANCE = "maintenance"
    ERROR = "error"
    DECOMMISSIONED = "decommissioned"


class HistoryKind(StrEnum):
    CREATED = "created"
    CONFIG = "config"
    STATUS = "status"
    DELETED = "deleted"


class _Model(BaseModel):
    # Validators are built on first use, not at import: each route function builds only the
    # models its own route touches (a cold-start cost; see docs/performance.md).
    model_config = ConfigDict(defer_build=True)


class _Input(_Model):
    model_config = ConfigDict(extra="forbid")


class DeviceAttributes(_Input):
    """A device's long-lived configuration (the body of ``POST /devices``)."""

    name: Name
    device_type: DeviceType
    mac_address: MacAddress
    ip_address: IpAddress | None = None
    firmware_version: FirmwareVersion | None = None
    serial_number: SerialNumber | None = None
    location: Location | None = None
    attributes: Attributes = Field(default_factory=dict)


class DevicePatch(_Input):
    """A JSON merge patch (RFC 7396) of the attributes: ``null`` clears an optional field
    or removes a key of ``attributes``."""

    # Required attributes cannot be cleared: the schema says so (no null), and the validator
    # below answers a null with a sentence rather than a type error.
    name: Name | SkipJsonSchema[None] = None
    device_type: DeviceType | SkipJsonSchema[None] = None
    mac_address: MacAddress | SkipJsonSchema[None] = None
    ip_address: IpAddress | None = None
    firmware_version: FirmwareVersion | None = None
    serial_number: SerialNumber | None = None
    location: Location | None = None
    attributes: dict[AttributeKey, AttributeValue | None] | None = None

    @model_validator(mode="after")
    def _required_fields_cannot_be_cleared(self) -> DevicePatch:
        for field in REQUIRED_FIELDS:
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(f"{field} is required and cannot be set to null")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields the client sent, ``None`` meaning "clear"."""
        return self.model_dump(exclude_unset=True)


class DeviceDetail(_Model):
    id: DeviceId
    name: str
    device_type: str
    mac_address: str
    ip_address: str | None
    firmware_version: str | None
    serial_number: str | None
    location: str | None
    attributes: dict[str, str]
    config_version: int = Field(ge=1)
    created_at: Timestamp
    updated_at: Timestamp


class DeviceSummary(_Model):
    id: DeviceId
    name: str
    device_type: str
    mac_address: str
    status: StatusValue


class DevicePage(_Model):
    items: list[DeviceSummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last")


class StatusUpdate(_Input):
    status: StatusValue
    reason: Reason | None = None


class DeviceStatus(_Model):
    device_id: DeviceId
    status: StatusValue
    reason: str | None
    version: int = Field(ge=1)
    updated_at: Timestamp


class FieldChange(_Model):
    old: Any
    new: Any


class HistoryEntry(_Model):
    revision: int = Field(ge=1)
    kind: HistoryKind
    at: Timestamp
    changed_by: str
    changes: dict[str, FieldChange]
    snapshot: dict[str, Any]


class HistoryPage(_Model):
    items: list[HistoryEntry]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last")


class FieldError(_Model):
    field: str
    message: str


class Problem(_Model):
    """An RFC 9457 problem document (``application/problem+json``)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = None


HistoryKindFilter = Literal["config", "status"]
Order = Literal["asc", "desc"]
