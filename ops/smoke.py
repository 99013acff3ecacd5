"""``make smoke URL=…``: the proof after ``cdk deploy``, a black-box run through the public HTTP API
of a deployed stage (or of ``make run``). One device is registered, read, patched, reported on by
itself through a device credential, read conditionally and deleted, each step checked against the
contract (shared/api.md) and reported on one line; the first failure stops the run (exit 1).

Everything the run creates carries one tag (``smoke-<run id>``) and is deleted at the end, also
after a failure: the devices it knows of, and any device listed under the tag.

Credentials come from the environment as the ``registry`` command takes them (README): the client
credentials REGISTRY_CLIENT_ID, REGISTRY_CLIENT_SECRET and REGISTRY_TOKEN_URL (the run asks for a
second, read-only token itself, scope ``devices/read``), or REGISTRY_TOKEN with REGISTRY_READ_TOKEN.
Without any (the local server checks no operator token) the steps that need them are skipped,
each saying why."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ops.report import Finding, Verdict
from registry_cli.client import RETRIED_STATUSES, Credentials, Registry, UsageError, retry_after

PROBLEM_JSON = "application/problem+json"
READ_SCOPE = "devices/read"
EVENT_WAIT_S = 30.0  # EventBridge delivers within seconds; the local publisher within ~0.1 s
USAGE = 2


class Failed(Exception):
    """A step's answer is not what the contract says."""


class Skipped(Exception):
    """A step that cannot run here, with the reason."""


@dataclass
class Settings:
    url: str
    operator: Credentials
    reader: Credentials | None  # a read-only token's source (None: no read-only token to be had)
    tag: str
    origin: str | None = None  # a CORS origin the stage allows
    events_file: Path | None = None  # the local server's LOCAL_EVENTS_FILE
    events_queue: str | None = None  # an SQS queue a rule on the stack's bus targets
    attempts: int = 5
    event_wait_s: float = EVENT_WAIT_S

    @property
    def authenticated(self) -> bool:
        return bool(self.operator.token or self.operator.client_id)


def reader_from(operator: Credentials, environ: Mapping[str, str]) -> Credentials | None:
    """A read-only token: REGISTRY_READ_TOKEN, or the same client asking for ``devices/read`` only."""
    if environ.get("REGISTRY_READ_TOKEN"):
        return Credentials(token=environ["REGISTRY_READ_TOKEN"])
    if operator.client_id:
        return Credentials(
            client_id=operator.client_id,
            client_secret=operator.client_secret,
            token_url=operator.token_url,
            scope=READ_SCOPE,
        )
    return None


def expect(response: httpx.Response, status: int) -> httpx.Response:
    if response.status_code != status:
        raise Failed(
            f"{response.request.method} {response.request.url.path} answered {response.status_code}, "
            f"not {status}: {response.text[:300]}"
        )
    return response


