"""Schemathesis extension loaded by the contract fuzz (``SCHEMATHESIS_HOOKS``): two built-in
checks with the exceptions the document cannot express, each named and explained, and unique
``Idempotency-Key`` values for valid requests.

``positive_data_acceptance`` says a request the document calls valid gets a 2xx (or a 404/409).
These valid requests are refused by the state they meet, never by their shape:
- an unknown cursor: 400 ``invalid-cursor`` (opaque; only this API's own ``next_cursor`` exists);
- an ``If-Match`` naming another version: 412 (the document cannot know the current ETag);
- an ``Idempotency-Key`` already used with another body: 422 ``idempotency-key-reused``;
- a merge patch whose attributes, merged with the device's, pass 50 keys: 422 on ``attributes``;
- a timestamp query whose offset takes it before year 1 or past 9999 in UTC: 422 "out of range";
- an ``as_of`` time still to come: 422 on ``as_of`` (the document cannot know what time it is);
- a ``POST /jobs`` with no filter and no ``"all": true``: 422 on ``filter``. The document says it in
  words; as a schema ``anyOf`` it would make generated clients two request types of one body.
Besides, the coverage phase of schemathesis 4.32.5 labels a case positive although a header it
sends breaks the header's declared pattern (its header values are alphanumeric only, and
``If-Match`` needs quotes): such a request is not valid, so acceptance does not apply to it.

``use_after_free`` says nothing under a deleted resource answers 2xx. By contract a deleted
device's history stays readable ("nothing is lost"), so reads of ``/devices/{id}/history...``
are exempt, and so are the time-travel reads that contract v2 answers for deleted devices too (a
diff, and a device or its status ``as_of`` a time it existed); every other operation under the
device is still checked.

Restoring is what a deleted device is for: ``POST /devices/{id}/restore`` answers 200 for a
deleted device by contract, so it is exempt from ``use_after_free`` too. Its other answers need
no exception: restoring a live device is 409 ``device-not-deleted``, and a revert to a revision
that does not exist 404 (both among the answers acceptance allows a valid request).

The batch routes validate each item on its own (one bad item is its own 422, the others go
ahead), which no schema can say. ``negative_data_rejection`` expects a 4xx for any request that
breaks the schema: a batch whose only violations are inside its items is answered 200 instead,
and passes if every item that breaks the item schema is answered 422 in ``results``. And
``positive_data_acceptance`` meets one rule across items: a device reported twice in one
``POST /status-reports`` is 422 for the whole request (``reports.<n>.device_id`` "repeats ...").

Generated keys come from a tiny space ("0", "00", ...), so nearly every valid write would meet a
key already used with another body and be refused (422) before it reached the device. A valid
request keeps its generated key as a prefix and gets a unique suffix; replays and reuse are the
generated-client and integration tests' business."""

from __future__ import annotations

import json
import uuid
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import schemathesis
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance, use_after_free

DOCUMENT = Path(__file__).resolve().parents[2] / "functions" / "registry" / "openapi.json"
PROBLEM_TYPE = "tag:device-registry,2026:problem:"
MAX_ATTRIBUTES = 50
# Batch routes: path → the body's list of items, each validated on its own.
BATCH_ITEMS = {"/devices/batch": "devices", "/status-reports": "reports"}


@cache
def _header_validators(method: str, path: str) -> dict[str, Any]:
    operation = json.loads(DOCUMENT.read_text())["paths"].get(path, {}).get(method.lower(), {})
    return {
        parameter["name"].lower(): jsonschema_rs.validator_for(parameter["schema"])
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "header"
    }


def _sent_headers(response: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in response.request.headers.items()}


def _breaks_a_declared_header(response: Any, case: Any) -> bool:
    sent = _sent_headers(response)
    validators = _header_validators(case.method, case.path)
    return any(name in sent and not validator.is_valid(sent[name]) for name, validator in validators.items())


def _problem(response: Any) -> dict[str, Any]:
    try:
        body = json.loads(response.content)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _refused_by_state(response: Any, case: Any) -> bool:
    problem, sent = _problem(response), _sent_headers(response)
    kind = str(problem.get("type", "")).removeprefix(PROBLEM_TYPE)
    fields = {error.get("field") for error in problem.get("errors") or []}
    messages = " ".join(str(error.get("message")) for error in problem.get("errors") or [])
    status = response.status_code
    return (
        (status == 400 and kind == "invalid-cursor" and bool((case.query or {}).get("cursor")))
        or (status == 412 and kind == "precondition-failed" and "if-match" in sent)
        or (status == 422 and kind == "idempotency-key-reused" and "idempotency-key" in sent)
        or (status == 422 and case.method == "PATCH" and fields == {"attributes"} and f"{MAX_ATTRIBUTES}" in messages)
        or (status == 422 and bool(fields) and fields <= {"since", "until", "as_of"} and "out of range" in messages)
        or (status == 422 and fields == {"as_of"} and "future" in messages)
        or (status == 422 and case.path == "/jobs" and fields == {"filter"} and '"all": true' in messages)
    )


@cache
def _item_validator(path: str) -> Any:
    """The schema of one item of a batch route's body, its references resolved in the document."""
    document = json.loads(DOCUMENT.read_text())
    content = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    body = document["components"]["schemas"][content["$ref"].rsplit("/", 1)[1]]
    item = body["properties"][BATCH_ITEMS[path]]["items"]
    return jsonschema_rs.validator_for({**item, "components": document["components"]})


def _items_refused_one_by_one(response: Any, case: Any) -> bool:
    """A batch answered 200 whose schema violations are items, each of them answered 422."""
    key = BATCH_ITEMS.get(case.path)
    if key is None or response.status_code != 200 or not isinstance(case.body, dict):
        return False
    items, validator = case.body.get(key), _item_validator(case.path)
    results = json.loads(response.content).get("results", [])
    if not isinstance(items, list) or len(results) != len(items):
        return False
    invalid = [index for index, item in enumerate(items) if not validator.is_valid(item)]
    return bool(invalid) and all(results[index]["status"] == 422 for index in invalid)


def _device_reported_twice(response: Any, case: Any) -> bool:
    problem = _problem(response)
    errors = problem.get("errors") or []
    return (
        case.path == "/status-reports"
        and response.status_code == 422
        and bool(errors)
        and all(str(error.get("message", "")).startswith("repeats the device of") for error in errors)
    )


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    key = (case.headers or {}).get("Idempotency-Key")
    if isinstance(key, str) and case.meta is not None and case.meta.generation.mode.is_positive:
        case.headers["Idempotency-Key"] = f"{key[:200]}.{uuid.uuid4().hex}"


@schemathesis.check
def positive_data_acceptance_but_state(ctx: Any, response: Any, case: Any) -> bool | None:
    if _refused_by_state(response, case) or _breaks_a_declared_header(response, case):
        return None
    if _device_reported_twice(response, case):
        return None
    return positive_data_acceptance(ctx, response, case)


@schemathesis.check
def negative_data_rejection_but_batch_items(ctx: Any, response: Any, case: Any) -> bool | None:
    if _items_refused_one_by_one(response, case):
        return None
    return negative_data_rejection(ctx, response, case)


@schemathesis.check
def use_after_free_but_history(ctx: Any, response: Any, case: Any) -> bool | None:
    if case.path.startswith(("/devices/{device_id}/history", "/devices/{device_id}/diff")):
        return None
    if "as_of" in (case.query or {}):
        return None
    if case.path == "/devices/{device_id}/restore":
        return None
    return use_after_free(ctx, response, case)
