"""The ``registry`` command's HTTP client, against httpx's MockTransport: credentials exchanged
once and cached until they expire, retries that honour Retry-After, refusals as their detail."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest

from registry_cli.client import ApiError, Credentials, Registry, Unreachable, UsageError

TOKEN_URL = "https://auth.example/oauth2/token"


def _registry(handler: Callable[[httpx.Request], httpx.Response], credentials: Credentials | None = None, **kw):
    sleeps: list[float] = []
    registry = Registry(
        "https://api.example", credentials, transport=httpx.MockTransport(handler), sleep=sleeps.append, **kw
    )
    return registry, sleeps


def _credentials(cache: Path) -> Credentials:
    return Credentials(client_id="cli", client_secret="s3cret", token_url=TOKEN_URL, cache_dir=cache)


class Api:
    """A token endpoint handing out numbered tokens, and an API that answers 200 to a valid one."""

    def __init__(self, expires_in: int = 3600) -> None:
        self.exchanges = 0
        self.expires_in = expires_in
        self.valid: set[str] = set()
        self.seen: list[str | None] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URL:
            assert request.headers["Authorization"].startswith("Basic ")
            assert b"grant_type=client_credentials" in request.content
            self.exchanges += 1
            token = f"token-{self.exchanges}"
            self.valid.add(token)
            return httpx.Response(200, json={"access_token": token, "expires_in": self.expires_in})
        header = request.headers.get("Authorization")
        self.seen.append(header)
        if header and header.removeprefix("Bearer ") in self.valid:
            return httpx.Response(200, json={"items": [], "next_cursor": None})
        return httpx.Response(401, json={"title": "Unauthorized", "status": 401, "detail": "Token expired."})


def test_client_credentials_are_exchanged_once_and_the_token_reused_from_the_cache(tmp_path):
    api = Api()
    for _ in range(3):  # three commands, one after the other
        registry, _ = _registry(api, _credentials(tmp_path))
        registry.json("GET", "/devices")
    assert api.exchanges == 1
    assert api.seen == ["Bearer token-1"] * 3
    cached = next(tmp_path.glob("token-*.json"))
    assert cached.stat().st_mode & 0o777 == 0o600


def test_a_token_about_to_expire_is_exchanged_again(tmp_path):
    api = Api(expires_in=30)  # within the minute's margin
    for _ in range(2):
        registry, _ = _registry(api, _credentials(tmp_path))
        registry.json("GET", "/devices")
    assert api.exchanges == 2


def test_a_token_the_api_refuses_is_exchanged_again_once(tmp_path):
    api = Api()
    registry, _ = _registry(api, _credentials(tmp_path))
    registry.json("GET", "/devices")
    api.valid.clear()  # revoked, or expired early
    registry.json("GET", "/devices")
    assert api.exchanges == 2
    assert api.seen == ["Bearer token-1", "Bearer token-1", "Bearer token-2"]


def test_a_bearer_token_is_sent_as_it_is():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("Authorization"))
        return httpx.Response(200, json={})

    registry, _ = _registry(handler, Credentials.from_environment({"REGISTRY_TOKEN": "abc"}))
    registry.json("GET", "/devices")
    assert seen == ["Bearer abc"]


def test_half_the_client_credentials_is_a_usage_error():
    with pytest.raises(UsageError, match="REGISTRY_TOKEN_URL"):
        Registry("https://api.example", Credentials.from_environment({"REGISTRY_CLIENT_ID": "cli"}))


@pytest.mark.parametrize(
    ("retry_after", "waited"),
    [
        ("3", 3.0),
        ("an HTTP date a minute from now", pytest.approx(60, abs=2)),
    ],
)
def test_429_and_503_are_retried_after_what_retry_after_says(retry_after, waited):
    if retry_after.startswith("an HTTP date"):
        retry_after = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    answers = iter([429, 503, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(answers)
        return httpx.Response(status, json={"detail": "busy"}, headers={"Retry-After": retry_after})

    registry, sleeps = _registry(handler)
    assert registry.request("GET", "/devices").status_code == 200
    assert sleeps == [waited, waited]


def test_an_api_that_stays_unavailable_is_given_up_on_saying_why():
    registry, sleeps = _registry(lambda request: httpx.Response(503, json={"detail": "Try later."}), max_attempts=4)
    with pytest.raises(Unreachable, match=r"Gave up after 4 attempts: 503: Try later\."):
        registry.request("GET", "/devices")
    assert len(sleeps) == 3 and all(0 <= delay <= 30 for delay in sleeps)


def test_a_write_without_idempotency_key_is_not_resent_after_a_connection_lost_mid_request():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ReadError("connection reset", request=request)

    registry, _ = _registry(handler)
    with pytest.raises(Unreachable, match="failed mid-request"):
        registry.request("POST", "/devices/x/revert", body={})
    assert len(calls) == 1
    calls.clear()
    with pytest.raises(Unreachable):
        registry.request("POST", "/devices/x/revert", body={}, idempotency_key="k")
    assert len(calls) == registry.max_attempts


def test_a_refusal_is_an_error_carrying_its_detail_and_each_bad_field():
    problem = {
        "type": "urn:problem:validation-failed",
        "title": "Validation failed",
        "status": 422,
        "detail": "The request is not valid.",
        "errors": [{"field": "mac_address", "message": "'zz' is not a MAC address"}],
    }
    registry, _ = _registry(
        lambda request: httpx.Response(422, content=json.dumps(problem), headers={"Content-Type": "application/json"})
    )
    with pytest.raises(ApiError) as refused:
        registry.request("POST", "/devices", body={})
    assert str(refused.value) == "The request is not valid.; mac_address: 'zz' is not a MAC address"
    assert refused.value.slug == "validation-failed"


def test_a_write_without_idempotency_key_is_not_resent_after_a_503_but_is_after_a_429():
    answers: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        status = 503 if request.url.path == "/unavailable" else (429 if not answers else 201)
        answers.append(status)
        return httpx.Response(status, json={"detail": "Not now."})

    registry, _ = _registry(handler)
    with pytest.raises(ApiError, match="Not now"):
        registry.request("POST", "/unavailable", body={})
    assert answers == [503]
    answers.clear()
    assert registry.request("POST", "/devices", body={}).status_code == 201
    assert answers == [429, 201]