def expect_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The answer is an RFC 9457 problem document with this status."""
    expect(response, status)
    content_type = response.headers.get("Content-Type", "").split(";")[0]
    if content_type != PROBLEM_JSON:
        raise Failed(f"a {status} answered as {content_type or 'no content type'}, not {PROBLEM_JSON}")
    problem = response.json()
    if problem.get("status") != status or not problem.get("title") or not problem.get("detail"):
        raise Failed(f"the {status} problem document lacks status, title or detail: {problem}")
    return dict(problem)


@dataclass
class Device:
    id: str
    etag: str
    revisions: int = 1


@dataclass
class Smoke:
    settings: Settings
    transport: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] = time.sleep
    device: Device | None = None
    stale_etag: str = ""  # the ETag the PATCH step made stale
    created: set[str] = field(default_factory=set)
    registry: Registry = field(init=False)

    def __post_init__(self) -> None:
        self.registry = Registry(
            self.settings.url,
            self.settings.operator,
            transport=self.transport,
            sleep=self.sleep,
            max_attempts=self.settings.attempts,
            timeout=30.0,
        )

    # -- HTTP ---------------------------------------------------------------------------------

    def send(
        self,
        method: str,
        path: str,
        *,
        auth: Credentials | str | None = "operator",
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        content_type: str = "application/json",
    ) -> httpx.Response:
        """One request, sent again (with the client's backoff) while the answer says "try again" or
        the server cannot be reached. ``auth``: "operator", other credentials, a literal
        Authorization header, or None for none."""
        sent = dict(headers or {})
        content = None
        if body is not None:
            content = json.dumps(body).encode()
            sent["Content-Type"] = content_type
        if method == "POST":  # so that a retry never registers twice
            sent.setdefault("Idempotency-Key", secrets.token_hex(16))
        for attempt in range(self.settings.attempts):
            sent.update(self._authorization(auth))
            try:
                response = self.registry.http.request(method, path, content=content, headers=sent)
            except httpx.TransportError as error:
                if attempt + 1 == self.settings.attempts:
                    raise Failed(f"cannot reach {self.settings.url}: {error}") from None
                self.registry.back_off(attempt, None)
                continue
            if response.status_code in RETRIED_STATUSES and attempt + 1 < self.settings.attempts:
                self.registry.back_off(attempt, retry_after(response))
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _authorization(self, auth: Credentials | str | None) -> dict[str, str]:
        if auth is None:
            return {}
        if isinstance(auth, str) and auth != "operator":
            return {"Authorization": auth}
        credentials = self.settings.operator if auth == "operator" else auth
        assert isinstance(credentials, Credentials)
        return credentials.header(self.registry.http)

    def _device(self) -> Device:
        if self.device is None:
            raise Failed("no device registered (an earlier step failed)")
        return self.device

    def _needs_operator_token(self) -> None:
        if not self.settings.authenticated:
            raise Skipped("no credentials given (the local server checks no operator token)")

    # -- the steps, in order ------------------------------------------------------------------

    def unauthenticated(self) -> str:
        self._needs_operator_token()
        problem = expect_problem(self.send("GET", "/devices", auth=None), 401)
        return f"GET /devices without a token: 401 {PROBLEM_JSON} ({problem['detail']})"

    def read_only_write(self) -> str:
        self._needs_operator_token()
        if self.settings.reader is None:
            raise Failed("no read-only token: set REGISTRY_READ_TOKEN, or use client credentials")
        answer = self.send("POST", "/devices", auth=self.settings.reader, body=self._registration())
        if answer.status_code == 201:
            self.created.add(answer.json()["id"])
        problem = expect_problem(answer, 403)
        return f"POST /devices with a {READ_SCOPE} token: 403 ({problem['detail']})"

    def register(self) -> str:
        answer = expect(self.send("POST", "/devices", body=self._registration()), 201)
        device = answer.json()
        self.created.add(device["id"])
        location, etag = answer.headers.get("Location", ""), answer.headers.get("ETag")
        if not location.endswith(f"/devices/{device['id']}") or not etag:
            raise Failed(f"201 without its Location or ETag (Location {location!r}, ETag {etag!r})")
        if self.settings.tag not in device.get("tags", []):
            raise Failed(f"the device was registered without its tag {self.settings.tag}: {device.get('tags')}")
        self.device = Device(device["id"], etag)
        return f"201, device {device['id']}, ETag {etag}, tagged {self.settings.tag}"

    def read(self) -> str:
        device = self._device()
        answer = expect(self.send("GET", f"/devices/{device.id}"), 200)
        if answer.json().get("id") != device.id or answer.headers.get("ETag") != device.etag:
            raise Failed(f"read back {answer.json().get('id')} with ETag {answer.headers.get('ETag')}")
        return f"200, ETag {device.etag}"

    def patch(self) -> str:
        device = self._device()
        answer = expect(self._patch(device.etag, {"location": "smoke test bench"}), 200)
        etag = answer.headers.get("ETag")
        if answer.json().get("location") != "smoke test bench" or not etag or etag == device.etag:
            raise Failed(f"the PATCH answered location {answer.json().get('location')!r}, ETag {etag!r}")
        self.stale_etag, device.etag = device.etag, etag
        device.revisions += 1
        return f"200 with If-Match {self.stale_etag}, new ETag {etag}"

    def stale_if_match(self) -> str:
        problem = expect_problem(self._patch(self.stale_etag, {"location": "elsewhere"}), 412)
        return f"If-Match {self.stale_etag} (stale): 412 ({problem['detail']})"

    def status(self) -> str:
        device = self._device()
        path = f"/devices/{device.id}/status"
        expect(self.send("PUT", path, body={"status": "online", "reason": "smoke test"}), 200)
        device.revisions += 2  # its first report: the status entry and liveness pending -> reporting
        status = expect(self.send("GET", path), 200).json()
        if status.get("status") != "online":
            raise Failed(f"PUT online, then GET answered {status}")
        return "PUT online, GET online"

    def history(self) -> str:
        entries = self._history()
        kinds = [entry["kind"] for entry in entries]
        if kinds != ["created", "config", "status", "liveness"]:  # a first report makes it reporting
            raise Failed(f"history kinds {kinds}, not created, config, status, liveness")
        return f"{len(entries)} entries: {', '.join(kinds)}"

    def device_credential(self) -> str:
        device = self._device()
        credential = expect(self.send("POST", f"/devices/{device.id}/credentials", body={}), 201).json()
        header = f"Device {credential['credential_id']}:{credential['secret']}"
        expect_problem(self.send("PUT", "/device/status", auth=None, body={"status": "maintenance"}), 401)
        answer = expect(self.send("PUT", "/device/status", auth=header, body={"status": "maintenance"}), 200)
        device.revisions += 1
        if answer.json().get("status") != "maintenance":
            raise Failed(f"the device's own report answered {answer.json()}")
        last = self._history()[-1]
        if last.get("changed_by") != f"device:{credential['credential_id']}":
            raise Failed(f"the device's report is in the history as changed by {last.get('changed_by')!r}")
        return f"credential {credential['credential_id']}: PUT /device/status 200 (401 without it), history says device"

    def conditional_read(self) -> str:
        device = self._device()
        current = expect(self.send("GET", f"/devices/{device.id}"), 200).headers["ETag"]
        unchanged = expect(self.send("GET", f"/devices/{device.id}", headers={"If-None-Match": current}), 304)
        if unchanged.content or unchanged.headers.get("ETag") != current:
            raise Failed(f"the 304 carried a body or ETag {unchanged.headers.get('ETag')!r}, not {current}")
        head = expect(self.send("HEAD", f"/devices/{device.id}"), 200)
        if head.content or head.headers.get("ETag") != current:
            raise Failed(f"HEAD answered a body or ETag {head.headers.get('ETag')!r}, not {current}")
        device.etag = current
        return f"If-None-Match {current}: 304, no body; HEAD 200, same ETag"

    def cors_preflight(self) -> str:
        origin = self.settings.origin
        if origin is None:
            raise Skipped("no --origin given (CORS is off unless the stage sets cors_origins)")
        device = self._device()
        request = {
            "Origin": origin,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization, content-type, if-match",
        }
        answer = self.send("OPTIONS", f"/devices/{device.id}", auth=None, headers=request)
        allowed = answer.headers.get("Access-Control-Allow-Origin")
        methods = answer.headers.get("Access-Control-Allow-Methods", "")
        if answer.status_code not in (200, 204) or allowed != origin or "PATCH" not in methods:
            raise Failed(
                f"OPTIONS from {origin} answered {answer.status_code}, Allow-Origin {allowed!r}, "
                f"Allow-Methods {methods!r}"
            )
        return f"OPTIONS from {origin}: {answer.status_code}, allowed, methods {methods}"

    def change_events(self) -> str:
        device = self._device()
        if self.settings.events_file is None and self.settings.events_queue is None:
            raise Skipped(
                "no event target given (--events-file for LOCAL_EVENTS_FILE, --events-queue for an SQS "
                "queue a rule on the stack's bus targets)"
            )
        deadline = time.monotonic() + self.settings.event_wait_s
        seen: dict[int, str] = {}
        while True:
            seen.update(self._events(device.id))
            if len(seen) >= device.revisions or time.monotonic() > deadline:
                break
            self.sleep(0.1)
        wanted = list(range(1, device.revisions + 1))
        if sorted(seen) != wanted:
            raise Failed(f"events for revisions {sorted(seen)} within {self.settings.event_wait_s:.0f} s, not {wanted}")
        return f"{len(seen)} events, revisions 1-{device.revisions}: " + ", ".join(seen[r] for r in wanted)

    def delete(self) -> str:
        device = self._device()
        expect(self.send("DELETE", f"/devices/{device.id}", headers={"If-Match": device.etag}), 204)
        expect_problem(self.send("GET", f"/devices/{device.id}"), 404)
        self.created.discard(device.id)
        return "204, then GET 404"

    STEPS: tuple[tuple[str, str], ...] = (
        ("401 without a token", "unauthenticated"),
        ("403 read-only write", "read_only_write"),
        ("register", "register"),
        ("read", "read"),
        ("PATCH with If-Match", "patch"),
        ("412 stale If-Match", "stale_if_match"),
        ("status", "status"),
        ("history", "history"),
        ("device credential", "device_credential"),
        ("304 and HEAD", "conditional_read"),
        ("CORS preflight", "cors_preflight"),
        ("change events", "change_events"),
        ("delete", "delete"),
    )

    # -- helpers ------------------------------------------------------------------------------

    def _registration(self) -> dict[str, Any]:
        mac = ":".join(f"{byte:02x}" for byte in [0x02, *secrets.token_bytes(5)])  # locally administered
        return {
            "name": f"smoke {self.settings.tag}",
            "device_type": "smoke-test",
            "mac_address": mac,
            "tags": [self.settings.tag],
        }

    def _patch(self, etag: str, changes: dict[str, Any]) -> httpx.Response:
        return self.send(
            "PATCH",
            f"/devices/{self._device().id}",
            body=changes,
            content_type="application/merge-patch+json",
            headers={"If-Match": etag},
        )

    def _history(self) -> list[dict[str, Any]]:
        answer = expect(self.send("GET", f"/devices/{self._device().id}/history?order=asc&limit=100"), 200)
        return list(answer.json()["items"])

    def _events(self, device_id: str) -> dict[int, str]:
        """{revision: detail-type} of the device's events seen so far."""
        found: dict[int, str] = {}
        if self.settings.events_file is not None and self.settings.events_file.exists():
            for line in self.settings.events_file.read_text(encoding="utf-8").splitlines():
                event = json.loads(line)
                if event["Detail"].get("device_id") == device_id:
                    found[int(event["Detail"]["revision"])] = str(event["DetailType"])
        if self.settings.events_queue is not None:
            found.update(self._queued_events(self.settings.events_queue, device_id))
        return found

    def _queued_events(self, queue_url: str, device_id: str) -> dict[int, str]:
        import boto3  # only for a queue: the local run and the HTTP steps need no AWS SDK

        sqs = boto3.client("sqs")
        found: dict[int, str] = {}
        for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            event = json.loads(message["Body"])  # EventBridge's event: source, detail-type, detail
            handle = message["ReceiptHandle"]
            if event.get("detail", {}).get("device_id") == device_id:
                found[int(event["detail"]["revision"])] = str(event["detail-type"])
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=handle)
            else:  # someone else's: back on the queue at once
                sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=handle, VisibilityTimeout=0)
        return found

    # -- the run --------------------------------------------------------------------------------

    def run(self, report: Callable[[Finding], None] = Finding.print) -> int:
        """Every step until the first failure, then the cleanup; 0 when nothing failed."""
        status = 0
        try:
            for name, method in self.STEPS:
                finding = self.step(name, getattr(self, method))
                report(finding)
                if finding.verdict is Verdict.FAIL:
                    status = 1
                    break
        finally:
            cleanup = self.cleanup()
            report(cleanup)
            self.registry.close()
        return 1 if cleanup.verdict is Verdict.FAIL else status

    def step(self, name: str, step: Callable[[], str]) -> Finding:
        try:
            return Finding(name, Verdict.PASS, step())
        except Skipped as reason:
            return Finding(name, Verdict.SKIP, str(reason))
        except Failed as failure:
            return Finding(name, Verdict.FAIL, str(failure))
        except (httpx.HTTPError, ValueError, KeyError) as error:  # an answer not even shaped as the contract says
            return Finding(name, Verdict.FAIL, f"{type(error).__name__}: {error}")

    def cleanup(self) -> Finding:
        """Deletes every device the run made: those it knows of, and those listed under its tag."""
        try:
            tagged = self.send("GET", f"/devices?tag={self.settings.tag}&limit=100")
            listed = {item["id"] for item in tagged.json().get("items", [])} if tagged.status_code == 200 else set()
            removed = []
            for device_id in sorted(self.created | listed):
                answer = self.send("DELETE", f"/devices/{device_id}")
                if answer.status_code not in (204, 404):
                    raise Failed(f"DELETE /devices/{device_id} answered {answer.status_code}: {answer.text[:200]}")
                removed.append(device_id)
        except (Failed, httpx.HTTPError) as error:
            left = ", ".join(sorted(self.created)) or "none known"
            return Finding("cleanup", Verdict.FAIL, f"{error}; devices tagged {self.settings.tag} may remain ({left})")
        if not removed:
            return Finding("cleanup", Verdict.PASS, f"nothing left tagged {self.settings.tag}")
        return Finding("cleanup", Verdict.PASS, f"deleted {len(removed)} device(s) tagged {self.settings.tag}")


