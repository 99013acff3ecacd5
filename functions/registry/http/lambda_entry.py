"""The Lambda entry point of a route function, built from its route in the route table: structured
logs carrying the API Gateway request id as correlation id, the HTTP edge (``HEAD``, ``304``,
CORS, the path as the route knows it: registry/http/edge.py), the request guard, idempotency for
writes (``Idempotency-Key``), the resolver, metrics flushed once per invocation, and the end of
the cold start (the collector paused while ``handlers`` imported is resumed)."""

from __future__ import annotations

import gc
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths

from registry import metrics
from registry.domain.errors import RegistryError
from registry.http import edge, problems
from registry.http.app import Handler, RouteApp
from registry.http.guard import guard

logger = Logger()


def entry(app: RouteApp) -> Handler:
    """``lambda_handler`` for ``app``'s route."""
    route = app.route_served
    if route.is_write and route.idempotent:
        from registry.http.idempotency import idempotent  # reads never load the idempotency utility

        resolve: Handler = idempotent(app)
    else:
        resolve = app.resolve

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            checked = guard(edge.request(event, route), route.query, route.max_body_bytes)
        except RegistryError as error:
            return edge.response(event, problems.error_proxy_response(error))
        try:
            return edge.response(event, dict(resolve(checked, context)))
        finally:
            metrics.flush()

    _end_cold_start()
    return lambda_handler


def _end_cold_start() -> None:
    """Resume the collector that importing ``handlers`` paused. What the import allocated lives
    as long as the container, so it is frozen out of every later collection."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()
