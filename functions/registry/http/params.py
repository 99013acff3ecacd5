"""Path, query and header parameters shared by the route handlers. Powertools ``Path`` and ``Header``
carry their docs; each rule is one pattern that the document shows and the resolver applies."""

import re
from collections.abc import Callable
from typing import Annotated

import annotated_types
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from pydantic import AfterValidator, BeforeValidator

from registry.domain import cursors
from registry.domain.vocabulary import MAX_REVISION
from registry.http import preconditions
from registry.http.headers import IDEMPOTENCY_KEY, IF_MATCH
from registry.schemas import (
    MAX_FIRMWARE,
    MAX_LOCATION,
    MAX_NAME,
    MAX_SERIAL,
    PAGE_SIZE_MAX,
    DeviceId,
    TimestampQuery,
)

# RFC 9110 entity tags as the API compares them: "*" or a comma-separated list of tags (quoted,
# optionally weak, no comma inside); several If-Match lines reach the resolver joined by commas
# (registry.http.guard).
_ETAG = r'(W/)?"[\x21\x23-\x2b\x2d-\x7e]*"'
IF_MATCH_PATTERN = rf"^(\*|{_ETAG}([ \t]*,[ \t]*{_ETAG})*)$"
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
# Read around the resolver (registry/http/edge.py answers 304, registry/http/guard.py refuses what
# is no list of entity tags), declared by registry/openapi.py with the same grammar as If-Match.
IF_NONE_MATCH = "If-None-Match"
# RFC 9110's ``#entity-tag`` admits an empty list: an empty If-None-Match names nothing (full answer).
IF_NONE_MATCH_PATTERN = rf"^(|{IF_MATCH_PATTERN[1:-1]})$"
_IF_MATCH = re.compile(IF_MATCH_PATTERN)


def if_none_match_is_well_formed(value: str) -> bool:
    listed = value.strip()
    return len(value) <= preconditions.MAX_LENGTH and (not listed or _IF_MATCH.fullmatch(listed) is not None)


# A number in a path or query has one spelling, its digits: API Gateway caches each spelling under
# a key of its own, so ``limit=1.0``, ``+5``, `` 5``, revision ``01`` or ``%31`` would each be an entry
# (and pydantic's lax mode reads them all as the same int). Only this is a number; range apart.
CANONICAL_INTEGER_PATTERN = r"^(0|[1-9][0-9]*)$"
_CANONICAL_INTEGER = re.compile(CANONICAL_INTEGER_PATTERN)


def _matching(pattern: str, rule: str) -> Callable[[str], str]:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(rule)
        return value

    return check


def _canonical_integer(value: object) -> object:
    """What the route reads as an int must be spelled as one: digits, no sign, no leading zero,
    no blank, no fraction, no escape (the path keeps a number as sent: registry/http/edge.py)."""
    if isinstance(value, str) and not _CANONICAL_INTEGER.fullmatch(value):
        raise ValueError("must be a whole number in digits only (no sign, spaces, leading zeros or decimals)")
    return value


# Integer path and query parameters: canonical digits only, their range inside the type (a
# ``Query(ge=…)`` beside a BeforeValidator would reach the document as "ge", not "minimum").
_CANONICAL = BeforeValidator(_canonical_integer)
RevisionNumber = Annotated[int, annotated_types.Interval(ge=1, le=MAX_REVISION), _CANONICAL]
RevisionOrZero = Annotated[int, annotated_types.Interval(ge=0, le=MAX_REVISION), _CANONICAL]

DeviceIdPath = Annotated[
    DeviceId,
    Path(description="Device id (UUID)", examples=["0190f5e2-7a3b-7c1d-9e2f-3a4b5c6d7e8f"]),
]
IfMatch = Annotated[
    Annotated[str, AfterValidator(_matching(IF_MATCH_PATTERN, 'must be "*" or entity tags such as "3", as in ETag'))]
    | None,
    Header(
        alias=IF_MATCH,
        max_length=preconditions.MAX_LENGTH,
        json_schema_extra={"pattern": IF_MATCH_PATTERN},
        description=(
            'Change only if the resource is still at this version: its `ETag` (e.g. `"3"`), several, '
            "or `*`. A mismatch is 412 and changes nothing."
        ),
    ),
]
# Honoured around the resolver (registry.http.idempotency reads it before the route runs); the route
# declares it too, so the document lists it and the resolver checks it like any parameter.
IdempotencyKey = Annotated[
    Annotated[str, AfterValidator(_matching(IDEMPOTENCY_KEY_PATTERN, "must be 1-255 visible ASCII characters"))] | None,
    Header(
        alias=IDEMPOTENCY_KEY,
        json_schema_extra={"pattern": IDEMPOTENCY_KEY_PATTERN},
        description=(
            "1-255 visible ASCII characters naming this request: a retry with the same key and body gets "
            "the first answer again (`Idempotent-Replayed: true`) and changes nothing more; the same key "
            "with another body or `If-Match` is 422."
        ),
    ),
]
PageSize = Annotated[
    Annotated[int, annotated_types.Interval(ge=1, le=PAGE_SIZE_MAX), _CANONICAL],
    Query(description="Page size"),
]
PageCursor = Annotated[
    str | None, Query(max_length=cursors.MAX_LENGTH, description="`next_cursor` of the previous page")
]
# Time travel: a past moment (a future one is 422).
AsOf = Annotated[
    TimestampQuery | None,
    Query(description="Answer as it was at this ISO 8601 time, which must have passed; such an answer has no `ETag`"),
]

# Fleet query filters (GET /devices): exact values, as long as the attribute they compare with can be.
FirmwareFilter = Annotated[
    str | None, Query(min_length=1, max_length=MAX_FIRMWARE, description="Only this firmware version")
]
LocationFilter = Annotated[str | None, Query(min_length=1, max_length=MAX_LOCATION, description="Only this location")]
SerialFilter = Annotated[str | None, Query(min_length=1, max_length=MAX_SERIAL, description="Only this serial number")]
NamePrefix = Annotated[
    str | None,
    Query(min_length=1, max_length=MAX_NAME, description="Only names starting with this (case-sensitive)"),
]
