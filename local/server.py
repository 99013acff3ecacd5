"""``make run``: the API at http://127.0.0.1:3000 on an embedded DynamoDB.

Each HTTP request becomes an API Gateway REST proxy event for the route the route table
matches, and is handed to that route's own Lambda handler: the code that runs in AWS.

As in Lambda, an execution environment (here a worker process) handles one request at a time:
the handlers rely on it (Powertools' resolver keeps the current event in a class attribute, so
two requests in one process at once could be answered with each other's events)."""

from __future__ import annotations

import base64
import importlib
import logging
import multiprocessing
import os
import signal
import socket
import socketserver
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import h11

from local.authorizer import authorize, local_scopes
from local.console import console_answer
from local.proxy_events import LambdaContext, match, proxy_event
from registry import metrics
from registry.domain.errors import MethodNotAllowed, PayloadTooLarge, RegistryError, RouteNotFound
from registry.http import cors
from registry.http.edge import with_headers
from registry.http.routes import ROUTES, Route
from registry.settings import get_edge_settings

TABLE_NAME = "device-registry-local"
IDEMPOTENCY_TABLE_NAME = "device-registry-idempotency-local"
# API Gateway refuses payloads over 10 MB; the handlers answer 413 above their route's limit
# (registry/http/routes.py: 64 KiB, 1 MiB for a batch).
MAX_READ_BYTES = 10 * 1024 * 1024
# The request target and each header line, as http.server had it (longer: 414 and 431).
MAX_LINE_BYTES = 64 * 1024
MAX_HEAD_BYTES = 2 * MAX_LINE_BYTES
RECEIVE_BYTES = 64 * 1024
# Connections waiting to be accepted: a burst of dozens of clients must not be reset.
LISTEN_BACKLOG = 128
# Seconds a request has to arrive in full once it began (LOCAL_REQUEST_TIMEOUT), and an idle
# kept-alive connection is kept open.
REQUEST_TIMEOUT = 30.0
IDLE_TIMEOUT = 60.0
# Concurrent requests run in this many worker processes ("execution environments").
EXECUTION_ENVIRONMENTS = 4
# Where a browser opening the local server lands: the API has no root resource, the docs route
# is /swagger (registry/http/routes.py), and /swagger/ is how many type it.
DOCS_PATH = "/swagger"
BROWSER_REDIRECTS = {"/": DOCS_PATH, "/swagger/": DOCS_PATH}
logger = logging.getLogger("local")


def configure_environment(endpoint: str | None) -> None:
    """The variables the handlers would get from Lambda (dummy credentials: no AWS account)."""
    defaults = {
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
        "TABLE_NAME": TABLE_NAME,
        "IDEMPOTENCY_TABLE_NAME": IDEMPOTENCY_TABLE_NAME,
        "ANONYMOUS_PRINCIPAL": "local",
        # Retention: 0 keeps status history forever, as the stages do by default.
        "STATUS_HISTORY_DAYS": "0",
        # Fleet jobs: devices a chunk, and at most how many a second a job changes (0: no limit).
        "JOB_CHUNK_SIZE": "25",
        "JOB_RATE_PER_S": "0",
        "POWERTOOLS_SERVICE_NAME": "device-registry",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        # Metrics are CloudWatch log lines; a terminal has no use for them.
        "POWERTOOLS_METRICS_NAMESPACE": metrics.NAMESPACE,
        "POWERTOOLS_METRICS_DISABLED": "true",
        # Liveness (docs/decisions.md): a minute's resolution, reports as often as every second.
        "LIVENESS_RESOLUTION_S": "60",
        "MIN_REPORT_INTERVAL_S": "1",
        "MISSED_REPORTS": "3",
    }
    for name, value in defaults.items():
        os.environ.setdefault(name, value)
    if endpoint:
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint


def _answer(error: RegistryError) -> dict[str, Any]:
    """A domain error as the handlers and API Gateway answer it (same problem type)."""
    from registry.http.problems import error_proxy_response

    return error_proxy_response(error)


def _problem(status: int, detail: str) -> dict[str, Any]:
    """The server's own refusal (what API Gateway's front end answers in AWS) as a problem document."""
    from registry.http.problems import problem_body, problem_headers

    title = HTTPStatus(status).phrase
    body = problem_body(status, _slug(title), title, detail)
    return {"statusCode": status, "headers": problem_headers(), "body": body}


