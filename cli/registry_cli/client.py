"""HTTP to the registry: where it is, who we are, retries, and problem documents as errors.

A request is retried (with full-jitter exponential backoff, or after the server's ``Retry-After``)
when the answer says "try again": 429, 502, 503, 504, a 409 for an ``Idempotency-Key`` still in
progress, or when the connection failed. Writes that could run twice are only retried with an
``Idempotency-Key``, so a retry never applies a change twice."""

from __future__ import annotations

import hashlib
import json
import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

DEFAULT_URL = "http://127.0.0.1:3000"
RETRIED_STATUSES = frozenset({429, 502, 503, 504})
IN_PROGRESS = "idempotency-in-progress"  # a 409 that means "ask again shortly"
MAX_ATTEMPTS = 8
MAX_DELAY = 30.0
MAX_RETRY_AFTER = 120.0
TOKEN_MARGIN = 60  # seconds before expiry at which a cached token is exchanged again


class ApiError(Exception):
    """An answer that is not a success, shown to the user as the problem's ``detail``."""

    def __init__(self, status: int, detail: str, problem: Mapping[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.problem = dict(problem or {})

    @property
    def slug(self) -> str:
        return str(self.problem.get("type", "")).rsplit(":", 1)[-1].rsplit("/", 1)[-1]


class UsageError(Exception):
    """The command cannot run as asked (a file, a setting): nothing has been sent."""


class Unreachable(Exception):
    """The server could not be reached (or kept answering "try again") after every retry."""


def problem_text(problem: Mapping[str, Any]) -> str:
    """A problem document as one line: its detail, then each bad field."""
    detail = str(problem.get("detail") or problem.get("title") or "request refused")
    fields = [f"{e.get('field')}: {e.get('message')}" for e in problem.get("errors") or [] if isinstance(e, Mapping)]
    return "; ".join([detail, *fields]) if fields and not all(f in detail for f in fields) else detail


def error_from(response: httpx.Response) -> ApiError:
    try:
        problem = response.json()
    except ValueError:
        problem = None
    if isinstance(problem, Mapping) and ("detail" in problem or "title" in problem):
        return ApiError(response.status_code, problem_text(problem), problem)
    reason = response.reason_phrase or "error"
    return ApiError(response.status_code, f"The server answered {response.status_code} {reason}.")


def retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date), or None."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER)
    except ValueError:
        pass
    try:
        return min(max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0), MAX_RETRY_AFTER)
    except (TypeError, ValueError):
        return None


@dataclass
class Credentials:
    """A bearer token from ``REGISTRY_TOKEN``, or Cognito client credentials exchanged at the
    token URL and cached (in memory and in a private file) until shortly before they expire."""

    token: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    token_url: str | None = None
    scope: str | None = None
    cache_dir: Path | None = None
    _cached: tuple[str, float] | None = field(default=None, repr=False)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Credentials:
        cache_home = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return cls(
            token=environ.get("REGISTRY_TOKEN") or None,
            client_id=environ.get("REGISTRY_CLIENT_ID") or None,
            client_secret=environ.get("REGISTRY_CLIENT_SECRET") or None,
            token_url=environ.get("REGISTRY_TOKEN_URL") or None,
            scope=environ.get("REGISTRY_SCOPE") or None,
            cache_dir=Path(cache_home) / "registry-cli",
        )

    def check(self) -> None:
        given = [self.client_id, self.client_secret, self.token_url]
        if any(given) and not all(given):
            raise UsageError(
                "Client credentials take all three of REGISTRY_CLIENT_ID, REGISTRY_CLIENT_SECRET, REGISTRY_TOKEN_URL."
            )

    def header(self, http: httpx.Client, *, renew: bool = False) -> dict[str, str]:
        if self.token:
            return {"Authorization": f"Bearer {self.token}"}
        if not self.client_id:
            return {}
        return {"Authorization": f"Bearer {self._exchanged(http, renew=renew)}"}

    @property
    def renewable(self) -> bool:
        return self.token is None and self.client_id is not None

    def _cache_file(self) -> Path | None:
        if self.cache_dir is None:
            return None
        digest = hashlib.sha256(f"{self.token_url}\n{self.client_id}\n{self.scope}".encode()).hexdigest()[:24]
        return self.cache_dir / f"token-{digest}.json"

    def _exchanged(self, http: httpx.Client, *, renew: bool) -> str:
        now = time.time()
        if not renew:
            if self._cached is None:
                self._cached = self._read_cache()
            if self._cached and self._cached[1] - TOKEN_MARGIN > now:
                return self._cached[0]
        assert self.token_url and self.client_id and self.client_secret
        form = {"grant_type": "client_credentials", **({"scope": self.scope} if self.scope else {})}
        try:
            answer = http.post(self.token_url, data=form, auth=(self.client_id, self.client_secret))
        except httpx.HTTPError as error:
            raise Unreachable(f"Could not reach the token URL {self.token_url}: {error}") from None
        if answer.status_code != 200:
            raise ApiError(answer.status_code, f"The token URL refused the client credentials ({answer.text[:200]}).")
        body = answer.json()
        self._cached = (str(body["access_token"]), now + float(body.get("expires_in", 3600)))
        self._write_cache(*self._cached)
        return self._cached[0]

    def _read_cache(self) -> tuple[str, float] | None:
        path = self._cache_file()
        try:
            stored = json.loads(path.read_text()) if path else None
            return (str(stored["access_token"]), float(stored["expires_at"])) if stored else None
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _write_cache(self, token: str, expires_at: float) -> None:
        path = self._cache_file()
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w") as file:
                json.dump({"access_token": token, "expires_at": expires_at}, file)
        except OSError:
            pass  # a cache that cannot be written only costs another exchange next time


