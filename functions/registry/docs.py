"""Pieces of the OpenAPI description shared by the route handlers."""

from __future__ import annotations

from typing import Any

from registry.models import Problem
from registry.problems import PROBLEM_JSON

_MEANING = {
    400: "Malformed JSON, cursor or header",
    404: "No such device (or entry)",
    405: "Method not allowed on this path",
    409: "Conflict: MAC address taken, concurrent update, or Idempotency-Key in use",
    412: "If-Match does not match the current ETag",
    413: "Body over 64 KiB",
    415: "Body is not JSON",
    422: "Validation failed; `errors` lists each field",
    503: "Store busy or unreachable; retry after `Retry-After` seconds",
}

IF_MATCH = (
    "Send `If-Match` with the ETag you read to change only that version (412 otherwise), and "
    "`Idempotency-Key` to make retries safe."
)


def errors(*codes: int) -> dict[int, dict[str, Any]]:
    """OpenAPI responses for these error codes (and 503, which any route may answer)."""
    return {
        code: {"description": _MEANING[code], "content": {PROBLEM_JSON: {"model": Problem}}} for code in (*codes, 503)
    }