def _redirect(location: str) -> dict[str, Any]:
    """A browser at the server's root (or at ``/swagger/``) is sent to the documentation."""
    return {"statusCode": 302, "headers": {"Location": location, "Cache-Control": "no-store"}, "body": ""}


def _slug(title: str) -> str:
    return title.lower().replace(" ", "-")


@dataclass(frozen=True)
class Request:
    """One HTTP request as read off the connection: every header line in order, as sent."""

    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes | None

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> str:
        return urlsplit(self.target).query

    def header(self, name: str) -> str | None:
        lines = [value for key, value in self.headers if key.lower() == name.lower()]
        return ", ".join(lines) if lines else None


class _Refused(Exception):
    """A request the server answers itself, then closes the connection: its framing cannot be trusted."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        # The API's own problem type where it has one (413 payload-too-large), else the status's.
        self.response = (
            _answer(PayloadTooLarge(detail)) if status == PayloadTooLarge.status else _problem(status, detail)
        )


class _Connection(socketserver.BaseRequestHandler):
    """One client connection: requests read and answers written by h11 (RFC 9112 framing), each
    request handed to :meth:`_Server.dispatch`. A connection whose next request cannot be framed
    with certainty is answered and closed, never read on."""

    server: _Server
    request: socket.socket

    def handle(self) -> None:
        # Headers and body go out in one write; with Nagle's algorithm on, an answer could wait
        # for the client's delayed ACK (~40 ms).
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
        while True:
            try:
                request = self._receive(connection)
            except _Refused as refused:
                self._send(connection, refused.response, None, close=True)
                return
            except OSError:  # reset by the client, or our timeout while idle
                return
            if request is None:
                return
            began = time.monotonic()
            response = self.server.dispatch(request)
            # One access line per request, as a terminal user reads them.
            elapsed_ms = (time.monotonic() - began) * 1000
            logger.info("%s %s %s %.0f ms", request.method, request.path, response.get("statusCode"), elapsed_ms)
            # A body left unread (413) would be read as the next request: close instead.
            close = connection.their_state is not h11.DONE
            self._send(connection, response, request.method, close=close)
            if connection.our_state is not h11.DONE or connection.their_state is not h11.DONE:
                return
            connection.start_next_cycle()

    def _receive(self, connection: h11.Connection) -> Request | None:
        """The next request in full, or None when the client closed (or stayed idle) between requests."""
        head = bytearray()  # what arrived before the request line and headers were complete
        started: float | None = None
        request: h11.Request | None = None
        body = bytearray()
        while True:
            try:
                event = connection.next_event()
            except h11.RemoteProtocolError as error:
                raise _Refused(*_framing_problem(error, bytes(head))) from None
            if event is h11.NEED_DATA:
                data = self._read(started)
                if started is None and not data:
                    return None
                started = started or time.monotonic()
                if request is None:
                    head += data[: MAX_HEAD_BYTES + 1 - len(head)]
                connection.receive_data(data)
            elif isinstance(event, h11.Request):
                request = event
                self._check_head(connection, request)
            elif isinstance(event, h11.Data):
                body += event.data
                if len(body) > MAX_READ_BYTES:
                    raise _Refused(413, f"The request body is over {MAX_READ_BYTES} bytes; the limit is 65536 bytes.")
            elif isinstance(event, h11.EndOfMessage) and request is not None:
                return Request(
                    method=request.method.decode("ascii"),
                    target=request.target.decode("iso-8859-1"),
                    headers=_lines(request),
                    body=bytes(body) if body else None,
                )
            else:  # ConnectionClosed before a request began
                return None

    def _read(self, started: float | None) -> bytes:
        """Bytes from the client. A request must arrive in full within REQUEST_TIMEOUT of its
        first byte (slow or stalled clients get 408); an idle connection is closed after IDLE_TIMEOUT."""
        if started is None:
            self.request.settimeout(IDLE_TIMEOUT)
            return self.request.recv(RECEIVE_BYTES)
        remaining = started + self.server.request_timeout - time.monotonic()
        try:
            if remaining <= 0:
                raise TimeoutError
            self.request.settimeout(remaining)
            return self.request.recv(RECEIVE_BYTES)
        except TimeoutError:
            timeout = self.server.request_timeout
            raise _Refused(408, f"The request did not arrive in full within {timeout:g} seconds.") from None

    def _check_head(self, connection: h11.Connection, request: h11.Request) -> None:
        if len(request.target) > MAX_LINE_BYTES:
            raise _Refused(414, f"The request target is {len(request.target)} bytes; the limit is {MAX_LINE_BYTES}.")
        for name, value in request.headers:
            if len(name) + len(value) > MAX_LINE_BYTES:
                raise _Refused(431, f"The {name.decode()} header is over {MAX_LINE_BYTES} bytes.")
        names = {name for name, _ in request.headers}
        if b"transfer-encoding" in names and b"content-length" in names:
            # RFC 9112 §6.3: a request smuggling pattern; which framing the sender meant is unknowable.
            raise _Refused(400, "The request has both Transfer-Encoding and Content-Length; send one.")
        length = next((int(value) for name, value in request.headers if name == b"content-length"), 0)
        if length > MAX_READ_BYTES:
            raise _Refused(413, f"The request body is {length} bytes; the limit is 65536 bytes.")
        if connection.they_are_waiting_for_100_continue:
            self.request.sendall(connection.send(h11.InformationalResponse(status_code=100, headers=[])) or b"")

    def _send(self, connection: h11.Connection, response: dict[str, Any], method: str | None, *, close: bool) -> None:
        status = int(response.get("statusCode", 500))
        body = response.get("body") or ""
        payload = base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()
        fields: dict[str, list[str]] = {k: [str(v)] for k, v in (response.get("headers") or {}).items()}
        for name, values in (response.get("multiValueHeaders") or {}).items():
            fields[name] = [str(value) for value in values]
        headers = [
            (name, value)
            for name, values in fields.items()
            if name.lower() not in {"content-length", "connection", "transfer-encoding"}
            for value in values
        ]
        bodiless = method == "HEAD" or status in (204, 304)
        if not bodiless:
            headers.append(("Content-Length", str(len(payload))))
        if close:
            headers.append(("Connection", "close"))
        try:
            data = connection.send(h11.Response(status_code=status, headers=headers, reason=_reason(status)))
            if payload and not bodiless:
                data = (data or b"") + (connection.send(h11.Data(data=payload)) or b"")
            data = (data or b"") + (connection.send(h11.EndOfMessage()) or b"")
            self.request.sendall(data)
        except (h11.LocalProtocolError, OSError):
            logger.exception("answer not sent")
            connection.send_failed()


def _route_method(method: str) -> str:
    """``HEAD`` is answered by the ``GET`` route's function (RFC 9110 §9.3.2), as in AWS."""
    return "GET" if method == "HEAD" else method


