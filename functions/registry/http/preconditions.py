"""``If-Match`` (RFC 9110 §13.1.1), read at the edge: the handler turns the header into the
versions a write may apply to, and the service compares versions, never header syntax.

Comparison is strong: a weak tag (``W/"3"``) matches nothing, ``*`` matches any current
version, and a tag that is not one of our versions (``"abc"``) matches none."""

from __future__ import annotations

import re

from registry.domain.errors import InvalidHeader
from registry.domain.versions import ANY_VERSION, ExpectedVersion

MAX_LENGTH = 256
_ENTITY_TAG = re.compile(r'^\s*(W/)?"([\x21\x23-\x7e]*)"\s*$')
_VERSION = re.compile(r"^[1-9][0-9]{0,17}$")


def expected_version(header: str | None) -> ExpectedVersion | None:
    """``If-Match`` as sent (several lines already joined by commas) → what it expects; ``None``
    when the header is absent. Malformed: :class:`InvalidHeader` (400)."""
    if header is None:
        return None
    if header.strip() == "*":
        return ANY_VERSION
    parsed = [_ENTITY_TAG.fullmatch(tag) for tag in header.split(",")]
    if len(header) > MAX_LENGTH or not all(parsed):
        raise InvalidHeader('If-Match must be "*" or entity tags such as "3", as given in ETag.')
    strong = {match.group(2) for match in parsed if match and not match.group(1)}
    return ExpectedVersion(frozenset(int(tag) for tag in strong if _VERSION.fullmatch(tag)))
