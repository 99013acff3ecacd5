"""Build the OpenAPI document of the whole API by merging each route function's own
(Powertools ``OpenAPIMerge``), in route-table order. ``make openapi`` commits its output;
the docs function serves the committed file and a test checks it is current.

What Powertools cannot say per route is added here, in :func:`complete`, from the declarations
that drive the API itself (the route table, the accepted body types, the header names): the
security scheme and each operation's scopes, API Gateway's own answers, PATCH's second body
type, header names in their registered spelling, and no unused schemas."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge
from aws_lambda_powertools.event_handler.openapi.models import OpenAPI

from registry.http import preconditions
from registry.http.headers import REQUEST_HEADERS
from registry.http.media import body_media_types
from registry.http.operation_docs import ETAG, RETRY_AFTER, headers, not_modified
from registry.http.params import IF_NONE_MATCH, IF_NONE_MATCH_PATTERN
from registry.http.problems import PROBLEM_JSON
from registry.http.routes import COGNITO, DEVICE, ROUTES, Route

HANDLERS = Path(__file__).resolve().parent.parent / "handlers"
TITLE = "Device Registry API"
VERSION = "1.0.0"
DESCRIPTION = (
    "A registry of networked devices: attributes, separately reported status, and the immutable "
    "history of every change. Errors are RFC 9457 problem documents (application/problem+json). "
    "In AWS every operator operation needs a Cognito access token with the operation's scope (client "
    "credentials), sent as `Authorization: Bearer <token>`; the local server needs none. The device "
    "operations (`/device`, `/device/status`) take a device credential instead, in AWS and locally: "
    "`Authorization: Device <credential_id>:<secret>` (see `POST /devices/{device_id}/credentials`)."
)
# The committed document names no deployment; in AWS the docs function puts the stack's Cognito
# token endpoint here (environment variable OAUTH_TOKEN_URL), so Swagger UI's Authorize works.
TOKEN_URL_PLACEHOLDER = "https://cognito-domain.invalid/oauth2/token"
OAUTH = "cognito"
BEARER = "bearer"
DEVICE_SCHEME = "device"
_SCOPE_MEANING = {
    "devices/read": "Read devices, their status and history",
    "devices/write": "Register, change and delete devices; report their status",
}
# API Gateway answers these itself, before any function runs (infra/gateway_problems.py).
_GATEWAY_ANSWERS = {
    401: "No valid access token (API Gateway's Cognito authorizer)",
    403: "The access token lacks this operation's scope",
}
_DEVICE_GATEWAY_ANSWERS = {
    401: "No valid device credential: wrong, revoked or malformed (the same answer whatever was wrong)",
}
_THROTTLED = {429: "Over the API's request rate (API Gateway throttling); retry after `Retry-After` seconds"}
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def build() -> str:
    merge = OpenAPIMerge(title=TITLE, version=VERSION, description=DESCRIPTION, on_conflict="error")
    for route in ROUTES:
        merge.add_file(HANDLERS / f"{route.handler}.py", "app")
    return json.dumps(complete(json.loads(merge.get_openapi_json_schema())), indent=2, ensure_ascii=False)


def complete(merged: dict[str, Any]) -> dict[str, Any]:
    """``merged`` (plain JSON) with what only the whole API knows."""
    document = copy.deepcopy(merged)
    for route in ROUTES:
        operation = document["paths"][route.path][route.method.lower()]
        _secure(operation, route)
        _gateway_answers(operation, route)
        _body_types(operation, route)
        _parameters(operation)
        _conditional(operation, route)
        operation["responses"] = dict(sorted(operation["responses"].items(), key=lambda item: int(item[0])))
    document.setdefault("components", {})["securitySchemes"] = security_schemes()
    _drop_unused_schemas(document)
    OpenAPI.model_validate(document)  # still a document Powertools (and so Swagger UI) can read
    return document


def security_schemes() -> dict[str, Any]:
    scopes = {scope: _SCOPE_MEANING[scope] for scope in sorted({route.scope for route in ROUTES if route.scope})}
    return {
        OAUTH: {
            "type": "oauth2",
            "description": "Cognito app client credentials, exchanged at the token endpoint for an access token",
            "flows": {"clientCredentials": {"tokenUrl": TOKEN_URL_PLACEHOLDER, "scopes": scopes}},
        },
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A Cognito access token carrying the operation's scope, obtained elsewhere",
        },
        # The whole header value, as an API key in the Authorization header: what generated clients
        # send as given (an http scheme named "Device" is not one they know).
        DEVICE_SCHEME: {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "A device credential, for the device operations only: the header's whole value is "
                "`Device <credential_id>:<secret>` (from `POST /devices/{device_id}/credentials`)."
            ),
        },
    }


def _secure(operation: dict[str, Any], route: Route) -> None:
    """Either Cognito scheme with the route's scope, or the device credential; ``[]``: public."""
    if route.auth == DEVICE:
        operation["security"] = [{DEVICE_SCHEME: []}]
    else:
        operation["security"] = [{OAUTH: [route.scope]}, {BEARER: [route.scope]}] if route.scope else []


