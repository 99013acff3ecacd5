"""Swagger UI at /swagger in headless Chromium (Debian's package; `make chromium` installs it): every
operation of the OpenAPI document the server serves is rendered, and nothing is fetched from outside
the machine.

No driver library: Chromium itself dumps the rendered DOM (``--dump-dom``, after the page's timers have
run in virtual time, so a slow machine only makes it slower, not different) and writes a NetLog of every
request and connection it made. Nothing can leave the machine during the run: no host name resolves
(``--host-resolver-rules``) and every request not to the loopback address goes to a proxy port that
refuses connections. The NetLog then proves it: each request the page made (the navigation, and
everything with the page as initiator) is to the local server, and every TCP connection the browser
opened, its own background requests included, was to the loopback address."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import signal
import socket
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import requests

CHROMIUM = Path("/usr/bin/chromium")
MAKE_TARGET = "make chromium"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
# Wall-clock bound for one headless run (about 2 s here); generous for a loaded 2-core machine.
RUN_TIMEOUT = 120
# Virtual milliseconds the page's timers get after load; virtual time costs no wall-clock time.
VIRTUAL_TIME_BUDGET = 5000
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


def test_swagger_ui_renders_every_operation_with_nothing_fetched_from_outside(
    local_server: str, tmp_path: Path
) -> None:
    assert CHROMIUM.is_file(), f"{CHROMIUM} not found: run `{MAKE_TARGET}` (installs Debian's chromium package)"
    document = requests.get(f"{local_server}/swagger", params={"format": "json"}, timeout=30).json()
    expected = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item if method in HTTP_METHODS
    }
    assert expected, "the served OpenAPI document has no operations"

    page_url = f"{local_server}/swagger"
    dom, netlog = _render(page_url, tmp_path)

    requested = _page_requests(netlog)
    assert page_url in requested, f"the NetLog does not show the page's own request: {requested}"
    outside = [url for url in requested if not url.startswith(f"{local_server}/")]
    assert not outside, f"the page requested URLs outside the local server {local_server}: {outside}"
    remote = [address for address in _tcp_connections(netlog) if not _is_loopback(address)]
    assert not remote, f"Chromium opened TCP connections off the machine: {remote}"

    page = _SwaggerPage()
    page.feed(dom)
    page.close()
    assert not page.errors, f"Swagger UI shows errors: {' '.join(page.errors)[:2000]}"
    rendered = set(page.operations)
    assert rendered == expected, (
        f"not rendered: {sorted(expected - rendered)}; rendered but not in the document: {sorted(rendered - expected)}"
    )


def _render(url: str, workdir: Path) -> tuple[str, dict[str, Any]]:
    """The DOM of ``url`` once Swagger UI has rendered, and the run's NetLog."""
    netlog = workdir / "netlog.json"
    with socket.socket() as dead_proxy:
        # Bound, never listening: a connection to it is refused at once, and no one else can take the port.
        dead_proxy.bind(("127.0.0.1", 0))
        proxy_port = dead_proxy.getsockname()[1]
        command = [
            str(CHROMIUM),
            *FLAGS,
            f"--proxy-server=http://127.0.0.1:{proxy_port}",  # loopback itself is never proxied
            f"--user-data-dir={workdir / 'profile'}",
            f"--log-net-log={netlog}",
            f"--virtual-time-budget={VIRTUAL_TIME_BUDGET}",
            "--dump-dom",
            url,
        ]
        process = subprocess.Popen(
            command,
            env=_real_clock(os.environ),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group: the renderer and helpers end with it
        )
        try:
            dom, errors = process.communicate(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            _, errors = process.communicate()
            raise AssertionError(f"Chromium did not finish within {RUN_TIMEOUT} s:\n{errors[-3000:]}") from None
        finally:
            _kill_group(process)
    assert process.returncode == 0, f"Chromium exited with {process.returncode}:\n{errors[-3000:]}"
    assert netlog.is_file(), f"Chromium wrote no NetLog:\n{errors[-3000:]}"
    return dom, _read_netlog(netlog)


def _real_clock(environment: os._Environ[str]) -> dict[str, str]:
    """The environment without libfaketime (`make test-future`, docs/reliability.md "Any date"):
    under it Chromium's network service crashes over and over and the run never ends. The page
    shows no date, so Chromium keeps the real clock; the server it renders stays on the faked one."""
    return {
        name: value for name, value in environment.items() if name != "LD_PRELOAD" and not name.startswith("FAKETIME")
    }


def _kill_group(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):  # the group is gone: everything in it has ended
        os.killpg(process.pid, signal.SIGKILL)


def _read_netlog(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        return dict(json.loads(text))
    except json.JSONDecodeError:
        # A log Chromium did not get to close ends inside the event list: close it here.
        return dict(json.loads(text.rstrip().rstrip(",") + "]}"))


def _events(netlog: dict[str, Any], name: str) -> list[dict[str, Any]]:
    number = netlog["constants"]["logEventTypes"][name]
    return [event.get("params") or {} for event in netlog["events"] if event["type"] == number]


def _page_requests(netlog: dict[str, Any]) -> list[str]:
    """Every URL the page asked for: frame navigations and whatever the page initiated (scripts, styles,
    images, fonts, fetches, redirects followed). Chromium's own background requests carry no initiator
    ("not an origin") and are left to the connection check."""
    return [
        params["url"]
        for params in _events(netlog, "URL_REQUEST_START_JOB")
        if "url" in params
        and (params.get("initiator") != "not an origin" or params.get("request_type") in {"main frame", "sub frame"})
    ]


def _tcp_connections(netlog: dict[str, Any]) -> list[str]:
    return [params["address"] for params in _events(netlog, "TCP_CONNECT_ATTEMPT") if "address" in params]


def _is_loopback(address: str) -> bool:
    host = address.rsplit(":", 1)[0].strip("[]")
    return ipaddress.ip_address(host).is_loopback


_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _SwaggerPage(HTMLParser):
    """The operations Swagger UI rendered (``.opblock``: its method and its path) and any error it shows."""

    def __init__(self) -> None:
        super().__init__()
        self.operations: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self._method: str | None = None
        self._path: str | None = None
        self._in_method = False
        self._errors_depth = 0  # > 0 inside the error section Swagger UI shows

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = set((attributes.get("class") or "").split())
        if "opblock" in classes:
            self._flush()
        if "opblock-summary-method" in classes:
            self._in_method = True
        if "opblock-summary-path" in classes:
            self._path = attributes.get("data-path")
        if self._errors_depth:
            self._errors_depth += tag not in _VOID
        elif "errors-wrapper" in classes:
            self._errors_depth = 1

    def handle_data(self, data: str) -> None:
        if self._in_method:
            self._method = (self._method or "") + data.strip()
        if self._errors_depth and data.strip():
            self.errors.append(data.strip())

    def handle_endtag(self, tag: str) -> None:
        if self._in_method and tag == "span":
            self._in_method = False
        if self._errors_depth:
            self._errors_depth -= 1

    def close(self) -> None:
        super().close()
        self._flush()

    def _flush(self) -> None:
        if self._method and self._path:
            self.operations.append((self._method.upper(), self._path))
        self._method = self._path = None