def settings_from(args: argparse.Namespace, environ: Mapping[str, str]) -> Settings:
    operator = Credentials.from_environment(environ)
    events_file = args.events_file or environ.get("LOCAL_EVENTS_FILE") or None
    return Settings(
        url=args.url,
        operator=operator,
        reader=reader_from(operator, environ),
        tag=args.tag or f"smoke-{secrets.token_hex(4)}",
        origin=args.origin,
        events_file=Path(events_file) if events_file else None,
        events_queue=args.events_queue,
        attempts=args.attempts,
        event_wait_s=args.event_wait,
    )


def main(argv: list[str] | None = None, environ: Mapping[str, str] = os.environ) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.smoke", description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the stage's base URL (the stack output ApiUrl), or http://127.0.0.1:3000")
    parser.add_argument("--origin", help="a CORS origin the stage allows: its preflight is checked")
    parser.add_argument("--events-file", help="the local server's LOCAL_EVENTS_FILE (default: that variable)")
    parser.add_argument("--events-queue", help="the URL of an SQS queue a rule on the stack's event bus targets")
    parser.add_argument("--tag", help="the tag of everything the run creates (default: smoke-<random run id>)")
    parser.add_argument("--attempts", type=int, default=5, help="tries per request while the answer is 429/5xx")
    parser.add_argument("--event-wait", type=float, default=EVENT_WAIT_S, help="seconds to wait for the events")
    args = parser.parse_args(argv)
    try:
        settings = settings_from(args, environ)
        settings.operator.check()
    except UsageError as error:  # half the client credentials given, say
        print(f"error: {error}", file=sys.stderr)
        return USAGE
    print(f"smoke run {settings.tag} against {settings.url}", flush=True)
    return Smoke(settings).run()


if __name__ == "__main__":
    sys.exit(main())