def _gateway_answers(operation: dict[str, Any], route: Route) -> None:
    by_authorizer = {COGNITO: _GATEWAY_ANSWERS, DEVICE: _DEVICE_GATEWAY_ANSWERS}
    answers = {**(by_authorizer[route.auth] if route.auth else {}), **_THROTTLED}
    for status, description in answers.items():
        response: dict[str, Any] = {"description": description, "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}}}
        if status == 429:
            response["headers"] = headers(RETRY_AFTER)
        operation["responses"].setdefault(str(status), response)


def _body_types(operation: dict[str, Any], route: Route) -> None:
    """Every body type the guard accepts (Powertools declares one), with the same schema."""
    body = operation.get("requestBody")
    if body:
        schema = next(iter(body["content"].values()))
        body["content"] = {media_type: copy.deepcopy(schema) for media_type in body_media_types(route.method)}


def _parameters(operation: dict[str, Any]) -> None:
    """Header names as registered (Powertools lowers them; HTTP ignores case), and an optional
    parameter is absent or a value: "null" has no spelling in a query string or a header."""
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "header":
            parameter["name"] = next(name for name in REQUEST_HEADERS if name.lower() == parameter["name"].lower())
        schema = parameter["schema"]
        values = [option for option in schema.get("anyOf", []) if option != {"type": "null"}]
        if len(values) == 1 and len(schema["anyOf"]) == 2:
            del schema["anyOf"]
            parameter["schema"] = {**values[0], **schema}


# Read around the resolver (registry/http/edge.py, registry/http/guard.py), so declared here rather
# than by each handler.


def _conditional(operation: dict[str, Any], route: Route) -> None:
    """A GET answering an ``ETag`` takes ``If-None-Match`` and may answer 304 (registry/http/edge.py):
    both declared, so a generated client can send the header and expects the answer."""
    if route.method != "GET" or ETAG not in operation["responses"].get("200", {}).get("headers", {}):
        return
    operation["responses"].setdefault("304", not_modified()[304])
    problem = copy.deepcopy(operation["responses"]["422"])
    operation["responses"].setdefault("400", {**problem, "description": "Malformed header (If-None-Match)"})
    parameters = operation.setdefault("parameters", [])
    if not any(parameter["name"] == IF_NONE_MATCH for parameter in parameters):
        parameters.append(
            {
                "name": IF_NONE_MATCH,
                "in": "header",
                "required": False,
                "description": (
                    "Answer 304 with no body if the current `ETag` is one of these entity tags (or `*`); "
                    "a list that names none gets the full answer, a value that is no list of entity tags "
                    "(`0`, `3` unquoted) is 400."
                ),
                # The If-Match grammar (or nothing): each spelling is a cache key of its own (docs/caching.md).
                "schema": {"type": "string", "maxLength": preconditions.MAX_LENGTH, "pattern": IF_NONE_MATCH_PATTERN},
            }
        )


def _drop_unused_schemas(document: dict[str, Any]) -> None:
    """Keep the component schemas the operations reach (Powertools adds its own validation-error
    schemas, which these problem documents replace)."""
    schemas = document["components"].get("schemas", {})
    reached: set[str] = set()
    pending = [json.dumps(document["paths"])]
    while pending:
        text = pending.pop()
        for name in schemas:
            if name not in reached and f'"#/components/schemas/{name}"' in text:
                reached.add(name)
                pending.append(json.dumps(schemas[name]))
    document["components"]["schemas"] = {name: schema for name, schema in schemas.items() if name in reached}


if __name__ == "__main__":
    print(build())
