"""``Idempotency-Key`` for write routes, on the Powertools idempotency utility.

A request with a key runs once; a retry with the same key, route, caller, JSON body and
``If-Match`` gets the first answer again (marked ``Idempotent-Replayed: true``) and changes
nothing. The same key with another body or ``If-Match`` is a 422; a retry while the first is
still running is a 409. Only successful answers are kept: after a 4xx or 5xx, which changed
nothing, a retry runs again."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from registry.clients import dynamodb_client
from registry.domain.errors import (
    IdempotencyInProgress,
    IdempotencyKeyReused,
    InvalidHeader,
    RegistryError,
    ServiceUnavailable,
)
from registry.domain.values import canonical_uuid
from registry.http import problems
from registry.http.app import Handler, RouteApp
from registry.http.headers import IDEMPOTENCY_KEY, IF_MATCH
from registry.http.identity import caller
from registry.http.params import IDEMPOTENCY_KEY_PATTERN
from registry.settings import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

logger = Logger(child=True)
_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)


class _NotKept(Exception):
    """An unsuccessful answer: returned to the client, not stored for replays."""

    def __init__(self, response: dict[str, Any]) -> None:
        super().__init__(response.get("statusCode"))
        self.response = response


def _mark_replayed(response: Any, idempotent_data: DataRecord) -> Any:
    response.setdefault("headers", {})["Idempotent-Replayed"] = "true"
    return response


def _header(event: dict[str, Any], name: str) -> str | None:
    """One line per declared header by now (registry.http.guard combines repeated lines)."""
    values = [str(value) for key, value in (event.get("headers") or {}).items() if key.lower() == name.lower()]
    return values[0] if values else None


def _canonical_path(path: str | None) -> str | None:
    """The path as the route reads it: every id in it (device and credential ids are UUIDs, case
    insensitive) lowercased, so a device id in capitals and in lowercase are one key's
    one request and another body under the same key is a 422, not a second write."""
    if path is None:
        return None
    return "/".join(_lowercased_uuid(segment) for segment in path.split("/"))


def _lowercased_uuid(segment: str) -> str:
    try:
        return canonical_uuid(segment)
    except ValueError:  # not an id: a fixed part of the route, as the route matched it
        return segment


def _key(event: dict[str, Any]) -> str | None:
    key = _header(event, IDEMPOTENCY_KEY)
    if key is not None and not _KEY.fullmatch(key):
        raise InvalidHeader("Idempotency-Key must be 1-255 visible ASCII characters.")
    return key


@cache
def _runner(handler: str, app: APIGatewayRestResolver) -> Any:
    # Loaded by the first request that carries a key: the utility (and the boto3 it imports) is
    # not part of a write function's cold start (docs/performance.md).
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    settings = get_settings()
    persistence = DynamoDBPersistenceLayer(table_name=settings.idempotency_table_name, boto3_client=dynamodb_client())
    config = IdempotencyConfig(
        event_key_jmespath="[method, path, caller, key]",
        payload_validation_jmespath="[body, if_match]",
        expires_after_seconds=settings.idempotency_ttl_seconds,
        response_hook=_mark_replayed,
    )

    @idempotent_function(
        data_keyword_argument="request", persistence_store=persistence, config=config, key_prefix=handler
    )
    def run(
        *, request: dict[str, Any], event: dict[str, Any], context: Any, answered: list[dict[str, Any]]
    ) -> dict[str, Any]:
        response = app.resolve(event, context)
        answered.append(response)
        if not 200 <= int(response.get("statusCode", 500)) < 300:
            raise _NotKept(response)
        return response

    return run, config


def idempotent(app: RouteApp) -> Handler:
    """``app.resolve`` made safe to retry: a request with a key runs once, its retries replay it."""
    handler = app.route_served.handler

    def resolve_once(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            key = _key(event)
            if key is None:
                return app.resolve(event, context)
        except RegistryError as error:
            return problems.error_proxy_response(error)
        return _resolve_keyed(app, handler, key, event, context)

    return resolve_once


def _resolve_keyed(app: RouteApp, handler: str, key: str, event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A request with a key: run once, or replay the answer its first run kept."""
    from aws_lambda_powertools.utilities.idempotency.exceptions import BaseError as IdempotencyError
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyPersistenceLayerError,
        IdempotencyValidationError,
    )

    answered: list[dict[str, Any]] = []
    try:
        run, config = _runner(handler, app)
        config.register_lambda_context(context)
        request = {
            "key": key,
            "method": event.get("httpMethod"),
            "path": _canonical_path(event.get("path")),
            "caller": caller(event),
            "body": json.loads(event.get("body") or "null"),
            # A retry is the same request: same body and same precondition. Another If-Match
            # (a malformed one included) is another request, not a replay of the first.
            "if_match": _header(event, IF_MATCH),
        }
        return dict(run(request=request, event=event, context=context, answered=answered))
    except _NotKept as answer:
        return answer.response
    except IdempotencyValidationError:
        error: RegistryError = IdempotencyKeyReused(
            "This Idempotency-Key was already used with a different request body or If-Match; use a new key."
        )
    except IdempotencyAlreadyInProgressError:
        error = IdempotencyInProgress("A request with this Idempotency-Key is still in progress; retry shortly.")
    except (IdempotencyPersistenceLayerError, IdempotencyError):
        if answered:
            # The request ran; only recording its outcome under the key failed. Its answer is
            # the truth (a 503 would have the client retry a write already done); the key
            # stays "in progress" until it expires.
            logger.warning("idempotency record not updated", extra={"status": answered[0].get("statusCode")})
            return answered[0]
        error = ServiceUnavailable("The idempotency store is busy or unreachable; retry shortly.")
    except RegistryError as raised:
        error = raised
    return problems.error_proxy_response(error)
