"""Clients created once per container and handed to routes with Powertools ``Depends``;
tests swap them with ``app.dependency_overrides``.

No ``from __future__ import annotations`` here: Powertools reads a dependency's type hints on
every request, and a postponed (string) annotation would be compiled each time."""

from functools import cache

import boto3
from botocore.config import Config

from registry import metrics
from registry.credentials.service import CredentialService
from registry.devices.service import DeviceService
from registry.settings import get_settings
from registry.storage.credentials import CredentialStore
from registry.storage.devices import DeviceStore

# Fail fast and let the service answer 503 with Retry-After rather than hang the caller:
# 3 attempts in all (botocore's `max_attempts` would count retries only, one more), each at most
# 2 s to connect and 3 s to read, with standard-mode backoff (≤ 1 s, ≤ 2 s) between them.
CLIENT_CONFIG = Config(
    connect_timeout=2,
    read_timeout=3,
    retries={"mode": "standard", "total_max_attempts": 3},
)


@cache
def dynamodb_client() -> object:
    return boto3.client("dynamodb", config=CLIENT_CONFIG)


@cache
def get_service() -> DeviceService:
    settings = get_settings()
    return DeviceService(
        DeviceStore(dynamodb_client(), settings.table_name),
        count=metrics.count,
        status_history_days=settings.status_history_days,
    )


@cache
def get_credential_service() -> CredentialService:
    return CredentialService(CredentialStore(dynamodb_client(), get_settings().table_name))
