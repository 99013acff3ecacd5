"""The contract's shapes, in pydantic: what a client may send (``extra="forbid"``), what we answer.
The handlers validate requests with them; the devices' service takes its input in these shapes and
checks a merged patch against the same rules. Below both, so neither imports the other's layer.

Reusable annotated types carry each rule once (:mod:`registry.domain.values` holds the parsers).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    WithJsonSchema,
    model_serializer,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from registry.domain import cursors, text, values
from registry.domain.liveness import MAX_REPORT_INTERVAL_S
from registry.domain.vocabulary import (
    MAX_REVISION,
    REQUIRED_FIELDS,
    HistoryKind,
    LivenessValue,
    StatusValue,
)

ATTRIBUTE_KEY_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
MAX_ATTRIBUTES = 50
MAX_ATTRIBUTE_VALUE = 256
# Tags: a set of labels, stored and answered lowercase and sorted; accepted in any case.
TAG_PATTERN = r"^[a-z0-9_.:-]{1,64}$"
TAG_INPUT_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
MAX_TAGS = 20


def _trimmed(constraints: StringConstraints, *, text_rule: bool = True) -> WithJsonSchema:
    """The schema of a required text field: 1..max_length characters once trimmed (the length
    limits alone would call "   " valid and "  x×128  " invalid)."""
    limit = constraints.max_length
    assert constraints.strip_whitespace and constraints.min_length == 1 and limit
    description = f"1–{limit} characters once surrounding whitespace is trimmed (stored trimmed)"
    schema: dict[str, Any] = {"type": "string", "pattern": values.trimmed_pattern(limit), "description": description}
    if text_rule:  # what a client writes; an answer may hold what was stored before the rule
        schema |= {"allOf": [{"pattern": text.TRIMMED_TEXT_PATTERN}], "description": f"{description}. {text.TEXT_RULE}"}
    return WithJsonSchema(schema)


def _string_map(values: dict[str, Any], description: str, **limits: int) -> WithJsonSchema:
    """``attributes``: keys by pattern (pydantic would say ``patternProperties``, which lets any
    other key through), values by ``values``."""
    schema = {"type": "object", "propertyNames": {"pattern": ATTRIBUTE_KEY_PATTERN}, "additionalProperties": values}
    return WithJsonSchema({**schema, **limits, "description": description})


DeviceId = Annotated[
    str,
    AfterValidator(values.canonical_uuid),
    Field(json_schema_extra={"format": "uuid", "pattern": values.UUID_PATTERN}),
]
MacAddress = Annotated[
    str,
    AfterValidator(values.canonical_mac),
    Field(
        description="MAC address; any of the accepted spellings, answered as lowercase colons",
        examples=["00:1a:2b:3c:4d:5e"],
        json_schema_extra={"pattern": values.MAC_PATTERN},
    ),
]
CanonicalMac = Annotated[str, StringConstraints(pattern=values.CANONICAL_MAC_PATTERN)]
_IP_SCHEMA = {
    "anyOf": [{"type": "string", "format": "ipv4"}, {"type": "string", "format": "ipv6"}],
    "description": "IPv4 or IPv6 address (no zone), answered in canonical form",
    "examples": ["192.0.2.10"],
}
IpAddress = Annotated[str, AfterValidator(values.canonical_ip), WithJsonSchema(_IP_SCHEMA)]
CanonicalIp = Annotated[str, WithJsonSchema(_IP_SCHEMA)]
# Answered: always UTC with milliseconds and Z.
Timestamp = Annotated[
    str,
    StringConstraints(pattern=values.STORED_TIMESTAMP_PATTERN),
    Field(description="ISO 8601 UTC", examples=["2026-11-27T06:12:00.123Z"], json_schema_extra={"format": "date-time"}),
]
# Asked for (query parameters): RFC 3339 with any offset.
TimestampQuery = Annotated[
    str,
    AfterValidator(values.parse_timestamp),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": values.TIMESTAMP_PATTERN}),
]
# Every free-text field: registry/domain/text.py's rule, published as its pattern.
_VISIBLE_TEXT = AfterValidator(text.visible_text)


_TEXT_SCHEMA: dict[str, Any] = {"pattern": text.TEXT_PATTERN, "description": text.TEXT_RULE}
_TEXT = Field(json_schema_extra=_TEXT_SCHEMA)  # an optional free-text field a client writes (not trimmed)


MAX_NAME = 128
MAX_FIRMWARE = 64
MAX_SERIAL = 128
_NAME = StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME)
Name = Annotated[str, _NAME, _VISIBLE_TEXT, _trimmed(_NAME)]
StoredName = Annotated[str, _NAME, _trimmed(_NAME, text_rule=False)]
_DEVICE_TYPE = StringConstraints(strip_whitespace=True, min_length=1, max_length=64)
DeviceType = Annotated[str, _DEVICE_TYPE, _VISIBLE_TEXT, _trimmed(_DEVICE_TYPE)]
StoredDeviceType = Annotated[str, _DEVICE_TYPE, _trimmed(_DEVICE_TYPE, text_rule=False)]
FirmwareVersion = Annotated[str, StringConstraints(max_length=MAX_FIRMWARE), _VISIBLE_TEXT, _TEXT]
StoredFirmwareVersion = Annotated[str, StringConstraints(max_length=MAX_FIRMWARE)]  # as stored, before the rule too
SerialNumber = Annotated[str, StringConstraints(max_length=MAX_SERIAL), _VISIBLE_TEXT, _TEXT]
StoredSerialNumber = Annotated[str, StringConstraints(max_length=MAX_SERIAL)]  # as stored, before the rule too
MAX_LOCATION = 256
MAX_REASON = 256
Location = Annotated[str, StringConstraints(max_length=MAX_LOCATION), _VISIBLE_TEXT, _TEXT]
StoredLocation = Annotated[str, StringConstraints(max_length=MAX_LOCATION)]  # as stored, before the rule too
Reason = Annotated[str, StringConstraints(max_length=MAX_REASON), _VISIBLE_TEXT, _TEXT]
StoredReason = Annotated[str, StringConstraints(max_length=MAX_REASON)]  # as stored, before the rule too
AttributeKey = Annotated[str, StringConstraints(pattern=ATTRIBUTE_KEY_PATTERN)]
AttributeValue = Annotated[str, StringConstraints(max_length=MAX_ATTRIBUTE_VALUE), _VISIBLE_TEXT, _TEXT]
_STORED_VALUE_SCHEMA = {"type": "string", "maxLength": MAX_ATTRIBUTE_VALUE}
_VALUE_SCHEMA = {**_STORED_VALUE_SCHEMA, "pattern": text.TEXT_PATTERN, "description": text.TEXT_RULE}
Attributes = Annotated[
    dict[AttributeKey, AttributeValue],
    Field(max_length=MAX_ATTRIBUTES),
    _string_map(_VALUE_SCHEMA, "Free-form string map", maxProperties=MAX_ATTRIBUTES),
]
StoredAttributes = Annotated[
    dict[AttributeKey, Annotated[str, StringConstraints(max_length=MAX_ATTRIBUTE_VALUE)]],
    _string_map(_STORED_VALUE_SCHEMA, "Free-form string map", maxProperties=MAX_ATTRIBUTES),
]
AttributesPatch = Annotated[
    dict[AttributeKey, AttributeValue | None],
    _string_map(
        {"anyOf": [_VALUE_SCHEMA, {"type": "null"}]},
        f"Merged key by key: a value sets the key, null removes it; at most {MAX_ATTRIBUTES} keys once merged",
    ),
]
Tag = Annotated[
    str,
    StringConstraints(pattern=TAG_INPUT_PATTERN),
    AfterValidator(str.lower),
    WithJsonSchema({"type": "string", "pattern": TAG_INPUT_PATTERN, "description": "Any case; stored lowercase"}),
]
Tags = Annotated[
    list[Tag],
    Field(max_length=MAX_TAGS, description=f"A set of at most {MAX_TAGS} tags: lowercased, answered sorted"),
    AfterValidator(values.tag_set),
]
AnsweredTags = Annotated[
    list[Annotated[str, StringConstraints(pattern=TAG_PATTERN)]],
    Field(max_length=MAX_TAGS, description="Sorted, lowercase", json_schema_extra={"uniqueItems": True}),
]
Cursor = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]+$", max_length=cursors.MAX_LENGTH)]
# Pages of lists and of history: this many items unless the client asks for another size.
PAGE_SIZE_DEFAULT = 50
PAGE_SIZE_MAX = 100
ReportInterval = Annotated[
    int,
    Field(
        ge=1,
        le=MAX_REPORT_INTERVAL_S,
        description=(
            "Seconds between the device's expected reports: at least the deployment's `min_report_interval_s` "
            "(60 in AWS by default, 1 locally), at most 86,400; null or absent: the deployment's "
            "`default_report_interval_s` (300). The device is silent after `missed_reports` (3) intervals without one"
        ),
    ),
]
LastSeenAt = Annotated[
    Timestamp | None,
    Field(
        description=(
            "When the device's latest accepted report arrived, to within the deployment's "
            "`liveness_resolution_s`; null if it never reported"
        )
    ),
]
LivenessField = Annotated[
    LivenessValue,
    Field(
        description=(
            "`pending`: registered, never reported, not yet overdue; `reporting`: reported within the last "
            "`missed_reports × report_interval_s`; `silent`: otherwise"
        )
    ),
]


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
    tags: Tags = Field(default_factory=list)
    report_interval_s: ReportInterval | None = None


class DevicePatch(_Input):
    """A JSON merge patch (RFC 7396) of the attributes: ``null`` clears an optional field
    or removes a key of ``attributes``."""

    # Required attributes cannot be cleared: the schema says so (no null), and the validator
    # below answers a null with a sentence rather than a type error.
    # Optional (not a union with a hidden None): an error names the field alone, not a union member.
    name: Annotated[Name | None, _trimmed(_NAME)] = None
    device_type: Annotated[DeviceType | None, _trimmed(_DEVICE_TYPE)] = None
    mac_address: MacAddress | SkipJsonSchema[None] = None
    ip_address: IpAddress | None = None
    firmware_version: FirmwareVersion | None = None
    serial_number: SerialNumber | None = None
    location: Location | None = None
    attributes: AttributesPatch | None = None
    tags: Annotated[Tags | None, Field(description="Replaces the whole set; null or [] clears it")] = None
    report_interval_s: ReportInterval | None = None

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
    name: StoredName
    device_type: StoredDeviceType
    mac_address: CanonicalMac
    ip_address: CanonicalIp | None
    firmware_version: StoredFirmwareVersion | None
    serial_number: StoredSerialNumber | None
    location: StoredLocation | None
    attributes: StoredAttributes
    tags: AnsweredTags
    report_interval_s: ReportInterval | None = None
    config_version: int = Field(ge=1)
    created_at: Timestamp
    updated_at: Timestamp


class DeviceSummary(_Model):
    id: DeviceId
    name: StoredName
    device_type: StoredDeviceType
    mac_address: CanonicalMac
    status: StatusValue
    liveness: LivenessField
    last_seen_at: LastSeenAt


class DevicePage(_Model):
    items: list[DeviceSummary]
    next_cursor: Cursor | None = Field(description="Pass as `cursor` for the next page; null on the last")


# GET /devices?view=: summaries (the default), or each device's detail with its status.
ListView = Literal["summary", "detail"]


class RevertRequest(_Input):
    """The body of ``POST /devices/{id}/revert``."""

    # 0 and revisions past the latest are well-formed: they answer 404 naming the latest revision.
    to_revision: int = Field(ge=0, le=MAX_REVISION, description="The revision whose attributes become current")
    reason: Reason | None = None


class RestoreRequest(_Input):
    """The body of ``POST /devices/{id}/restore``."""

    reason: Reason | None = None


class StatusUpdate(_Input):
    status: StatusValue
    reason: Reason | None = None


class DeviceStatus(_Model):
    device_id: DeviceId
    status: StatusValue
    reason: StoredReason | None
    version: int = Field(ge=1)
    updated_at: Timestamp
    liveness: LivenessField
    last_seen_at: Annotated[
        Timestamp | None,
        Field(
            description=(
                "When the device's latest accepted report arrived, to within the deployment's "
                "`liveness_resolution_s`; null if it never reported. In an `as_of` answer: as recorded by "
                "the liveness transition then in force (history keeps transitions, not every refresh)"
            )
        ),
    ]


class DeviceWithStatus(DeviceDetail):
    """An item of ``GET /devices?view=detail``: the device's detail (as ``GET /devices/{id}``)
    and its status resource (as ``GET /devices/{id}/status``), read together."""

    status: DeviceStatus


class DeviceDetailPage(_Model):
    items: list[DeviceWithStatus]
    next_cursor: Cursor | None = Field(description="Pass as `cursor` for the next page; null on the last")


class FieldChange(_Model):
    old: Any
    new: Any


# Optional history entry fields that a client sees only on the entries that have them.
_ABSENT_WHEN_NONE = ("reverted_to", "reason", "job_id")


class HistoryEntry(_Model):
    revision: int = Field(ge=1)
    kind: HistoryKind
    at: Timestamp
    changed_by: str
    changes: dict[str, FieldChange]
    snapshot: dict[str, Any]
    # Only on the entries that have them (a revert; a revert or restore with a reason).
    reverted_to: Annotated[int, Field(ge=1)] | SkipJsonSchema[None] = Field(
        default=None, description="The revision whose attributes this entry made current again"
    )
    reason: StoredReason | SkipJsonSchema[None] = Field(default=None, description="Why, as the client said")
    job_id: (
        Annotated[str, Field(description="The fleet job (`/jobs/{id}`) that made this change")] | SkipJsonSchema[None]
    ) = None

    @model_serializer(mode="wrap")
    def _omit_absent(self, handler: SerializerFunctionWrapHandler):  # no return type: it would be the schema
        answered = handler(self)
        for name in _ABSENT_WHEN_NONE:
            if answered.get(name) is None:
                answered.pop(name, None)
        return answered


class DeviceDiff(_Model):
    """What differs between a device's whole states in force at two revisions."""

    device_id: DeviceId
    from_revision: int = Field(alias="from", ge=1, description="The revision compared from")
    to_revision: int = Field(alias="to", ge=1, description="The revision compared to")
    changes: dict[str, FieldChange] = Field(
        description="Each field that differs (`attributes.<key>` key by key, tags, status, reason): old and new"
    )


