"""Pieces of the OpenAPI description shared by the route handlers."""

from __future__ import annotations

from typing import Any

from registry.http.problems import PROBLEM_JSON
from registry.http.routes import MAX_BODY_BYTES, Route
from registry.schemas import Problem

_MEANING = {
    400: "Malformed JSON, cursor or header",
    404: "No such device (or entry)",
    405: "Method not allowed on this path",
    409: "Conflict: MAC address taken, concurrent update, or Idempotency-Key in use",
    412: "If-Match does not match the current ETag",
    415: "Body is not JSON",
    422: "Validation failed; `errors` lists each field",
    503: "Store busy or unreachable; retry after `Retry-After` seconds",
}

IF_MATCH = (
    "Send `If-Match` with the ETag you read to change only that version (412 otherwise), and "
    "`Idempotency-Key` to make retries safe."
)


# Response headers, as each operation that answers them declares them.
ETAG = "ETag"
LOCATION = "Location"
JOB_LOCATION = "Location of a job"  # the same header, naming a job (POST /jobs and its rollback)
RETRY_AFTER = "Retry-After"
REPLAYED = "Idempotent-Replayed"
_HEADERS: dict[str, dict[str, Any]] = {
    ETAG: {
        "description": "The version this answer shows; send it back in `If-Match` to change only that version",
        "schema": {"type": "string", "pattern": '^"[1-9][0-9]*"$'},
    },
    LOCATION: {
        "description": "The path of the device just registered",
        "schema": {"type": "string", "format": "uri-reference", "pattern": "^/devices/[0-9a-f-]{36}$"},
    },
    JOB_LOCATION: {
        "description": "The path of the job",
        "schema": {"type": "string", "format": "uri-reference", "pattern": "^/jobs/[0-9a-f-]{36}$"},
    },
    RETRY_AFTER: {"description": "Seconds to wait before retrying", "schema": {"type": "integer", "minimum": 0}},
    REPLAYED: {
        "description": "`true`: this is the stored answer to an earlier request with the same `Idempotency-Key`",
        "schema": {"type": "string", "enum": ["true"]},
    },
}


_HEADER_NAMES = {JOB_LOCATION: LOCATION}  # a declaration's key → the header it declares


def headers(*always: str, sometimes: tuple[str, ...] = ()) -> dict[str, dict[str, Any]]:
    """Declarations of the response headers an answer ``always`` or ``sometimes`` carries."""
    declared = {_HEADER_NAMES.get(name, name): {**_HEADERS[name], "required": True} for name in always}
    return declared | {_HEADER_NAMES.get(name, name): {**_HEADERS[name], "required": False} for name in sometimes}


def answer(
    description: str, *always: str, sometimes: tuple[str, ...] = (), replayable: bool = False, body: bool = True
) -> dict[str, Any]:
    """A success response: its headers (``Idempotent-Replayed`` on the writes that honour
    ``Idempotency-Key``); without a body for 204."""
    response: dict[str, Any] = {"description": description}
    declared = headers(*always, sometimes=(*sometimes, REPLAYED) if replayable else sometimes)
    if declared:
        response["headers"] = declared
    if not body:
        response["content"] = {}
    return response


def not_modified() -> dict[int, dict[str, Any]]:
    """The 304 a GET answering an ETag gives to an ``If-None-Match`` naming it (registry/http/edge.py)."""
    return {
        304: answer(
            "Not modified: `If-None-Match` names the current `ETag` (or is `*`); no body",
            ETAG,
            body=False,
        )
    }


def errors(*codes: int, body_limit: int = MAX_BODY_BYTES) -> dict[int, dict[str, Any]]:
    """OpenAPI responses for these error codes (and 503, which any route may answer); 413 names
    the route's ``body_limit``."""
    meaning = {**_MEANING, 413: f"Body over {_size(body_limit)}"}
    responses: dict[int, dict[str, Any]] = {
        code: {"description": meaning[code], "content": {PROBLEM_JSON: {"model": Problem}}} for code in (*codes, 503)
    }
    responses[503]["headers"] = headers(RETRY_AFTER)
    if 409 in responses:  # a concurrent update or a key still in progress says when to retry
        responses[409]["headers"] = headers(sometimes=(RETRY_AFTER,))
    return responses


def _size(size: int) -> str:
    """1024 → "1 KiB", 1048576 → "1 MiB"."""
    return f"{size // 1024**2} MiB" if size % 1024**2 == 0 else f"{size // 1024} KiB"


def batch_answers(route: Route, what: str) -> dict[int, dict[str, Any]]:
    """A batch route's answers: 200 with each item's result (``what``), or an error about the
    whole request, whose body may be as large as the route takes."""
    return {
        200: answer(f"{what}, in the order sent", replayable=True),
        **errors(400, 413, 415, 422, body_limit=route.max_body_bytes),
    }
