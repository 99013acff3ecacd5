"""Device credentials: what a secret is, how it is kept, and how a device proves it holds one.

A device sends ``Authorization: Device <credential_id>:<secret>``. The secret is 256 random bits
(``secrets``), answered once at creation and stored only as its scrypt hash (``hashlib.scrypt``:
the standard library, no dependency; parameters below and in docs/decisions.md) with a salt of
its own. Verification always derives a hash, for an unknown credential id too (against a dummy
record), and compares with ``hmac.compare_digest``: neither the time taken nor the answer tells
whether an id exists. Nothing here logs, returns or stores a secret.

This module is shared by the credential routes (creation), the device authorizer
(``handlers/authorize_device.py``) and the local server's copy of that authorizer; it imports no
pydantic and no resolver, so the authorizer's cold start stays small."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from registry.domain.values import format_timestamp

# scrypt's cost: N = 2^12, r = 8, p = 1 takes 4 MiB and ~9 ms of one full core (this machine),
# ~15 ms in a 1,024 MB Lambda (0.58 vCPU). A secret of 256 random bits needs no stretching to
# resist guessing; the hash is there so that a copy of the table yields no usable credential,
# and the cost is paid on every authorizer cache miss, so it stays moderate. Each item records
# its parameters: raising them later needs no migration (new credentials get the new ones).
SCRYPT_N = 2**12
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
HASH_BYTES = 32
SECRET_BYTES = 32  # 256 bits; token_urlsafe gives 43 characters of [A-Za-z0-9_-]
MAX_ACTIVE = 2  # per device: the one in use and its replacement during a rotation
# last_used_at is written at most once per this interval per credential (a conditional update
# decided from the item the authorizer has just read), never once per request.
LAST_USED_RESOLUTION = timedelta(hours=1)

SCHEME = "Device"
# What a 401 asks for. API Gateway has one UNAUTHORIZED answer for the whole API (operator
# routes' Cognito authorizer and the device routes' one), so both challenges are named.
CHALLENGE = "Bearer, Device"
UNAUTHORIZED_DETAIL = (
    "Send valid credentials: operator routes take Authorization: Bearer <access token>; "
    "device routes (/device...) take Authorization: Device <credential_id>:<secret>."
)
# RFC 7235: the scheme is case-insensitive, then one space, then the token. Ids are the lowercase
# UUIDs we issue; a secret is exactly what token_urlsafe(SECRET_BYTES) makes.
_SECRET_LENGTH = len(secrets.token_urlsafe(SECRET_BYTES))
_ID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_HEADER = re.compile(rf"(?i:{SCHEME}) ({_ID}):([A-Za-z0-9_-]{{{_SECRET_LENGTH}}})")


@dataclass(frozen=True, slots=True)
class Presented:
    """What an Authorization header claims: a credential id and a secret."""

    credential_id: str
    secret: str = ""

    def __repr__(self) -> str:  # never print the secret, whoever logs this
        return f"Presented(credential_id={self.credential_id!r})"


def parse_header(value: str | None) -> Presented | None:
    """``Device <id>:<secret>`` → :class:`Presented`; None for anything else (absent, another
    scheme, a malformed id or secret, extra spaces or characters)."""
    if value is None or len(value) > 128:
        return None
    found = _HEADER.fullmatch(value)
    return Presented(found.group(1), found.group(2)) if found else None


def authorization_header(headers: dict[str, str] | None) -> str | None:
    """The Authorization header of an event's headers (any case); None if absent."""
    for name, value in (headers or {}).items():
        if name.lower() == "authorization":
            return value
    return None


@dataclass(frozen=True, slots=True)
class StoredCredential:
    """A credential's item: never its secret, only the secret's salted hash and how it was made."""

    credential_id: str
    device_id: str
    created_at: str
    salt: str  # base64
    hash: str  # base64
    n: int = SCRYPT_N
    r: int = SCRYPT_R
    p: int = SCRYPT_P
    last_used_at: str | None = None

    def __repr__(self) -> str:
        return f"StoredCredential(credential_id={self.credential_id!r}, device_id={self.device_id!r})"


Derive = Callable[[str, StoredCredential], bytes]


def scrypt_hash(secret: str, record: StoredCredential) -> bytes:
    """The secret's hash with the record's salt and parameters."""
    return hashlib.scrypt(
        secret.encode(),
        salt=base64.b64decode(record.salt),
        n=record.n,
        r=record.r,
        p=record.p,
        maxmem=2 * 128 * record.r * record.n + 1024 * 1024,
        dklen=HASH_BYTES,
    )


@dataclass(frozen=True, slots=True)
class IssuedCredential:
    """A new credential: the record to store and the secret, answered once."""

    record: StoredCredential
    secret: str


def issue(device_id: str, created_at: str, derive: Derive = scrypt_hash) -> IssuedCredential:
    secret = secrets.token_urlsafe(SECRET_BYTES)
    salt = base64.b64encode(secrets.token_bytes(SALT_BYTES)).decode()
    record = StoredCredential(str(uuid.uuid4()), device_id, created_at, salt, hash="")
    digest = base64.b64encode(derive(secret, record)).decode()
    return IssuedCredential(replace(record, hash=digest), secret)


# What an unknown credential id is verified against, so that it costs the same scrypt as a
# known one. Its hash matches no secret (scrypt of a secret never equals 32 zero bytes).
_DUMMY = StoredCredential(
    credential_id="00000000-0000-0000-0000-000000000000",
    device_id="",
    created_at="",
    salt=base64.b64encode(bytes(SALT_BYTES)).decode(),
    hash=base64.b64encode(bytes(HASH_BYTES)).decode(),
)


class CredentialReader(Protocol):
    def get_credential(self, credential_id: str) -> StoredCredential | None: ...

    def touch_credential(self, credential_id: str, at: str, *, if_unused_since: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Authenticated:
    """Who a verified request comes from: the device, by the credential it used."""

    device_id: str
    credential_id: str

    @property
    def principal(self) -> str:
        """``changed_by`` of what the device changes."""
        return f"device:{self.credential_id}"

    def context(self) -> dict[str, str]:
        """The authorizer's context: API Gateway hands it to the function as
        ``requestContext.authorizer`` (strings only)."""
        return {"device_id": self.device_id, "credential_id": self.credential_id}


class Authenticator:
    """Verifies ``Authorization: Device`` headers against the stored credentials."""

    def __init__(
        self,
        store: CredentialReader,
        *,
        derive: Derive = scrypt_hash,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.derive = derive
        self.clock = clock

    def authenticate(self, header: str | None) -> Authenticated | None:
        """The device a header proves to be, or None: malformed, unknown id, wrong secret, revoked
        (its item is gone) — all the same None, after the same work."""
        presented = parse_header(header)
        if presented is None:
            return None
        stored = self.store.get_credential(presented.credential_id)
        record = stored or _DUMMY
        derived = self.derive(presented.secret, record)
        matches = hmac.compare_digest(derived, base64.b64decode(record.hash))
        if stored is None or not matches:
            return None
        self._note_use(stored)
        return Authenticated(stored.device_id, stored.credential_id)

    def _note_use(self, stored: StoredCredential) -> None:
        now = self.clock()
        cutoff = format_timestamp(now - LAST_USED_RESOLUTION)
        if stored.last_used_at is None or stored.last_used_at < cutoff:
            self.store.touch_credential(stored.credential_id, format_timestamp(now), if_unused_since=cutoff)
