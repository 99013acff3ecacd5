"""GET /console/… — the operator console's built files (``make console`` builds them into
console/dist), with the right content types, and ``index.html`` for any path that names no file
(a client-side route). ``config.json`` is not a file: it says how the console signs in, from this
function's environment (in AWS, the Cognito hosted UI and the console's app client; locally, no
sign-in at all, as the local API has none).

In AWS the API's ``/console`` and ``/console/{proxy+}`` methods invoke this function, the files
in a layer of their own (``/opt``); locally the server (local/console.py) calls :func:`answer`
itself. Standard library only: no layer of dependencies, and a cold start of a few milliseconds."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

# Where the built files are: the layer's root in AWS, console/dist locally.
ROOT_VARIABLE = "CONSOLE_ROOT"
LAYER_ROOT = Path("/opt")
CONFIG_FILE = "config.json"
INDEX = "index.html"
# The sign-in settings (infra/console.py sets them); without a client id the console signs no one in.
SIGN_IN_VARIABLES = {
    "authorize_url": "CONSOLE_AUTHORIZE_URL",
    "token_url": "CONSOLE_TOKEN_URL",
    "logout_url": "CONSOLE_LOGOUT_URL",
    "client_id": "CONSOLE_CLIENT_ID",
}
SCOPES_VARIABLE = "CONSOLE_SCOPES"  # space-separated
WRITE_SCOPE_VARIABLE = "CONSOLE_WRITE_SCOPE"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
}
# Vite names every asset by its content's hash: a browser may keep one for good. The page itself
# and its config are checked on every load, so a new build is seen at once.
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "frame-ancestors 'none'; object-src 'none'; base-uri 'self'",
}
PROBLEM_TYPE = "tag:device-registry,2026:problem:not-found"  # as registry/problems.py names it


def site_root() -> Path:
    return Path(os.environ.get(ROOT_VARIABLE) or LAYER_ROOT)


def site_config() -> dict[str, Any]:
    """``config.json``: the API's base relative to the console (it is served beside the API), the
    scope a write needs, and how to sign in, or ``null``."""
    auth: dict[str, Any] | None = None
    if os.environ.get(SIGN_IN_VARIABLES["client_id"]):
        auth = {key: os.environ.get(variable, "") for key, variable in SIGN_IN_VARIABLES.items()}
        auth["scopes"] = os.environ.get(SCOPES_VARIABLE, "").split()
    return {"api": "../", "auth": auth, "write_scope": os.environ.get(WRITE_SCOPE_VARIABLE, "")}


def answer(relative: str, root: Path, config: dict[str, Any] | None = None) -> dict[str, Any]:
    """The proxy response for the file at ``relative`` (``""`` is the console's own page);
    ``config``: what ``config.json`` says, when not :func:`site_config` (the local server's)."""
    if relative == CONFIG_FILE:
        body = json.dumps(config if config is not None else site_config()).encode()
        return _response(200, body, CONTENT_TYPES[".json"], REVALIDATE)
    path = _within(root, relative or INDEX)
    if path is None or not path.is_file():
        if path is not None and not path.suffix:  # a client-side route: the page is the app
            path = root / INDEX
        if path is None or not path.is_file():
            return _not_found(relative, root)
    cache = IMMUTABLE if relative.startswith("assets/") else REVALIDATE
    content_type = CONTENT_TYPES.get(path.suffix, "application/octet-stream")
    return _response(200, path.read_bytes(), content_type, cache)


def _within(root: Path, relative: str) -> Path | None:
    """``root/relative``, or None when it would leave ``root`` (``..``, an absolute path)."""
    resolved_root = root.resolve()
    candidate = (resolved_root / relative).resolve()
    return candidate if candidate.is_relative_to(resolved_root) else None


def _not_found(relative: str, root: Path) -> dict[str, Any]:
    built = (root / INDEX).is_file()
    detail = (
        f"The console has no file {relative!r}."
        if built
        else "The console is not built: run `make console` (it builds console/dist)."
    )
    body = {"type": PROBLEM_TYPE, "title": "Not Found", "status": 404, "detail": detail}
    return _response(404, json.dumps(body).encode(), "application/problem+json", "no-store")


def _response(status: int, payload: bytes, content_type: str, cache: str) -> dict[str, Any]:
    headers = {"Content-Type": content_type, "Cache-Control": cache, **SECURITY_HEADERS}
    # The build holds text only (no images or fonts: the API declares no binary media types).
    if content_type.startswith(("text/", "application/json", "image/svg", "application/problem")):
        return {"statusCode": status, "headers": headers, "body": payload.decode("utf-8")}
    body = base64.b64encode(payload).decode()
    return {"statusCode": status, "headers": headers, "body": body, "isBase64Encoded": True}


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    proxy = (event.get("pathParameters") or {}).get("proxy") or ""
    return answer(proxy, site_root())
