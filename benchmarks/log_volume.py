"""What a request writes to CloudWatch Logs at each log level: the bytes a function's handler
prints (Powertools' log lines and its EMF metrics), measured for a mix of requests (a
registration, reads, status reports) with each level in a fresh interpreter (Powertools reads the
level at import), on moto; Lambda's own START/END/REPORT lines, in their format; and the API's
access log line, rendered from infra/api.py's format with typical values. docs/cost.md prices the
sum (benchmarks/bill.py ``Workload.log_bytes``).

    .venv/bin/python -m benchmarks.log_volume          # bytes per request at INFO and DEBUG"""

from __future__ import annotations

import json
import os
import subprocess
import sys

LEVELS = ("INFO", "DEBUG")
REQUESTS = 60  # a registration, then reads and status reports in turn

_CHILD = """
import json, os, sys
os.environ.update(AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION="us-east-1",
                  TABLE_NAME="devices", IDEMPOTENCY_TABLE_NAME="idempotency", ANONYMOUS_PRINCIPAL="bench",
                  POWERTOOLS_SERVICE_NAME="device-registry", POWERTOOLS_METRICS_NAMESPACE="DeviceRegistry")
import boto3
from moto import mock_aws
from benchmarks.fixtures import device_body
from local.proxy_events import LambdaContext, proxy_event
from registry.storage import keys as table
from registry.http.routes import route_for
import importlib

def call(handler, body=None, path_parameters=None):
    route = route_for(handler)
    path = route.path.replace("{device_id}", (path_parameters or {}).get("device_id", ""))
    event = proxy_event(route, path=path, path_parameters=path_parameters or {}, query="",
                        headers={"Content-Type": "application/json"} if body is not None else {},
                        body=json.dumps(body) if body is not None else None, claims=None, authorizer=None)
    return importlib.import_module(f"handlers.{handler}").lambda_handler(event, LambdaContext())

with mock_aws():
    client = boto3.client("dynamodb")
    client.create_table(**table.create_table_request("devices"))
    client.create_table(**table.create_idempotency_table_request("idempotency"))
    # Everything the handlers print goes to stdout, as in Lambda; the parent counts it.
    answers = [call("create_device", device_body())]
    ids = {"device_id": json.loads(answers[0]["body"])["id"]}
    for n in range(1, int(sys.argv[1])):
        if n % 2:
            answers.append(call("get_device", path_parameters=ids))
        else:
            answers.append(call("put_status", {"status": "online" if n % 4 else "offline"}, path_parameters=ids))
    sys.stdout.flush()
    print(json.dumps(sorted({a["statusCode"] for a in answers})), file=sys.stderr)
"""


def bytes_per_request(level: str, requests: int = REQUESTS) -> float:
    env = {**os.environ, "POWERTOOLS_LOG_LEVEL": level}
    run = subprocess.run([sys.executable, "-c", _CHILD, str(requests)], env=env, capture_output=True, check=True)
    statuses = json.loads(run.stderr.decode().strip().splitlines()[-1])
    if any(status >= 400 for status in statuses):
        raise RuntimeError(f"a measured request failed: {statuses}")
    return len(run.stdout) / requests


REQUEST_ID = "8f5c2b1e-3d4a-4f6b-9c7d-2a1b0c9d8e7f"


def platform_bytes() -> int:
    """Lambda's lines for one invocation (text format), with typical figures."""
    lines = [
        f"START RequestId: {REQUEST_ID} Version: 12\n",
        f"END RequestId: {REQUEST_ID}\n",
        f"REPORT RequestId: {REQUEST_ID}\tDuration: 23.45 ms\tBilled Duration: 24 ms\tMemory Size: 512 MB\t"
        "Max Memory Used: 98 MB\t\n",
    ]
    return sum(len(line.encode()) for line in lines)


def access_log_bytes() -> int:
    """The stage's access log line for a typical operator request."""
    from infra.api import ACCESS_LOG_FORMAT

    values = {
        "$context.requestId": REQUEST_ID,
        "$context.extendedRequestId": "Q2xvdWRGcm9udA=",
        "$context.requestTime": "06/Dec/2026:22:41:07 +0000",
        "$context.identity.sourceIp": "203.0.113.45",
        "$context.identity.userAgent": "registry-cli/1.0 python-httpx/0.27",
        "$context.httpMethod": "PUT",
        "$context.resourcePath": "/devices/{device_id}/status",
        "$context.path": "/prod/devices/boiler-room-sensor/status",
        "$context.protocol": "HTTP/1.1",
        "$context.status": "200",
        "$context.responseLength": "213",
        "$context.responseLatency": "41",
        "$context.integration.status": "200",
        "$context.integration.latency": "38",
        "$context.error.responseType": "-",
        "$context.error.message": "-",
        "$context.authorizer.claims.client_id": "4h2k9s0d1f3g5j7l8q6w2e4r6t",
        "$context.authorizer.principalId": "-",
        "$context.authorizer.claims.scope": "devices/read devices/write",
        "$context.xrayTraceId": "Root=1-6753a1b3-4f2e8d9c0b1a2f3e4d5c6b7a",
    }
    line = ACCESS_LOG_FORMAT
    for variable in sorted(values, key=len, reverse=True):  # longest first: some are prefixes of others
        line = line.replace(variable, values[variable])
    return len(line.encode()) + 1


def main() -> int:
    print(f"Lambda's own lines: {platform_bytes()} bytes an invocation")
    print(f"the access log line: {access_log_bytes()} bytes a request")
    for level in LEVELS:
        print(f"{level}: {bytes_per_request(level):,.0f} bytes a request from the handler")
    return 0


if __name__ == "__main__":
    sys.exit(main())