class HistoryPage(_Model):
    items: list[HistoryEntry]
    next_cursor: Cursor | None = Field(description="Pass as `cursor` for the next page; null on the last")


class HolderInterval(_Model):
    """A device that held an address, and when."""

    device_id: DeviceId
    held_from: Timestamp = Field(alias="from", description="When the device took the address")
    held_until: Timestamp | None = Field(
        alias="until", description="When it gave the address up; null while it still holds it"
    )


class HolderPage(_Model):
    items: list[HolderInterval] = Field(description="Newest interval first")
    next_cursor: Cursor | None = Field(description="Pass as `cursor` for the next page; null on the last")


Count = Annotated[int, Field(ge=0)]


class FleetStats(_Model):
    """Counts of the live devices (deleted ones excluded), eventually consistent: maintained from
    the table's change stream, seconds behind the writes."""

    total: Count = Field(description="Live devices")
    by_status: dict[str, Count] = Field(description="Live devices per status; statuses with none are left out")
    by_device_type: dict[str, Count] = Field(description="Live devices per device type; types with none are left out")
    by_firmware_version: dict[str, Count] = Field(
        description=(
            "Live devices per firmware version; a device without one is in no entry "
            "(`total` minus the sum of these and of `other.firmware_version` is the number of devices without one)"
        )
    )
    by_liveness: dict[str, Count] = Field(
        description="Live devices per liveness (pending, reporting, silent); values with none are left out",
    )
    other: dict[Literal["device_type", "firmware_version"], Count] = Field(
        default_factory=dict,
        description=(
            "Live devices counted under no named value, per dimension: the counts keep at most 50 distinct "
            "device types and 50 firmware versions in each of their 10 shards (at most 500 each in all), so a "
            "fleet with more distinct values counts the rest here; empty when none"
        ),
    )
    as_of: Timestamp = Field(
        description="When the newest change these counts include was written (1970-01-01T00:00:00.000Z: none yet)"
    )


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


