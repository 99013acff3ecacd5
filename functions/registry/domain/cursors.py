"""Opaque page cursors: base64url JSON naming the last item a page returned, never a raw
DynamoDB key. A cursor is parsed strictly; anything edited by hand is a 400 and, because the
store rebuilds the start key from the request's own device and filters, it can never reach
another device's items."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from registry.domain.errors import InvalidCursor
from registry.domain.values import canonical_uuid
from registry.domain.vocabulary import MAX_REVISION

_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
MAX_LENGTH = 512  # a cursor names one item: far below this


def _encode(payload: dict[str, Any]) -> str:
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode(token: str) -> dict[str, Any]:
    if len(token) > MAX_LENGTH:
        raise InvalidCursor("The cursor is not one this API issued: pass next_cursor unchanged.")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidCursor("The cursor is not one this API issued: pass next_cursor unchanged.") from None
    if not isinstance(payload, dict):
        raise InvalidCursor("The cursor is not one this API issued: pass next_cursor unchanged.")
    return payload


def encode_device_cursor(device_id: str) -> str:
    return _encode({"d": device_id})


def decode_device_cursor(token: str) -> str:
    payload = _decode(token)
    device_id = payload.get("d")
    if set(payload) != {"d"} or not isinstance(device_id, str):
        raise InvalidCursor("The cursor is not a device-list cursor: pass next_cursor unchanged.")
    try:
        return canonical_uuid(device_id)
    except ValueError:
        raise InvalidCursor("The cursor is not a device-list cursor: pass next_cursor unchanged.") from None


def encode_history_cursor(revision: int, at: str) -> str:
    return _encode({"r": revision, "a": at})


def decode_history_cursor(token: str) -> tuple[int, str]:
    payload = _decode(token)
    revision, at = payload.get("r"), payload.get("a")
    if (
        set(payload) == {"r", "a"}
        and type(revision) is int  # not a bool, not a float
        and 1 <= revision <= MAX_REVISION
        and isinstance(at, str)
        and _TIMESTAMP.fullmatch(at) is not None
    ):
        return revision, at
    raise InvalidCursor("The cursor is not a history cursor: pass next_cursor unchanged.")


def encode_holder_cursor(since: str, revision: int, device_id: str) -> str:
    return _encode({"f": since, "r": revision, "d": device_id})


def decode_holder_cursor(token: str) -> tuple[str, int, str]:
    """``(from, revision, device id)`` of the last holder interval a page returned."""
    payload = _decode(token)
    since, revision, device_id = payload.get("f"), payload.get("r"), payload.get("d")
    if (
        set(payload) == {"f", "r", "d"}
        and isinstance(since, str)
        and _TIMESTAMP.fullmatch(since) is not None
        and type(revision) is int  # not a bool, not a float
        and 1 <= revision <= MAX_REVISION
        and isinstance(device_id, str)
    ):
        try:
            return since, revision, canonical_uuid(device_id)
        except ValueError:
            pass
    raise InvalidCursor("The cursor is not a holders cursor: pass next_cursor unchanged.")


def _encode_id(name: str, value: str) -> str:
    return _encode({name: value})


def _decode_id(token: str, name: str, what: str) -> str:
    payload = _decode(token)
    value = payload.get(name)
    if set(payload) == {name} and isinstance(value, str):
        try:
            return canonical_uuid(value)
        except ValueError:
            pass
    raise InvalidCursor(f"The cursor is not a {what} cursor: pass next_cursor unchanged.")


def encode_job_cursor(job_id: str) -> str:
    """``GET /jobs``: the last job a page returned."""
    return _encode_id("j", job_id)


def decode_job_cursor(token: str) -> str:
    return _decode_id(token, "j", "job-list")


def encode_result_cursor(device_id: str) -> str:
    """``GET /jobs/{id}/results``: the device whose result the next page follows."""
    return _encode_id("jr", device_id)


def decode_result_cursor(token: str) -> str:
    return _decode_id(token, "jr", "job-results")
