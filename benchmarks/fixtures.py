"""What every benchmark shares: the Lambda-like environment, a seeded store, and one API
Gateway event per route (the same event for our handler, the minimal one and the peer)."""

from __future__ import annotations

import itertools
import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TABLE_NAME = "devices-bench"
IDEMPOTENCY_TABLE_NAME = "idempotency-bench"

# What a deployed function sees (infra/functions.py, prod stage), with dummy credentials.
# PYTHONDONTWRITEBYTECODE: a Lambda asset holds no .pyc (it excludes __pycache__ and /var/task
# is read-only), so our modules are compiled at every cold start; libraries come precompiled.
LAMBDA_ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "TABLE_NAME": TABLE_NAME,
    "IDEMPOTENCY_TABLE_NAME": IDEMPOTENCY_TABLE_NAME,
    "POWERTOOLS_SERVICE_NAME": "device-registry",
    "POWERTOOLS_METRICS_NAMESPACE": "DeviceRegistry",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    # infra/functions.py sets it on every route function: without it here, only our functions (the
    # floor has no pydantic) paid pydantic's scan of every installed distribution for plugins.
    "PYDANTIC_DISABLE_PLUGINS": "__all__",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONPATH": f"{ROOT / 'functions'}:{ROOT}",
}
_DROPPED = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB")

# The order of the route table, docs last.
ROUTE_NAMES = (
    "create_device",
    "list_devices",
    "get_device",
    "update_device",
    "delete_device",
    "get_status",
    "put_status",
    "list_history",
    "get_history_entry",
    "swagger",
)
# The cold start is measured for these too (no warm or peer figures): every other route function
# whose event needs no state that a run uses up (a credential to revoke, a deleted device).
COLD_ONLY_ROUTE_NAMES = (
    "create_devices",
    "device_stats",
    "revert_device",
    "diff_device",
    "report_statuses",
    "list_mac_holders",
    "list_ip_holders",
    "list_credentials",
    "get_own_device",
    "get_own_status",
    "put_own_status",
)
COLD_ROUTE_NAMES = ROUTE_NAMES[:-1] + COLD_ONLY_ROUTE_NAMES + ROUTE_NAMES[-1:]
BATCH_ITEMS = 10  # items per batch request (registrations, status reports)
EXPECTED_STATUS = {"create_device": 201, "delete_device": 204}
PAGE_DEVICES = 60  # more than a default page (50), so every list run answers a full page
HISTORY_ENTRIES = 60


def lambda_environment(endpoint: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED}
    env.update(LAMBDA_ENV)
    if endpoint:
        env["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
    return env


def use_lambda_environment(endpoint: str | None = None) -> None:
    """Make this process look like a function (call before importing registry modules)."""
    for name in _DROPPED:
        os.environ.pop(name, None)
    os.environ.update(lambda_environment(endpoint))


_macs = itertools.count(1)


def new_mac() -> str:
    n = next(_macs) + os.getpid() % 1000 * 1_000_000
    return ":".join(f"{(n >> shift) & 0xFF:02x}" for shift in (40, 32, 24, 16, 8, 0))


def device_body(**fields: Any) -> dict[str, Any]:
    return {
        "name": "Boiler room sensor",
        "device_type": "sensor",
        "mac_address": new_mac(),
        "ip_address": "192.0.2.10",
        "firmware_version": "1.4.2",
        "location": "Building A, boiler room",
        "attributes": {"floor": "B1", "vendor": "Acme"},
        **fields,
    }


@dataclass
class Seeded:
    device_id: str  # a device with a full page of history
    delete_pool: list[str]  # devices for delete runs, one per run
    fleet: list[str] = field(default_factory=list)  # a full page of devices (status reports)


def seed(service: Any, *, deletable: int) -> Seeded:
    """Through the real service: a full page of devices, one device with a full page of
    history, and ``deletable`` devices for the delete runs."""
    from registry.schemas import DeviceAttributes, StatusUpdate

    def register() -> str:
        return service.register(DeviceAttributes.model_validate(device_body()), "bench").id

    ids = [register() for _ in range(PAGE_DEVICES)]
    for n in range(HISTORY_ENTRIES - 1):
        update = StatusUpdate(status="online" if n % 2 == 0 else "offline", reason=f"report {n}")
        service.set_status(ids[0], update, expected=None, principal="bench")
    return Seeded(ids[0], [register() for _ in range(deletable)], ids)


class Events:
    """One API Gateway REST proxy event per route; write routes get a fresh target or body
    on every call so each run does the same amount of work."""

    def __init__(self, seeded: Seeded) -> None:
        self.seeded = seeded
        self._runs = itertools.count()

    def event(self, route_name: str) -> dict[str, Any]:
        from local.proxy_events import proxy_event
        from registry.http.routes import route_for

        route = route_for(route_name)
        n = next(self._runs)
        device = self.seeded.device_id
        path, query, headers, body = route.path, "", {}, None
        if route_name == "create_device":
            body = json.dumps(device_body())
            headers = {"Content-Type": "application/json"}
        elif route_name == "delete_device":
            device = self.seeded.delete_pool.pop()
        elif route_name == "update_device":
            body = json.dumps({"location": f"Building A, room {n}", "attributes": {"run": str(n)}})
            headers = {"Content-Type": "application/merge-patch+json"}
        elif route_name == "put_status":
            body = json.dumps({"status": "maintenance" if n % 2 else "online", "reason": f"run {n}"})
            headers = {"Content-Type": "application/json"}
        elif route_name == "list_devices":
            query = "limit=50"
        elif route_name == "list_history":
            query = "kind=status&limit=50"
        elif route_name == "swagger":
            query = "format=json"
        else:
            query, headers, body = self._cold_only(route_name, n)
        path = path.replace("{device_id}", device).replace("{revision}", "1")
        path = path.replace("{mac}", "02:00:00:00:00:01").replace("{ip}", "192.0.2.10")
        # A device route's authorizer names the device; the operator routes carry Cognito claims.
        authorizer = {"device_id": device, "credential_id": str(uuid.UUID(int=n))} if route.auth == "device" else None
        return proxy_event(
            route,
            path=path,
            path_parameters=route.match(path),
            query=query,
            headers=headers,
            body=body,
            authorizer=authorizer,
        )

    def _cold_only(self, route_name: str, n: int) -> tuple[str, dict[str, str], str | None]:
        """Query, headers and body of the routes measured for their cold start only."""
        json_body = {"Content-Type": "application/json"}
        status = "maintenance" if n % 2 else "online"
        if route_name == "create_devices":
            return "", json_body, json.dumps({"devices": [device_body() for _ in range(BATCH_ITEMS)]})
        if route_name == "report_statuses":
            reports = [{"device_id": device, "status": status} for device in self.seeded.fleet[:BATCH_ITEMS]]
            return "", json_body, json.dumps({"reports": reports})
        if route_name == "put_own_status":
            return "", json_body, json.dumps({"status": status, "reason": f"run {n}"})
        if route_name == "revert_device":
            return "", json_body, json.dumps({"to_revision": 1})
        if route_name == "diff_device":
            return "from=1", {}, None
        return "", {}, None


def expected_status(route_name: str) -> int:
    return EXPECTED_STATUS.get(route_name, 200)
