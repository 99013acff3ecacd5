"""``/console/``: the operator console's built files (console/dist), answered by the same function
that serves them in AWS (handlers/console_site.py), with no sign-in (the local API has none). Its
``config.json`` names the scopes every call acts with under ``LOCAL_SCOPES``, so that the console
shows a read-only operator's pages as it would in AWS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from handlers import console_site
from registry.domain.errors import MethodNotAllowed
from registry.http.routes import WRITE

PREFIX = "/console"
DIST = Path(__file__).resolve().parent.parent / "console" / "dist"
METHODS = ("GET", "HEAD")


def local_config(scopes: frozenset[str] | None) -> dict[str, Any]:
    """``config.json`` locally: no sign-in; ``local_scopes`` what every call's token carries (null: all)."""
    granted = None if scopes is None else sorted(scopes)
    return {"api": "../", "auth": None, "write_scope": WRITE, "local_scopes": granted}


def console_answer(method: str, path: str, scopes: frozenset[str] | None = None) -> dict[str, Any] | None:
    """The answer to a request for the console, or None when ``path`` is not the console's;
    ``scopes``: the local server's ``LOCAL_SCOPES`` (None: every scope)."""
    if path != PREFIX and not path.startswith(PREFIX + "/"):
        return None
    if method not in METHODS:
        from registry.http.problems import error_proxy_response

        response = error_proxy_response(
            MethodNotAllowed(f"{method} is not allowed on {path}; use {', '.join(METHODS)}.")
        )
        response["headers"]["Allow"] = ", ".join(METHODS)
        return response
    if path == PREFIX:  # the page's relative asset URLs need the slash
        return {"statusCode": 301, "headers": {"Location": PREFIX + "/"}, "body": ""}
    return console_site.answer(path.removeprefix(PREFIX + "/"), DIST, local_config(scopes))
