"""A route function's resolver: the route it serves (from the route table), the operation it
registers there (path, method and operationId from the table, so they are written once), and
problems rendered in one place."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from registry.http import problems
from registry.http.routes import Route, resolver_path, route_for

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


class RouteApp(APIGatewayRestResolver):
    """The resolver of one route function, built from its route in the route table."""

    def __init__(self, handler: str) -> None:
        super().__init__(enable_validation=True)
        self.route_served: Route = route_for(handler)
        problems.register(self)

    def operation(self, **operation: Any) -> Callable[[Any], Any]:
        """Register the route's function: path and method from the table, the handler's name as
        operationId (what generated clients call it), summaries and answers from ``operation``."""
        route = self.route_served
        return self.route(resolver_path(route.path), method=route.method, operation_id=route.handler, **operation)
