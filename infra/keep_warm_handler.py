"""The keep-warm function's code (infra/snapstart.py ships it inline): invokes each SnapStart
version (a qualified function ARN) its schedule names, asynchronously, with the keep-warm request, so that no published
version goes idle for Lambda's 14 days. A failed invocation fails the run, which EventBridge
retries."""

import json
from typing import Any

import boto3

LAMBDA = boto3.client("lambda")


def handler(event: dict[str, Any], _context: object) -> int:
    payload = json.dumps(event["request"]).encode()
    for name in event["functions"]:
        LAMBDA.invoke(FunctionName=name, InvocationType="Event", Payload=payload)
    return len(event["functions"])
