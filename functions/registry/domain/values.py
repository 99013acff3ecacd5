"""Parsers for the values the contract normalises: ids, MAC and IP addresses, timestamps.

Pure functions (no pydantic) so the same rule serves the models, the query parameters and
the property-based tests; the id generator alone keeps state (the last id it made).
"""

from __future__ import annotations

import ipaddress
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

_HEX = "[0-9a-fA-F]"
# The accepted spellings: 00:1A:2B:3C:4D:5E, 00-1a-2b-3c-4d-5e, 001a.2b3c.4d5e, 001a2b3c4d5e (one
# separator throughout). The OpenAPI document carries this very pattern.
MAC_PATTERN = (
    rf"^({_HEX}{{2}}(:{_HEX}{{2}}){{5}}|{_HEX}{{2}}(-{_HEX}{{2}}){{5}}"
    rf"|{_HEX}{{4}}(\.{_HEX}{{4}}){{2}}|{_HEX}{{12}})$"
)
UUID_PATTERN = rf"^{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}$"
# RFC 3339 date-time as the API reads it: upper-case T and Z, seconds 00-59 (no leap second), a
# year from 0001 (Python's first), any fraction of a second; ASCII digits only ("\d" would take
# any script's digits in Python and Rust regexes). Narrower than ``datetime.fromisoformat``, so
# the document's pattern is exactly the rule.
_D = "[0-9]"
_DATE = rf"(000[1-9]|00[1-9]{_D}|0[1-9]{_D}{{2}}|[1-9]{_D}{{3}})-(0[1-9]|1[0-2])-(0[1-9]|[12]{_D}|3[01])"
_TIME = rf"([01]{_D}|2[0-3]):[0-5]{_D}:[0-5]{_D}(\.{_D}+)?"
_OFFSET = rf"(Z|[+-]([01]{_D}|2[0-3]):[0-5]{_D})"
TIMESTAMP_PATTERN = rf"^{_DATE}T{_TIME}{_OFFSET}$"
# What the API answers: UTC, milliseconds, Z (see :func:`format_timestamp`).
STORED_TIMESTAMP_PATTERN = rf"^{_D}{{4}}-{_D}{{2}}-{_D}{{2}}T{_D}{{2}}:{_D}{{2}}:{_D}{{2}}\.{_D}{{3}}Z$"
CANONICAL_MAC_PATTERN = "^[0-9a-f]{2}(:[0-9a-f]{2}){5}$"
# The characters pydantic's ``strip_whitespace`` trims (Unicode White_Space), spelled out: "\s"
# means another set in each regex dialect that reads the document.
SPACE_CHARACTERS = r"\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"


def trimmed_pattern(max_length: int) -> str:
    """A string of 1 to ``max_length`` characters once surrounding whitespace is trimmed."""
    space = SPACE_CHARACTERS
    return rf"^[{space}]*[^{space}]([\s\S]{{0,{max_length - 2}}}[^{space}])?[{space}]*$"


_MAC = re.compile(MAC_PATTERN)
_UUID = re.compile(UUID_PATTERN)
_TIMESTAMP = re.compile(TIMESTAMP_PATTERN)
_LOCAL_TIME = re.compile(rf"^{_DATE}(T{_TIME})?$")


def canonical_mac(value: str) -> str:
    """Any accepted spelling → lowercase colon form; ValueError otherwise."""
    if not _MAC.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a MAC address: expected 12 hex digits, e.g. 00:1a:2b:3c:4d:5e, "
            "00-1a-2b-3c-4d-5e, 001a.2b3c.4d5e or 001a2b3c4d5e"
        )
    digits = re.sub(r"[^0-9a-fA-F]", "", value).lower()
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def canonical_ip(value: str) -> str:
    """IPv4 or IPv6 in the canonical form of :mod:`ipaddress`; ValueError otherwise.

    An IPv6 zone (``fe80::1%eth0``) names an interface of one host, not an address a registry
    can hold; the document's ``ipv6`` format excludes it too."""
    try:
        if "%" in value:
            raise ValueError(value)
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 or IPv6 address") from None


def tag_set(tags: list[str]) -> list[str]:
    """Tags as a set: each once, sorted (they are lowercased before they get here)."""
    return sorted(set(tags))


def canonical_uuid(value: str) -> str:
    """A UUID in its hyphenated lowercase form; ValueError otherwise."""
    if not _UUID.fullmatch(value):
        raise ValueError(f"{value!r} is not a UUID")
    return value.lower()


_RANDOM_BITS = 74  # of a UUID v7: rand_a (12) and rand_b (62)
_STEP_BITS = 32  # the random part of the step between two ids of one millisecond


def _unix_millis() -> int:
    return time.time_ns() // 1_000_000


class DeviceIds:
    """UUID v7 (RFC 9562) device ids, time-ordered, so listing by id lists by registration time.

    An id is the millisecond it was made in, then 74 random bits. One made in the same
    millisecond as the last (or after the clock stepped back) is the last one plus a random step
    (RFC 9562 §6.2, method 2): ids from one process sort in the order they were made even within
    a millisecond. The step is random, not 1, so environments restored from one SnapStart snapshot
    (same last id) do not make the same next id."""

    def __init__(
        self, clock: Callable[[], int] = _unix_millis, random_bits: Callable[[int], int] = secrets.randbits
    ) -> None:
        self._clock = clock
        self._random_bits = random_bits
        self._last = (-1, 0)  # (millisecond, random bits) of the last id made
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            millis, last_millis, last_random = self._clock(), *self._last
            if millis > last_millis:
                random = self._random_bits(_RANDOM_BITS)
            else:
                millis, random = last_millis, last_random + 1 + self._random_bits(_STEP_BITS)
                if random >> _RANDOM_BITS:  # the millisecond's ids ran out: borrow the next one
                    millis, random = millis + 1, self._random_bits(_RANDOM_BITS)
            self._last = (millis, random)
        value = (millis & ((1 << 48) - 1)) << 80 | 0x7 << 76 | (random >> 62) << 64 | 0b10 << 62
        value |= random & ((1 << 62) - 1)
        return str(uuid.UUID(int=value))


new_device_id = DeviceIds()


def format_timestamp(moment: datetime) -> str:
    """ISO 8601 UTC with milliseconds and ``Z``: fixed width, so strings sort as times do."""
    utc = moment.astimezone(UTC)
    # strftime's %Y does not zero-pad years before 1000 on every platform; fixed width needs it.
    return f"{utc.year:04d}" + utc.strftime("-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def now_timestamp() -> str:
    return format_timestamp(datetime.now(UTC))


def parse_timestamp(value: str) -> str:
    """An RFC 3339 timestamp (:data:`TIMESTAMP_PATTERN`) → the stored form; ValueError otherwise."""
    if not _TIMESTAMP.fullmatch(value):
        if _LOCAL_TIME.fullmatch(value):
            raise ValueError(f"{value!r} has no timezone: add Z or an offset such as +00:00")
        raise ValueError(f"{value!r} is not an ISO 8601 timestamp with a timezone, e.g. 2026-11-27T06:12:00Z")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:  # a day the month does not have, e.g. 2026-02-30
        raise ValueError(f"{value!r} is not an ISO 8601 timestamp: no such date") from None
    try:
        return format_timestamp(moment)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-01:00 is after the last representable UTC time
        raise ValueError(f"{value!r} is out of range once converted to UTC") from None