def _reason(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b""


def _lines(request: h11.Request) -> list[tuple[str, str]]:
    """Every header line in order, names as the client spelled them."""
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers.raw_items()]


def _framing_problem(error: h11.RemoteProtocolError, head: bytes) -> tuple[int, str]:
    """h11's refusal as the status and detail a client is answered with."""
    if error.error_status_hint == 431 and b"\n" not in head:
        return 414, f"The request line is over {MAX_LINE_BYTES} bytes."
    if error.error_status_hint == 431:
        return 431, f"The request's header section is over {MAX_HEAD_BYTES} bytes."
    if error.error_status_hint == 501:
        return 501, "Only Transfer-Encoding: chunked is supported for a request body (or send Content-Length)."
    return 400, f"The request is not valid HTTP/1.1: {error}."


def _start_environment() -> None:
    # Ctrl-C reaches the whole process group: the server stops its environments itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for route in ROUTES:  # warm, so that no request pays the cold import
        importlib.import_module(f"handlers.{route.handler}")


def _environment_context() -> multiprocessing.context.BaseContext:
    """Where the execution environments come from: a fork server that imported every route's
    handler once, so that each environment starts as warm as the fork server is, without importing
    them itself (each of four spawned interpreters importing every handler cost some 5 s of CPU at
    every start of a local server, and the tests start dozens). A fork server, not a fork of this
    process: the server's threads (the embedded DynamoDB, the pollers) and sockets stay here.
    It starts with the first environment, once ``configure_environment`` has set what they read."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([f"handlers.{route.handler}" for route in ROUTES])
    return context


def _started() -> None:
    """A task that returns once its environment is warm."""


def _run_handler(handler: str, event: dict[str, Any]) -> dict[str, Any]:
    module = importlib.import_module(f"handlers.{handler}")
    return dict(module.lambda_handler(event, LambdaContext()))


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    # http.server's default backlog of 5 reset connections under a burst of a few dozen clients.
    request_queue_size = LISTEN_BACKLOG

    def __init__(
        self, address: tuple[str, int], request_timeout: float = REQUEST_TIMEOUT, scopes: frozenset[str] | None = None
    ) -> None:
        self.request_timeout = request_timeout
        self.scopes = scopes  # what every operator call's token carries (LOCAL_SCOPES); None: all
        self.environments = ProcessPoolExecutor(
            EXECUTION_ENVIRONMENTS, mp_context=_environment_context(), initializer=_start_environment
        )
        # Listen only once every environment is warm: a client never waits for a cold start.
        for started in [self.environments.submit(_started) for _ in range(EXECUTION_ENVIRONMENTS)]:
            started.result()
        super().__init__(address, _Connection)

    def dispatch(self, request: Request) -> dict[str, Any]:
        """The answer to one request: what API Gateway answers itself (no route, wrong method,
        a CORS preflight), else the route's function invoked with the proxy event API Gateway
        would send it. As in AWS, the function adds the CORS headers to its own answers.
        The operator console's files (/console/) are answered before any route."""
        console = console_answer(request.method, request.path, self.scopes)
        if console is not None:
            return console
        if request.method in {"GET", "HEAD"} and request.path in BROWSER_REDIRECTS:
            return _redirect(BROWSER_REDIRECTS[request.path])
        matches, allowed = match(request.path)
        origin = request.header("Origin")
        origins = get_edge_settings().cors_origins
        chosen = [(route, params) for route, params in matches if route.method == _route_method(request.method)]
        if chosen:
            route, params = chosen[0]
            # As API Gateway: the route's authorizer first (local/authorizer.py); its 401 is a
            # gateway answer, CORS headers included.
            authorizer, refused = authorize(route, request.path, request.headers, self.environments.submit, self.scopes)
            if refused is not None:
                return with_headers(refused, cors.answer_headers(origin, origins))
            event = proxy_event(
                route,
                path=request.path,
                path_parameters=params,
                query=request.query,
                headers=request.headers,
                body=request.body,
                method=request.method,
                authorizer=authorizer,
            )
            return self.invoke(route, event)
        if not matches:
            response = _answer(RouteNotFound(f"No route {request.method} {request.path}."))
        elif request.method == "OPTIONS" and origins:
            response = {"statusCode": 204, "headers": cors.preflight_headers(origin, origins, allowed), "body": ""}
        else:
            response = _answer(
                MethodNotAllowed(f"{request.method} is not allowed on {request.path}; use {', '.join(allowed)}.")
            )
            response["headers"]["Allow"] = ", ".join(allowed)
        return with_headers(response, cors.answer_headers(origin, origins))

    def invoke(self, route: Route, event: dict[str, Any]) -> dict[str, Any]:
        """Run the route's function in an execution environment."""
        try:
            return self.environments.submit(_run_handler, route.handler, event).result()
        except Exception:
            # What API Gateway answers when the function itself fails.
            logger.exception("handler %s failed", route.handler)
            return _problem(502, "The function failed to answer; see the local server's log.")

    def server_close(self) -> None:
        super().server_close()
        self.environments.shutdown(cancel_futures=True)


