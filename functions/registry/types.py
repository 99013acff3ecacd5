"""Parsers for the values the contract normalises: ids, MAC and IP addresses, timestamps.

Pure functions (no pydantic) so the same rule serves the models, the query parameters and
the property-based tests.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from datetime import UTC, datetime

_HEX = "[0-9a-fA-F]"
_MAC_SPELLINGS = (
    re.compile(rf"^{_HEX}{{2}}(:{_HEX}{{2}}){{5}}$"),  # 00:1A:2B:3C:4D:5E
    re.compile(rf"^{_HEX}{{2}}(-{_HEX}{{2}}){{5}}$"),  # 00-1a-2b-3c-4d-5e
    re.compile(rf"^{_HEX}{{4}}\.{_HEX}{{4}}\.{_HEX}{{4}}$"),  # 001a.2b3c.4d5e
    re.compile(rf"^{_HEX}{{12}}$"),  # 001a2b3c4d5e
)
MAC_PATTERN = r"^([0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}|[0-9a-fA-F]{4}(\.[0-9a-fA-F]{4}){2}|[0-9a-fA-F]{12})$"


def canonical_mac(value: str) -> str:
    """Any accepted spelling → lowercase colon form; ValueError otherwise."""
    if not any(spelling.fullmatch(value) for spelling in _MAC_SPELLINGS):
        raise ValueError(
            f"{value!r} is not a MAC address: expected 12 hex digits, e.g. 00:1a:2b:3c:4d:5e, "
            "00-1a-2b-3c-4d-5e, 001a.2b3c.4d5e or 001a2b3c4d5e"
        )
    digits = re.sub(r"[^0-9a-fA-F]", "", value).lower()
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def canonical_ip(value: str) -> str:
    """IPv4 or IPv6 in the canonical form of :mod:`ipaddress`; ValueError otherwise."""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 or IPv6 address") from None


def canonical_uuid(value: str) -> str:
    """A UUID in its hyphenated lowercase form; ValueError otherwise."""
    if len(value) != 36:
        raise ValueError(f"{value!r} is not a UUID")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValueError(f"{value!r} is not a UUID") from None


def new_device_id() -> str:
    """A UUID v7 (RFC 9562): time-ordered, so listing by id lists by registration time."""
    millis = int(datetime.now(UTC).timestamp() * 1000)
    rand = int.from_bytes(uuid.uuid4().bytes, "big") & ((1 << 74) - 1)
    value = (millis & ((1 << 48) - 1)) << 80 | 0x7 << 76 | (rand >> 62) << 64 | 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def format_timestamp(moment: datetime) -> str:
    """ISO 8601 UTC with milliseconds and ``Z``: fixed width, so strings sort as times do."""
    utc = moment.astimezone(UTC)
    # strftime's %Y does not zero-pad years before 1000 on every platform; fixed width needs it.
    return f"{utc.year:04d}" + utc.strftime("-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def now_timestamp() -> str:
    return format_timestamp(datetime.now(UTC))


def parse_timestamp(value: str) -> str:
    """An ISO 8601 timestamp with a timezone → the stored form; ValueError otherwise."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 timestamp") from None
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} has no timezone: add Z or an offset such as +00:00")
    try:
        return format_timestamp(moment)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-01:00 is after the last representable UTC time
        raise ValueError(f"{value!r} is out of range once converted to UTC") from None