def _refused(error: Exception) -> bool:
    """Whether a connection error is a refusal (nothing listening), not a timeout or a lookup."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError) or "refused" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class Registry:
    """The API at ``url``: JSON requests with retries; errors raised as :class:`ApiError`."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        credentials: Credentials | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
        timeout: float = 60.0,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.url = url.rstrip("/")
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            # httpx would try (and be retried) for 16 s before saying anything useful
            raise UsageError(
                f"{url!r} is not the API's URL: give it whole, with http:// or https:// "
                "(--url or REGISTRY_URL; e.g. http://127.0.0.1:3000)"
            )
        self.credentials = credentials or Credentials()
        self.credentials.check()
        self.max_attempts = max_attempts
        self._cancelled = threading.Event()
        # A wait that a cancel (Ctrl-C) cuts short, so that no retry keeps the command alive.
        self.sleep: Callable[[float], object] = sleep or self._cancelled.wait
        self.http = httpx.Client(
            base_url=self.url,
            transport=transport,
            timeout=timeout,
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=16),
            headers={"Accept": "application/json, application/problem+json", "User-Agent": "registry-cli/0.1"},
        )

    def close(self) -> None:
        self.http.close()

    def cancel(self) -> None:
        """Stop: requests still retrying give up, and open connections are closed."""
        self._cancelled.set()
        self.http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        """The successful answer, after retries; ApiError for a refusal, Unreachable when the
        server never answered usefully."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        content = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        if content is not None:
            headers["Content-Type"] = "application/json"
        query = {name: value for name, value in (params or {}).items() if value is not None}
        safe_to_repeat = method in {"GET", "HEAD", "PUT", "DELETE"} or idempotency_key is not None
        renewed = False
        last_problem = ""
        for attempt in range(self.max_attempts):
            try:
                response = self.http.request(
                    method,
                    path,
                    params=query,
                    content=content,
                    headers={**headers, **self.credentials.header(self.http)},
                )
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                if _refused(error):  # nothing listens there: no retry can change that
                    raise Unreachable(
                        f"cannot connect to {self.url}: the connection was refused (is the server running, "
                        "and is --url / REGISTRY_URL right?)"
                    ) from None
                last_problem = f"cannot connect to {self.url} ({error})"
                self.back_off(attempt, None)
                continue
            except httpx.TransportError as error:
                if not safe_to_repeat:
                    raise Unreachable(f"The connection to {self.url} failed mid-request ({error}).") from None
                last_problem = f"the connection to {self.url} failed ({error})"
                self.back_off(attempt, None)
                continue
            if response.is_success:
                return response
            if response.status_code == 401 and self.credentials.renewable and not renewed:
                self.credentials.header(self.http, renew=True)
                renewed = True
                continue
            refusal = error_from(response)
            # A 5xx may come after the change was made (a timeout on the way back): only a
            # request that is safe to repeat is sent again; a 429 was never let in.
            transient = (response.status_code in RETRIED_STATUSES or refusal.slug == IN_PROGRESS) and (
                safe_to_repeat or response.status_code == 429
            )
            if not transient:
                raise refusal
            last_problem = f"{response.status_code}: {refusal.detail}"
            self.back_off(attempt, retry_after(response))
        raise Unreachable(f"Gave up after {self.max_attempts} attempts: {last_problem}")

    def back_off(self, attempt: int, after: float | None) -> None:
        """Waits before attempt ``attempt + 1``: ``after`` seconds if the server said, else a
        full-jitter exponential delay; a cancelled client stops here."""
        if self._cancelled.is_set():
            raise Unreachable("cancelled")
        if attempt + 1 < self.max_attempts:
            self.sleep(after if after is not None else random.uniform(0, min(MAX_DELAY, 0.25 * 2**attempt)))
            if self._cancelled.is_set():
                raise Unreachable("cancelled")

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        return response.json() if response.content else None

    def pages(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[list[dict[str, Any]]]:
        """Every page of a list (following ``next_cursor`` until it is null)."""
        query = dict(params or {})
        while True:
            page = self.json("GET", path, params=query)
            yield list(page.get("items") or [])
            if not page.get("next_cursor"):
                return
            query["cursor"] = page["next_cursor"]