class LocalApi:
    """The local API and, unless ``dynamodb_endpoint`` names another, its embedded DynamoDB."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 3000,
        dynamodb_endpoint: str | None = None,
        dynamodb_port: int = 0,
        data_dir: Path | None = None,
    ) -> None:
        scopes = local_scopes(os.environ.get("LOCAL_SCOPES"))  # refused before anything starts
        # Imported here: the execution environments import this module, and need no moto.
        from local.dynamodb import EmbeddedDynamoDB, create_tables, migrate

        embedded = None if dynamodb_endpoint else EmbeddedDynamoDB(port=dynamodb_port, data_dir=data_dir)
        self.dynamodb = embedded.start() if embedded else None
        endpoint = dynamodb_endpoint or (self.dynamodb.endpoint if self.dynamodb else None)
        configure_environment(endpoint)
        create_tables(endpoint, os.environ["TABLE_NAME"], os.environ["IDEMPOTENCY_TABLE_NAME"])
        migrate(endpoint, os.environ["TABLE_NAME"])
        # Change events (docs/events.md): the publisher on the table's stream, events to a file.
        from local.persistence import STREAM_POSITION
        from local.stream import StreamPublisher

        self.stream = StreamPublisher(
            endpoint,
            os.environ["TABLE_NAME"],
            os.environ.get("LOCAL_EVENTS_FILE"),
            data_dir / STREAM_POSITION if data_dir and embedded else None,
            self.dynamodb.table_activity if self.dynamodb else None,
        ).start()
        # Fleet jobs (docs/jobs.md): their queue on the embedded moto server (another one when the
        # table is elsewhere), set before the execution environments start so that they get its URL.
        from local.dynamodb import EmbeddedDynamoDB as QueueServer
        from local.jobs import LocalJobs, create_queue

        queues = self.dynamodb or QueueServer().start()
        self.queue_server = None if queues is self.dynamodb else queues
        os.environ["AWS_ENDPOINT_URL_SQS"] = queues.endpoint
        os.environ["JOB_QUEUE_URL"] = create_queue(queues.endpoint)
        self.jobs = LocalJobs(queues.endpoint, os.environ["JOB_QUEUE_URL"], queues.queue_activity).start()
        # Liveness: the sweep function on a timer, as its schedule runs it in AWS.
        from local.liveness import LivenessTimer, sweep_seconds

        self.liveness = LivenessTimer(sweep_seconds()).start()
        self.http = _Server(
            (host, port),
            float(os.environ.get("LOCAL_REQUEST_TIMEOUT") or REQUEST_TIMEOUT),
            scopes,
        )

    @property
    def url(self) -> str:
        host, port = self.http.server_address[:2]
        return f"http://{host!s}:{port}"


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main() -> int:
    # Ctrl-C and `kill` both stop the server cleanly (even when started in the background).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "3000"))
    external = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB")
    # `make run` fixes the embedded DynamoDB's port (3001) so that `make migrate` finds it, and
    # keeps its data in LOCAL_DATA_DIR (unset: in memory, gone at exit).
    data_dir = Path(os.environ["LOCAL_DATA_DIR"]) if os.environ.get("LOCAL_DATA_DIR") else None
    try:
        api = LocalApi(host, port, external, dynamodb_port=int(os.environ.get("DYNAMODB_PORT", "0")), data_dir=data_dir)
    except (RuntimeError, ValueError) as error:  # data directory in use or damaged, bad LOCAL_SCOPES: the reason
        print(f"The local server did not start: {error}", file=sys.stderr)
        return 1
    where = external or f"embedded DynamoDB at {api.dynamodb.endpoint if api.dynamodb else '?'}"
    if api.dynamodb and data_dir:
        where += f", data in {data_dir}/ ({api.dynamodb.replayed:,} writes replayed)"
    print(f"Device Registry API on {api.url} ({where}); Swagger UI at {api.url}/swagger. Ctrl-C stops.")
    scopes = api.http.scopes
    acting = f"; every call acts with the scopes {' '.join(sorted(scopes))} (LOCAL_SCOPES)" if scopes else ""
    print(f"Operator console at {api.url}/console/ (no sign-in locally{acting}).")
    try:
        api.http.serve_forever()
    except KeyboardInterrupt:
        print("\nStopping.", file=sys.stderr)
    finally:
        api.http.server_close()
        api.jobs.stop()
        api.stream.stop()
        api.liveness.stop()
        if api.dynamodb:
            api.dynamodb.stop()
    return 0


if __name__ == "__main__":
    code = main()
    # Everything is stopped and the journal closed: skip the interpreter's teardown, which after a
    # long session spent seconds freeing the embedded DynamoDB's data.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
