"""CORS (Fetch standard): which browser origins may call the API, and the headers that say so.
One list of origins (the deployment setting ``cors_origins``, ``CORS_ORIGINS`` for the functions
and the local server) and these constants feed the functions' answers, the local server's own
answers, API Gateway's preflight mocks and its gateway responses."""

from __future__ import annotations

from collections.abc import Mapping

from registry.settings import parse_origins as parse_origins  # the setting's parser, re-exported

# What a browser app may send and read beyond the CORS-safelisted headers.
ALLOWED_HEADERS = ("Authorization", "Content-Type", "If-Match", "If-None-Match", "Idempotency-Key")
EXPOSED_HEADERS = ("ETag", "Location", "Retry-After", "Idempotent-Replayed")
# Seconds a browser may reuse a preflight answer (browsers cap it: Chromium at 2 hours).
MAX_AGE = 3600
ALLOW_ORIGIN = "Access-Control-Allow-Origin"


def answer_headers(origin: str | None, allowed: tuple[str, ...]) -> dict[str, str]:
    """What every answer carries: for an allowed origin, that origin and the headers it may read;
    ``Vary: Origin`` wherever CORS is on (the answer depends on the origin); nothing else."""
    if not allowed:
        return {}
    if origin not in allowed:
        return {"Vary": "Origin"}
    return {ALLOW_ORIGIN: origin, "Access-Control-Expose-Headers": ", ".join(EXPOSED_HEADERS), "Vary": "Origin"}


def preflight_headers(origin: str | None, allowed: tuple[str, ...], methods: list[str]) -> dict[str, str]:
    """A preflight (``OPTIONS``) answer's headers: 204 either way; CORS headers only for an allowed origin."""
    headers = answer_headers(origin, allowed)
    if ALLOW_ORIGIN in headers:
        headers.update(
            {
                "Access-Control-Allow-Methods": ", ".join(methods),
                "Access-Control-Allow-Headers": ", ".join(ALLOWED_HEADERS),
                "Access-Control-Max-Age": str(MAX_AGE),
            }
        )
    return headers


def request_origin(headers: Mapping[str, str] | None) -> str | None:
    for name, value in (headers or {}).items():
        if name.lower() == "origin":
            return value
    return None
