"""The filters of a fleet query (``GET /devices``) and what a device must match: exact values,
combined with AND. Which index serves a page is the store's business (registry/storage/fleet.py)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Protocol


class Filtered(Protocol):
    """What a filter compares of a device: a whole ``Device``, or the fields a lookup page reads
    of one (registry/storage/fleet.py)."""

    @property
    def deleted(self) -> bool: ...
    @property
    def name(self) -> str: ...
    @property
    def tags(self) -> list[str]: ...


@dataclass(frozen=True)
class FleetFilter:
    """Exact-match filters, combined with AND; None: not filtered. Values are canonical (the
    MAC and IP in their stored spelling, the tag lowercase)."""

    device_type: str | None = None
    status: str | None = None
    mac_address: str | None = None
    firmware_version: str | None = None
    location: str | None = None
    serial_number: str | None = None
    ip_address: str | None = None
    tag: str | None = None
    name_prefix: str | None = None
    liveness: str | None = None  # pending, reporting, silent (the state's, as its revisions set it)

    def given(self) -> dict[str, str]:
        """The filters set, by name."""
        return {f.name: value for f in fields(self) if (value := getattr(self, f.name)) is not None}

    @property
    def lookup(self) -> bool:
        """True when a filter served only by a lookup index is set (the summary indexes that
        serve type, status and MAC alone answer in one Query)."""
        return any(name not in ("device_type", "status", "mac_address") for name in self.given())

    def matches(self, device: Filtered) -> bool:
        """Whether a live device passes every filter."""
        if device.deleted:
            return False
        for name, value in self.given().items():
            if name == "tag":
                if value not in device.tags:
                    return False
            elif name == "name_prefix":
                if not device.name.startswith(value):
                    return False
            elif getattr(device, name) != value:
                return False
        return True


UNFILTERED = FleetFilter()
