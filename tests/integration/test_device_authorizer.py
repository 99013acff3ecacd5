"""The device authorizer's verdicts (registry/domain/credentials.py through handlers/authorize_device.py):
only the right secret of a live credential passes, every refusal is the same and costs the same
work, and nothing it logs holds a secret."""

from __future__ import annotations

import importlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from registry import wiring
from registry.credentials.service import CredentialService
from registry.domain import credentials
from registry.domain.credentials import Authenticator, StoredCredential
from registry.http.routes import DEVICE, ROUTES
from registry.storage.credentials import CredentialStore
from tests.support import TABLE_NAME

METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/PUT/device/status"


@pytest.fixture
def credential_store(dynamodb: Any) -> CredentialStore:
    """On the handlers' own client, whose calls ``dynamodb_calls`` counts."""
    return CredentialStore(wiring.dynamodb_client(), TABLE_NAME)


@pytest.fixture
def issue(credential_store: CredentialStore, make_device: Any) -> Any:
    """A credential of a new device (or of ``device_id``): (device id, credential id, secret)."""

    def make(device_id: str | None = None) -> tuple[str, str, str]:
        device_id = device_id or make_device()["id"]
        issued = CredentialService(credential_store).create(device_id)
        return device_id, issued.record.credential_id, issued.secret

    return make


class Spy:
    """scrypt as the authenticator computes it, with the records it was computed against."""

    def __init__(self) -> None:
        self.against: list[str] = []

    def __call__(self, secret: str, record: StoredCredential) -> bytes:
        self.against.append(record.credential_id)
        return credentials.scrypt_hash(secret, record)


def header(credential_id: str, secret: str) -> str:
    return f"Device {credential_id}:{secret}"


def test_the_right_secret_names_the_credentials_device(credential_store, issue):
    device_id, credential_id, secret = issue()

    verified = Authenticator(credential_store).authenticate(header(credential_id, secret))

    assert verified is not None
    assert (verified.device_id, verified.principal) == (device_id, f"device:{credential_id}")


def test_the_scheme_is_case_insensitive(credential_store, issue):
    _, credential_id, secret = issue()

    assert Authenticator(credential_store).authenticate(f"device {credential_id}:{secret}") is not None


def test_wrong_secret_revoked_credential_and_another_devices_id_are_refused(credential_store, issue, invoke):
    device_id, credential_id, secret = issue()
    _, other_id, other_secret = issue()
    authenticator = Authenticator(credential_store)

    assert authenticator.authenticate(header(credential_id, other_secret)) is None  # wrong secret
    assert authenticator.authenticate(header(other_id, secret)) is None  # another device's id, this secret
    invoke("delete_credential", f"/devices/{device_id}/credentials/{credential_id}")
    assert authenticator.authenticate(header(credential_id, secret)) is None  # revoked


def test_a_credential_of_a_deleted_device_is_refused(credential_store, issue, invoke):
    device_id, credential_id, secret = issue()

    invoke("delete_device", f"/devices/{device_id}")

    assert Authenticator(credential_store).authenticate(header(credential_id, secret)) is None


VALID_ID = "5f0c3a1e-2b4d-4c6e-8f10-2a3b4c5d6e7f"
VALID_SECRET = "A" * 43
MALFORMED = [
    None,
    "",
    "Device",
    "Device ",
    f"Bearer {VALID_ID}:{VALID_SECRET}",
    f"Basic {VALID_ID}:{VALID_SECRET}",
    f"Device {VALID_ID}",
    f"Device {VALID_ID}:",
    f"Device :{VALID_SECRET}",
    f"Device {VALID_ID}{VALID_SECRET}",
    f"Device  {VALID_ID}:{VALID_SECRET}",  # two spaces
    f"Device\t{VALID_ID}:{VALID_SECRET}",
    f" Device {VALID_ID}:{VALID_SECRET}",
    f"Device {VALID_ID}:{VALID_SECRET} ",
    f"Device {VALID_ID}:{VALID_SECRET}\n",
    f"Device {VALID_ID.upper()}:{VALID_SECRET}",  # ids are issued lowercase
    f"Device {VALID_ID[:-1]}:{VALID_SECRET}",
    f"Device {VALID_ID}:{VALID_SECRET[:-1]}",
    f"Device {VALID_ID}:{VALID_SECRET}A",
    f"Device {VALID_ID}:{VALID_SECRET[:-1]}=",
    f"Device {VALID_ID}:{VALID_SECRET[:-1]}é",
    f"Device {VALID_ID}:{VALID_SECRET}:{VALID_SECRET}",
    f"Device {VALID_ID}:{VALID_SECRET}, Device {VALID_ID}:{VALID_SECRET}",
    "Device " + "x" * 10_000,
    f"Device {VALID_ID}:%s" % ("A" * 10_000),
]


