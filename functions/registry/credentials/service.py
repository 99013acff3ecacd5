"""The operators' side of device credentials: create (the secret answered once), list, revoke.
The rules (what a secret is, how it is hashed, at most two per device) are ``registry.domain.credentials``';
the items and transactions are ``registry.storage.credentials``'s."""

from __future__ import annotations

from collections.abc import Callable

from registry.domain.credentials import IssuedCredential, StoredCredential, issue
from registry.domain.values import now_timestamp
from registry.storage.credentials import CredentialStore


class CredentialService:
    def __init__(self, store: CredentialStore, *, clock: Callable[[], str] = now_timestamp) -> None:
        self.store = store
        self.clock = clock

    def create(self, device_id: str) -> IssuedCredential:
        """A new credential for a live device (404 otherwise; 409 when it has two already)."""
        issued = issue(device_id, self.clock())
        self.store.create(issued.record)
        return issued

    def of_device(self, device_id: str) -> list[StoredCredential]:
        return self.store.of_device(device_id)

    def revoke(self, device_id: str, credential_id: str) -> None:
        self.store.revoke(device_id, credential_id)
