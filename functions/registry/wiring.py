"""Clients created once per container and handed to routes with Powertools ``Depends``;
tests swap them with ``app.dependency_overrides``."""

from __future__ import annotations

from functools import cache

import boto3
from botocore.config import Config

from registry.service import DeviceService
from registry.settings import get_settings
from registry.store import DeviceStore

# Fail fast and let the service answer 503 with Retry-After rather than hang the caller.
CLIENT_CONFIG = Config(
    connect_timeout=2,
    read_timeout=5,
    retries={"mode": "standard", "max_attempts": 3},
)


@cache
def dynamodb_client() -> object:
    return boto3.client("dynamodb", config=CLIENT_CONFIG)


@cache
def get_service() -> DeviceService:
    return DeviceService(DeviceStore(dynamodb_client(), get_settings().table_name))
