"""What every error answer must look like, through events and through HTTP alike."""

from __future__ import annotations

import json
from typing import Any

# Internal wording that must never reach a client.
LEAKS = (
    "Traceback",
    'File "',
    "DynamoDB",
    "dynamodb",
    "botocore",
    "boto3",
    "ClientError",
    "ConditionalCheck",
    "TransactWriteItems",
    "TransactionCanceled",
    "Exception",
    "pydantic",
    "errors.pydantic.dev",
)


def _parts(response: Any) -> tuple[int, dict[str, str], str]:
    if isinstance(response, dict):  # a Lambda proxy response from the `invoke` fixture
        return int(response["statusCode"]), response["headers"], response.get("body") or ""
    return response.status_code, dict(response.headers), response.text  # requests.Response


def assert_problem(response: Any, status: int, slug: str | None = None) -> dict[str, Any]:
    """An RFC 9457 problem document with this status (and type slug); returns it."""
    code, headers, text = _parts(response)
    assert code == status, text
    content_type = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    assert content_type.split(";")[0] == "application/problem+json", content_type
    problem = json.loads(text)
    assert problem["status"] == status
    assert problem["title"] and problem["detail"] and problem["type"]
    if slug is not None:
        assert problem["type"].rsplit(":", 1)[-1] == slug, problem
    assert set(problem) <= {"type", "title", "status", "detail", "instance", "errors"}
    for leak in LEAKS:
        assert leak not in text, f"{leak!r} leaked: {text}"
    return dict(problem)


def error_fields(problem: dict[str, Any]) -> dict[str, str]:
    """``errors`` as {field: message}; every entry must name a field and say what is wrong."""
    assert problem.get("errors"), problem
    assert all(set(entry) == {"field", "message"} and entry["message"] for entry in problem["errors"])
    return {entry["field"]: entry["message"] for entry in problem["errors"]}
