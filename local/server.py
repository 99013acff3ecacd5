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
import sys
from concurrent.futures import ProcessPoolExecutor
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from local.events import LambdaContext, match, proxy_event
from registry import metrics
from registry.errors import MethodNotAllowed, PayloadTooLarge, RegistryError, RouteNotFound
from registry.routes import ROUTES

TABLE_NAME = "device-registry-local"
IDEMPOTENCY_TABLE_NAME = "device-registry-idempotency-local"
# API Gateway refuses payloads over 10 MB; the handlers answer 413 above 64 KiB.
MAX_READ_BYTES = 10 * 1024 * 1024
# Concurrent requests run in this many worker processes ("execution environments").
EXECUTION_ENVIRONMENTS = 4
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
        "POWERTOOLS_SERVICE_NAME": "device-registry",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        # Metrics are CloudWatch log lines; a terminal has no use for them.
        "POWERTOOLS_METRICS_NAMESPACE": metrics.NAMESPACE,
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
    for name, value in defaults.items():
        os.environ.setdefault(name, value)
    if endpoint:
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint


def _answer(error: RegistryError) -> dict[str, Any]:
    """A domain error as the handlers and API Gateway answer it (same problem type)."""
    from registry.problems import error_proxy_response

    return error_proxy_response(error)


def _problem(status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    from registry.problems import problem_body, problem_headers

    slug = title.lower().replace(" ", "-")
    return {
        "statusCode": status,
        "headers": {**problem_headers(), **(headers or {})},
        "body": problem_body(status, slug, title, detail),
    }


class _RequestHandler(BaseHTTPRequestHandler):
    server_version = "DeviceRegistryLocal/1.0"
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle's algorithm on, every answer waited
    # for the client's delayed ACK (~40 ms).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        logger.info("%s %s", self.address_string(), format % args)

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        matches, allowed = match(url.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_READ_BYTES:
            response = _answer(PayloadTooLarge(f"The request body is {length} bytes; the limit is 65536 bytes."))
            self.close_connection = True
        else:
            body = self.rfile.read(length) if length else None
            response = self._invoke(url.path, url.query, matches, allowed, body)
        self._send(response)

    def _invoke(
        self, path: str, query: str, matches: list[Any], allowed: list[str], body: bytes | None
    ) -> dict[str, Any]:
        if not matches:
            return _answer(RouteNotFound(f"No route {self.command} {path}."))
        chosen = [(route, params) for route, params in matches if route.method == self.command]
        if not chosen:
            response = _answer(MethodNotAllowed(f"{self.command} is not allowed on {path}; use {', '.join(allowed)}."))
            response["headers"]["Allow"] = ", ".join(allowed)
            return response
        route, params = chosen[0]
        headers = {name: value for name, value in self.headers.items()}
        event = proxy_event(route, path=path, path_parameters=params, query=query, headers=headers, body=body)
        server: _Server = self.server  # type: ignore[assignment]
        try:
            return server.environments.submit(_run_handler, route.handler, event).result()
        except Exception:
            # What API Gateway answers when the function itself fails.
            logger.exception("handler %s failed", route.handler)
            return _problem(502, "Bad gateway", "The function failed to answer; see the local server's log.")

    def _send(self, response: dict[str, Any]) -> None:
        body = response.get("body") or ""
        payload = base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()
        self.send_response(int(response.get("statusCode", 500)))
        headers: dict[str, list[str]] = {k: [str(v)] for k, v in (response.get("headers") or {}).items()}
        for name, values in (response.get("multiValueHeaders") or {}).items():
            headers[name] = [str(value) for value in values]
        for name, values in headers.items():
            if name.lower() not in {"content-length", "connection"}:
                for value in values:
                    self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # http.server's own refusals (request line or header too long, malformed request line)
        # as problem documents like every other error, not its HTML page.
        title = HTTPStatus(code).phrase
        self.close_connection = True
        self._send(_problem(code, title, f"{message or title}."))

    def __getattr__(self, name: str) -> Any:
        # Every method, TRACE and made-up ones included, gets the API's 404/405 problem
        # rather than http.server's 501 HTML page.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)


def _start_environment() -> None:
    # Ctrl-C reaches the whole process group: the server stops its environments itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for route in ROUTES:  # warm, so that no request pays the cold import
        importlib.import_module(f"handlers.{route.handler}")


def _started() -> None:
    """A task that returns once its environment is warm."""


def _run_handler(handler: str, event: dict[str, Any]) -> dict[str, Any]:
    module = importlib.import_module(f"handlers.{handler}")
    return dict(module.lambda_handler(event, LambdaContext()))


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int]) -> None:
        self.environments = ProcessPoolExecutor(
            EXECUTION_ENVIRONMENTS, mp_context=multiprocessing.get_context("spawn"), initializer=_start_environment
        )
        # Listen only once every environment is warm: a client never waits for a cold start.
        for started in [self.environments.submit(_started) for _ in range(EXECUTION_ENVIRONMENTS)]:
            started.result()
        super().__init__(address, _RequestHandler)

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
    ) -> None:
        # Imported here: the execution environments import this module, and need no moto.
        from local.dynamodb import EmbeddedDynamoDB, create_tables, migrate

        self.dynamodb = None if dynamodb_endpoint else EmbeddedDynamoDB(port=dynamodb_port).start()
        endpoint = dynamodb_endpoint or (self.dynamodb.endpoint if self.dynamodb else None)
        configure_environment(endpoint)
        create_tables(endpoint, os.environ["TABLE_NAME"], os.environ["IDEMPOTENCY_TABLE_NAME"])
        migrate(endpoint, os.environ["TABLE_NAME"])
        # Change events (docs/events.md): the publisher on the table's stream, events to a file.
        from local.stream import StreamPublisher

        self.stream = StreamPublisher(endpoint, os.environ["TABLE_NAME"], os.environ.get("LOCAL_EVENTS_FILE")).start()
        self.http = _Server((host, port))

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
    # `make run` fixes the embedded DynamoDB's port (3001) so that `make migrate` finds it.
    api = LocalApi(host, port, external, dynamodb_port=int(os.environ.get("DYNAMODB_PORT", "0")))
    where = external or f"embedded DynamoDB at {api.dynamodb.endpoint if api.dynamodb else '?'}"
    print(f"Device Registry API on {api.url} ({where}); Swagger UI at {api.url}/swagger. Ctrl-C stops.")
    try:
        api.http.serve_forever()
    except KeyboardInterrupt:
        print("\nStopping.", file=sys.stderr)
    finally:
        api.http.server_close()
        api.stream.stop()
        if api.dynamodb:
            api.dynamodb.stop()
    return 0


if __name__ == "__main__":
    code = main()
    # Everything is stopped and nothing is kept: skip the interpreter's teardown, which after a
    # long session spent seconds freeing the embedded DynamoDB's data.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