@pytest.mark.parametrize("value", MALFORMED, ids=range(len(MALFORMED)))
def test_malformed_headers_are_refused_without_a_lookup(credential_store, dynamodb_calls, value):
    assert credentials.parse_header(value) is None
    assert Authenticator(credential_store).authenticate(value) is None
    assert not dynamodb_calls


def test_verification_always_computes_scrypt_even_for_an_unknown_credential_id(credential_store, issue):
    """No early exit: an unknown id is verified against a dummy record, so it takes the same
    work as a known id with a wrong secret (no wall clock here: the work itself is observed)."""
    _, credential_id, secret = issue()
    spy = Spy()
    authenticator = Authenticator(credential_store, derive=spy)

    assert authenticator.authenticate(header(VALID_ID, secret)) is None  # unknown id
    assert authenticator.authenticate(header(credential_id, VALID_SECRET)) is None  # wrong secret
    assert authenticator.authenticate(header(credential_id, secret)) is not None

    assert len(spy.against) == 3
    dummy, known, right = spy.against
    assert dummy != VALID_ID and known == right == credential_id
    assert credentials._DUMMY.n == credentials.SCRYPT_N and credentials._DUMMY.r == credentials.SCRYPT_R


def test_the_comparison_is_constant_time(credential_store, issue, monkeypatch):
    _, credential_id, secret = issue()
    compared = []
    real = credentials.hmac.compare_digest

    def compare_digest(a: bytes, b: bytes) -> bool:
        compared.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(credentials.hmac, "compare_digest", compare_digest)
    Authenticator(credential_store).authenticate(header(credential_id, secret))
    Authenticator(credential_store).authenticate(header(VALID_ID, secret))

    assert compared == [(credentials.HASH_BYTES, credentials.HASH_BYTES)] * 2


def test_last_used_at_is_written_at_most_once_an_hour(credential_store, issue, dynamodb_calls, invoke):
    device_id, credential_id, secret = issue()
    now = [datetime(2026, 11, 29, 6, 0, tzinfo=UTC)]
    authenticator = Authenticator(credential_store, clock=lambda: now[0])
    dynamodb_calls.clear()

    def use(after: timedelta) -> None:
        now[0] += after
        assert authenticator.authenticate(header(credential_id, secret)) is not None

    use(timedelta(0))
    for _ in range(30):
        use(timedelta(minutes=1))
    assert dynamodb_calls["UpdateItem"] == 1
    use(timedelta(minutes=31))  # an hour and a minute after the first
    assert dynamodb_calls["UpdateItem"] == 2
    assert dynamodb_calls["GetItem"] == 32

    listed = invoke("list_credentials", f"/devices/{device_id}/credentials")["json"]["items"]
    assert listed[0]["last_used_at"] == "2026-11-29T07:01:00.000Z"


# -- the handler API Gateway invokes -----------------------------------------------------------


def _authorize(value: str | None) -> dict[str, Any]:
    from local.proxy_events import LambdaContext

    module = importlib.import_module("handlers.authorize_device")
    module.authenticator.cache_clear()
    event = {"type": "REQUEST", "methodArn": METHOD_ARN, "headers": {} if value is None else {"Authorization": value}}
    return dict(module.lambda_handler(event, LambdaContext()))


def test_the_authorizer_allows_every_device_route_of_the_stage_and_passes_the_device(issue):
    device_id, credential_id, secret = issue()

    answer = _authorize(header(credential_id, secret))

    assert answer["principalId"] == f"device:{credential_id}"
    assert answer["context"] == {"device_id": device_id, "credential_id": credential_id}
    (statement,) = answer["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    base = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod"
    allowed = {f"{base}/{r.method}{r.path}" for r in ROUTES if r.auth == DEVICE}
    allowed |= {f"{base}/HEAD{r.path}" for r in ROUTES if r.auth == DEVICE and r.method == "GET"}
    assert set(statement["Resource"]) == allowed


def test_the_authorizer_refuses_with_unauthorized_which_api_gateway_answers_401(issue):
    _, credential_id, _ = issue()

    with pytest.raises(Exception, match=r"^Unauthorized$"):
        _authorize(header(credential_id, VALID_SECRET))
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        _authorize(None)


def test_the_authorizer_never_logs_a_secret(issue, caplog):
    from handlers.authorize_device import logger

    _, credential_id, secret = issue()
    logger.setLevel("DEBUG")
    try:
        _authorize(header(credential_id, secret))
        with pytest.raises(Exception, match="Unauthorized"):
            _authorize(header(credential_id, secret[::-1]))
    finally:
        logger.setLevel("WARNING")

    # Each record as the function writes it to CloudWatch (Powertools' JSON formatter).
    lines = [json.loads(logger.registered_formatter.format(record)) for record in caplog.records]
    assert [line["message"] for line in lines] == ["device authenticated", "device credential refused"]
    assert lines[0]["credential_id"] == credential_id
    written = json.dumps(lines)
    assert secret not in written and secret[::-1] not in written