class ItemProblem(Problem):
    """One item's problem document (a batch's item, a job's device): as an error answer's body is
    written (registry/problems.py), without the members that have no value."""

    @model_serializer(mode="wrap")
    def _omit_absent(self, handler: SerializerFunctionWrapHandler):  # no return type: it would be the schema
        return {name: value for name, value in handler(self).items() if value is not None}


HistoryKindFilter = Literal["config", "status", "liveness"]
Order = Literal["asc", "desc"]


# -- device credentials (registry/domain/credentials.py) -------------------------------------------

CredentialId = Annotated[
    str,
    AfterValidator(values.canonical_uuid),
    Field(description="Credential id (UUID)", json_schema_extra={"format": "uuid", "pattern": values.UUID_PATTERN}),
]


class CredentialRequest(_Input):
    """The body of ``POST /devices/{id}/credentials``: an empty object (every POST takes a JSON
    object; there is nothing to choose about a credential yet)."""


class CredentialCreated(_Model):
    """The answer to a credential's creation: the only time its secret is ever shown."""

    credential_id: CredentialId
    secret: str = Field(
        description=(
            "256 random bits, URL-safe base64; shown once, stored only as a salted scrypt hash. The device "
            "sends `Authorization: Device <credential_id>:<secret>`."
        ),
        json_schema_extra={"pattern": "^[A-Za-z0-9_-]{43}$"},
    )
    created_at: Timestamp


class CredentialSummary(_Model):
    credential_id: CredentialId
    created_at: Timestamp
    last_used_at: Timestamp | None = Field(description="Last successful use, kept to within an hour; null: never used")


class CredentialPage(_Model):
    items: list[CredentialSummary] = Field(description="The device's active credentials (at most 2), oldest first")
