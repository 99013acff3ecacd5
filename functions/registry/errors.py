"""Domain errors. Each knows its problem type, title and HTTP status; ``problems`` turns
them into RFC 9457 responses in one place. Their messages are written for clients."""

from __future__ import annotations

from typing import Any


class RegistryError(Exception):
    status = 500
    slug = "internal-error"
    title = "Internal error"
    retry_after: int | None = None

    def __init__(self, detail: str, *, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


class BadRequest(RegistryError):
    status, slug, title = 400, "bad-request", "Bad request"


class MalformedJson(BadRequest):
    slug, title = "malformed-json", "Malformed JSON"


class InvalidCursor(BadRequest):
    slug, title = "invalid-cursor", "Invalid cursor"


class InvalidHeader(BadRequest):
    slug, title = "invalid-header", "Invalid header"


class RouteNotFound(RegistryError):
    status, slug, title = 404, "route-not-found", "Not found"


class MethodNotAllowed(RegistryError):
    status, slug, title = 405, "method-not-allowed", "Method not allowed"


class DeviceNotFound(RegistryError):
    status, slug, title = 404, "device-not-found", "Device not found"

    def __init__(self, device_id: str) -> None:
        super().__init__(f"No device with id {device_id}.")


class HistoryEntryNotFound(RegistryError):
    status, slug, title = 404, "history-entry-not-found", "History entry not found"

    def __init__(self, device_id: str, revision: int) -> None:
        super().__init__(f"Device {device_id} has no history entry with revision {revision}.")


class MacAddressTaken(RegistryError):
    status, slug, title = 409, "mac-address-taken", "MAC address already registered"

    def __init__(self, mac: str, existing_id: str) -> None:
        super().__init__(f"MAC address {mac} is already registered to device {existing_id}.")
        self.mac = mac
        self.existing_id = existing_id


class ConcurrentUpdate(RegistryError):
    status, slug, title = 409, "concurrent-update", "Concurrent update"
    retry_after = 1


class IdempotencyInProgress(RegistryError):
    status, slug, title = 409, "idempotency-in-progress", "Request with this Idempotency-Key in progress"
    retry_after = 1


class PreconditionFailed(RegistryError):
    status, slug, title = 412, "precondition-failed", "Precondition failed"


class PayloadTooLarge(RegistryError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class UnsupportedMediaType(RegistryError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class ValidationFailed(RegistryError):
    status, slug, title = 422, "validation-failed", "Validation failed"


class IdempotencyKeyReused(RegistryError):
    status, slug, title = 422, "idempotency-key-reused", "Idempotency-Key reused with another request"


class ServiceUnavailable(RegistryError):
    status, slug, title = 503, "service-unavailable", "Service unavailable"
    retry_after = 1


_SOURCES = frozenset({"body", "query", "path", "header"})


def _field(location: tuple[Any, ...] | list[Any]) -> str:
    """("body", "attributes", "k") → "attributes.k"; ("query", "limit") → "limit"."""
    parts = [str(part) for part in location]
    if len(parts) > 1 and parts[0] in _SOURCES:
        parts = parts[1:]
    return ".".join(parts) or "body"


def _field_errors(errors: Any) -> list[dict[str, str]]:
    found = []
    for error in errors:
        message = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
        if error.get("type") == "missing":
            message = "is required"
        elif error.get("type") == "extra_forbidden":
            message = "is not a known field"
        found.append({"field": _field(error.get("loc", ())), "message": message})
    return found


def from_validation_errors(errors: Any) -> RegistryError:
    """Pydantic / Powertools validation errors → 400 (malformed JSON, or only malformed headers,
    as the contract has it) or 422 naming each field."""
    if any(error.get("type") == "json_invalid" for error in errors):
        return MalformedJson("The request body is not valid JSON.")
    field_errors = _field_errors(errors)
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in field_errors)
    if errors and all(tuple(error.get("loc", ()))[:1] == ("header",) for error in errors):
        return InvalidHeader(f"A header is malformed: {summary}.", errors=field_errors)
    return ValidationFailed(f"The request is not valid: {summary}.", errors=field_errors)
