"""Fleet queries: the filters of ``GET /devices``, what a device must match, and which filter's
index serves a page (docs/decisions.md, "Fleet queries").

A page is served by one index, the most selective one the filters name; every other filter
is applied to the devices it reads. A page of one exact filter reads ``limit + 1`` index
entries; with more (or a ``name_prefix`` between two indexed lengths) it reads at most
``COMBINED_READ_FACTOR × (limit + 1)``, so it may be short, even empty, while a cursor follows."""

from __future__ import annotations

from dataclasses import dataclass, fields

from registry.domain.records import Device
from registry.storage import keys

COMBINED_READ_FACTOR = 5


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

    def given(self) -> dict[str, str]:
        """The filters set, by name."""
        return {f.name: value for f in fields(self) if (value := getattr(self, f.name)) is not None}

    @property
    def lookup(self) -> bool:
        """True when a filter served only by a lookup index is set (the summary indexes that
        serve type, status and MAC alone answer in one Query)."""
        return any(name not in ("device_type", "status", "mac_address") for name in self.given())

    def matches(self, device: Device) -> bool:
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


@dataclass(frozen=True)
class Plan:
    """The index partition that serves a page, and how many of its entries a page may read."""

    index: str
    value: str
    exact: bool  # the index partition holds exactly the matching devices


# Most selective first: a MAC is one device, a serial number or an address a handful; a tag, a
# site or a firmware version may be shared by a large part of the fleet.
_SELECTIVITY = ("mac_address", "serial_number", "ip_address", "name_prefix", "tag", "location", "firmware_version")


def plan(filters: FleetFilter) -> Plan:
    """The lookup index that serves a page with these filters (``filters.lookup`` is true)."""
    given = filters.given()
    name = next(name for name in _SELECTIVITY if name in given)
    value = given[name]
    alone = len(given) == 1
    if name == "mac_address":
        return Plan(keys.LIST_BY_MAC, value, exact=alone)
    if name == "tag":
        return Plan(keys.LIST_BY_TAG, value, exact=alone)
    if name == "name_prefix":
        level = max(n for n in keys.NAME_PREFIX_LEVELS if n <= len(value))
        return Plan(keys.name_prefix_index(level), value[:level], exact=alone and level == len(value))
    return Plan(keys.LOOKUP_ATTRIBUTES[name], value, exact=alone)


def read_budget(served: Plan, limit: int) -> int:
    """How many index entries a page may read."""
    return limit + 1 if served.exact else COMBINED_READ_FACTOR * (limit + 1)
