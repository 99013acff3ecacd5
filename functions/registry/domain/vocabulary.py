"""The registry's words, as plain Python: a device's attribute fields, its status values, the
kinds of history entry, the largest revision. The store, the records, the service and the HTTP
schemas all speak them, so they live below all of them (no pydantic here: a module that needs
the words does not pay for the edge's models)."""

from enum import StrEnum

OPTIONAL_FIELDS = ("ip_address", "firmware_version", "serial_number", "location")
REQUIRED_FIELDS = ("name", "device_type", "mac_address")
# report_interval_s: how often the device is expected to report (registry/domain/liveness.py).
ATTRIBUTE_FIELDS = REQUIRED_FIELDS + OPTIONAL_FIELDS + ("attributes", "tags", "report_interval_s")

# The device field of each address kind whose holder intervals are kept (registry.storage.keys
# keeps them under one prefix per kind).
ADDRESS_FIELDS = {"mac": "mac_address", "ip": "ip_address"}

# Twelve digits: the width of the history sort key (registry.storage.keys pads to it).
MAX_REVISION = 10**12 - 1


# No docstrings on the enums: pydantic would put them in the OpenAPI document.
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
    RESTORED = "restored"
    LIVENESS = "liveness"


class LivenessValue(StrEnum):
    PENDING = "pending"
    REPORTING = "reporting"
    SILENT = "silent"
