"""The request guard: what no route should parse is refused before the resolver runs —
query parameters on writes, oversized, non-JSON or malformed bodies — and what it lets through
is normalised (one line per declared header, UTF-8 JSON text)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from registry.domain.errors import (
    InvalidHeader,
    MalformedJson,
    PayloadTooLarge,
    UnsupportedContentEncoding,
    UnsupportedMediaType,
    ValidationFailed,
)
from registry.http.headers import REQUEST_HEADERS
from registry.http.media import JSON, body_media_types
from registry.http.params import IF_NONE_MATCH, if_none_match_is_well_formed
from registry.http.routes import MAX_BODY_BYTES


def _header(event: dict[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def _body_bytes(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedJson("The request body is not valid base64-encoded JSON.") from None
    return body.encode("utf-8", "surrogatepass")


def _check_content_encoding(event: dict[str, Any], raw: bytes) -> None:
    """A body in a content coding (gzip, br, ...) is refused rather than parsed as JSON text: 415
    naming what is accepted (RFC 9110 §8.4, §15.5.16)."""
    lines = [
        str(line)
        for key, values in (event.get("multiValueHeaders") or {}).items()
        if key.lower() == "content-encoding"
        for line in values or ()
    ] or [_header(event, "content-encoding") or ""]
    codings = {coding.strip().lower() for line in lines for coding in line.split(",")} - {"", "identity"}
    if raw and codings:
        raise UnsupportedContentEncoding(
            f"Content-Encoding {', '.join(sorted(codings))} is not accepted; send the body unencoded (identity)."
        )


def _check_query(event: dict[str, Any], known: tuple[str, ...]) -> dict[str, Any]:
    """Query parameters as the cache sees them.

    A cached GET's answer must depend only on its cache key (the path ids and the route's own
    query parameters, one value each, as API Gateway maps them), or one client's error would be
    served to everyone sharing the key. So a GET ignores parameters it does not take and, like
    API Gateway, reads the last value of a repeated one. Writes are never cached and take no
    query parameters: any there is a 422."""
    multi = event.get("multiValueQueryStringParameters") or {}
    if event.get("httpMethod") == "GET":
        single = {n: v for n, v in (event.get("queryStringParameters") or {}).items() if n in known}
        single.update({n: values[-1] for n, values in multi.items() if n in known and values})
        return {
            **event,
            "queryStringParameters": single or None,
            "multiValueQueryStringParameters": {name: [value] for name, value in single.items()} or None,
        }
    names = set(multi) | set(event.get("queryStringParameters") or {})
    if names:
        raise ValidationFailed(
            f"Unknown query parameter {', '.join(sorted(names))}; this route takes none.",
            errors=[{"field": name, "message": "is not a known query parameter"} for name in sorted(names)],
        )
    return event


def _check_if_none_match(event: dict[str, Any]) -> None:
    """A read's ``If-None-Match`` is in its cache key (docs/caching.md): each spelling that is no
    list of entity tags would be an entry of its own, so it is a 400, as a malformed ``If-Match`` is,
    with the grammar the document declares (registry/http/params.py)."""
    lines = [
        str(line)
        for key, values in (event.get("multiValueHeaders") or {}).items()
        if key.lower() == IF_NONE_MATCH.lower()
        for line in values or ()
    ]
    single = _header(event, IF_NONE_MATCH.lower())
    if not lines and single is not None:
        lines = [single]
    condition = ", ".join(line for line in lines if line.strip())  # an empty line lists nothing
    if condition and not if_none_match_is_well_formed(condition):
        raise InvalidHeader('If-None-Match must be "*" or entity tags such as "3", as given in ETag.')


def _combine_lines(event: dict[str, Any]) -> dict[str, Any]:
    """Each declared request header as one line: several lines of a field mean their values
    joined by commas (RFC 9110 §5.3), and the resolver reads a header parameter from one line."""
    multi = event.get("multiValueHeaders") or {}
    combined, headers = dict(multi), dict(event.get("headers") or {})
    for name in REQUEST_HEADERS:
        spellings = [key for key in multi if key.lower() == name.lower()]
        lines = [str(line) for key in spellings for line in multi[key] or ()]
        if len(lines) < 2:
            continue
        for key in spellings:
            del combined[key]
        for key in [key for key in headers if key.lower() == name.lower()]:
            del headers[key]
        combined[name] = [", ".join(lines)]
        headers[name] = combined[name][0]
    return event if combined == multi else {**event, "headers": headers, "multiValueHeaders": combined}


def guard(
    event: dict[str, Any], known_query: tuple[str, ...] = (), max_body_bytes: int = MAX_BODY_BYTES
) -> dict[str, Any]:
    """Reject what no route should parse: query parameters on writes, oversized, non-JSON or
    malformed bodies.

    Returns the event to resolve: a declared header sent on several lines as one line, its body
    as UTF-8 text and its content type normalised to ``application/json`` (merge patches
    included) for the resolver's validation."""
    # Methods are matched as API Gateway and Powertools match them: whatever case an event carries.
    event = {**event, "httpMethod": str(event.get("httpMethod") or "").upper()}
    event = _combine_lines(_check_query(event, known_query))
    raw = _body_bytes(event)
    if len(raw) > max_body_bytes:
        raise PayloadTooLarge(f"The request body is {len(raw)} bytes; the limit is {max_body_bytes} bytes.")
    _check_content_encoding(event, raw)
    if event.get("httpMethod") in {"GET", "HEAD"}:
        _check_if_none_match(event)
    if event.get("httpMethod") not in {"POST", "PUT", "PATCH"}:
        return event
    content_type = (_header(event, "content-type") or JSON).split(";")[0].strip().lower()
    accepted = body_media_types(str(event.get("httpMethod")))
    if content_type not in accepted:
        raise UnsupportedMediaType(
            f"Content-Type {content_type} is not accepted here; send {' or '.join(sorted(accepted))}."
        )
    try:
        text = raw.decode("utf-8")
        json.loads(text)
    except UnicodeDecodeError:
        raise MalformedJson("The request body is not UTF-8 text.") from None
    except (ValueError, RecursionError):
        raise MalformedJson("The request body is not valid JSON.") from None
    headers = {k: v for k, v in (event.get("headers") or {}).items() if k.lower() != "content-type"}
    headers["Content-Type"] = JSON
    multi = {k: v for k, v in (event.get("multiValueHeaders") or {}).items() if k.lower() != "content-type"}
    multi["Content-Type"] = [JSON]
    return {**event, "body": text, "isBase64Encoded": False, "headers": headers, "multiValueHeaders": multi}
