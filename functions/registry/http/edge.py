"""HTTP at the edge of a route function, around the resolver: the request as the route sees it
(``HEAD`` served as ``GET``; the path rebuilt from the API's resource, so a custom domain's base
path changes nothing; path ids in one spelling) and the answer as HTTP wants it (``304`` for a
matching ``If-None-Match``, no body on ``HEAD``, the CORS headers for an allowed origin)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from registry.http import cors
from registry.http.routes import Route
from registry.settings import get_edge_settings

_ENTITY_TAG = re.compile(r'\s*(W/)?("[\x21\x23-\x7e\x80-\xff]*")\s*')
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# What a path segment may hold unencoded (RFC 3986 §3.3), "%" kept: encodings stay encoded.
_SEGMENT_SAFE = "-._~!$&'()*+,;=:@%"
# The fields a 304 keeps from the 200 it stands for (RFC 9110 §15.4.5).
_NOT_MODIFIED_KEEPS = frozenset({"etag", "cache-control", "vary", "content-location", "expires", "date"})


def request(event: dict[str, Any], route: Route) -> dict[str, Any]:
    """The event the route's resolver reads: ``HEAD`` asks what ``GET`` answers, and ``path`` is
    the route's own path with the event's path parameters in canonical spelling."""
    method = str(event.get("httpMethod") or "").upper()
    if method == "HEAD" and route.method == "GET":
        event = {**event, "httpMethod": "GET"}
    return {**event, "path": route_path(event, route)}


def route_path(event: dict[str, Any], route: Route) -> str:
    """The path the route matches on. API Gateway's ``path`` is what the client sent, base path
    mapping included (``/registry/devices/…`` behind a custom domain); ``resource`` and
    ``pathParameters`` are the API's own. Ids equal up to percent-encoding of unreserved
    characters are the same id (RFC 3986 §6.2.2): ``%2D`` is ``-``."""
    parameters = event.get("pathParameters") or {}
    if event.get("resource") != route.path or not all(parameters.get(name) for name in route.path_parameters):
        return str(event.get("path") or "")
    path = route.path
    for name in route.path_parameters:
        path = path.replace("{" + name + "}", _path_segment(str(parameters[name])))
    return path


def _path_segment(value: str) -> str:
    """An id in its canonical spelling; a number (all digits once decoded) as sent: its one
    spelling is its digits (registry/http/params.py ``CanonicalInt`` refuses ``%31`` for ``1``), as
    each spelling is a cache entry of its own."""
    canonical = canonical_segment(value)
    return value if canonical.isascii() and canonical.isdigit() and canonical != value else canonical


def canonical_segment(value: str) -> str:
    """Percent-encoded unreserved characters decoded, other encodings in upper-case hex, and
    anything a segment cannot hold (a ``/`` API Gateway decoded, say) encoded."""

    def decode(match: re.Match[str]) -> str:
        character = chr(int(match.group(1), 16))
        return character if character in _UNRESERVED else match.group(0).upper()

    return quote(_PERCENT.sub(decode, value), safe=_SEGMENT_SAFE)


def response(event: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    """The route's answer to ``event`` (the request as the client sent it) as it goes out."""
    method = str(event.get("httpMethod") or "").upper()
    if method in {"GET", "HEAD"} and _not_modified(event, answer):
        answer = _as_not_modified(answer)
    if method == "HEAD":
        answer = {**answer, "body": "", "isBase64Encoded": False}
    origins = get_edge_settings().cors_origins
    return with_headers(answer, cors.answer_headers(cors.request_origin(event.get("headers")), origins))


def _not_modified(event: dict[str, Any], answer: dict[str, Any]) -> bool:
    """A 200 whose ``ETag`` the request's ``If-None-Match`` names (weak comparison, RFC 9110 §13.1.2).
    A malformed ``If-None-Match`` names nothing: the full answer goes out."""
    current = header_lines(answer, "etag")
    condition = ", ".join(header_lines(event, "if-none-match"))
    if int(answer.get("statusCode") or 0) != 200 or not current or not condition:
        return False
    if condition.strip() == "*":
        return True
    tags = [_ENTITY_TAG.fullmatch(part) for part in condition.split(",")]
    if not all(tags):
        return False
    ours = _ENTITY_TAG.fullmatch(current[-1])
    return ours is not None and any(tag.group(2) == ours.group(2) for tag in tags if tag)


def _as_not_modified(answer: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, list[str]] = {}
    for name, values in _header_map(answer).items():
        if name.lower() in _NOT_MODIFIED_KEEPS:
            kept[name] = values
    return {"statusCode": 304, "multiValueHeaders": kept, "body": "", "isBase64Encoded": False}


def _header_map(message: dict[str, Any]) -> dict[str, list[str]]:
    """Both of a proxy message's header maps as one; ``multiValueHeaders`` wins a name in both."""
    merged = {name: [str(value)] for name, value in (message.get("headers") or {}).items()}
    for name, values in (message.get("multiValueHeaders") or {}).items():
        merged = {key: value for key, value in merged.items() if key.lower() != name.lower()}
        merged[name] = [str(value) for value in values or ()]
    return merged


def header_lines(message: dict[str, Any], name: str) -> list[str]:
    """Every line of a header field of a proxy event or answer, whatever the spelling of its name."""
    return [value for key, values in _header_map(message).items() if key.lower() == name for value in values]


def with_headers(answer: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    """``answer`` with these header fields (replacing any of the same name; ``Vary`` is added to)."""
    if not headers:
        return answer
    merged = _header_map(answer)
    for name, value in headers.items():
        existing = [v for key, values in merged.items() if key.lower() == name.lower() for v in values]
        merged = {key: values for key, values in merged.items() if key.lower() != name.lower()}
        if name.lower() == "vary" and existing:
            value = ", ".join(dict.fromkeys([*", ".join(existing).split(", "), value]))
        merged[name] = [value]
    single = {name: values[-1] for name, values in merged.items() if len(values) == 1}
    multi = {name: values for name, values in merged.items() if len(values) > 1}
    return {
        **{k: v for k, v in answer.items() if k not in {"headers", "multiValueHeaders"}},
        "headers": single,
        **({"multiValueHeaders": multi} if multi else {}),
    }
