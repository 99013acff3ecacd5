"""Powertools' event handler package without the resolvers a route function does not use.

``aws_lambda_powertools/event_handler/__init__.py`` imports every resolver it offers (AppSync and
its ``asyncio``, AppSync events, Bedrock agents, VPC Lattice, Lambda function URLs, the HTTP
resolver), and Python runs a package's ``__init__`` before any of its submodules: importing
``APIGatewayRestResolver`` cost a route function all of them at its cold start (docs/performance.md).

:func:`install` (run by ``handlers/__init__.py``, before anything imports Powertools' event handler)
registers the package without running its ``__init__``; its submodules import as usual. A name
taken from the package itself is served from the submodule that defines it if it is one of
``SERVED`` (what our code and the Powertools modules a route loads take from the package); any
other name runs the package's own ``__init__`` first, so every name it exports still works, the
same objects. ``tests/unit/test_lazy_resolvers.py`` checks ``SERVED`` against the package."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

PACKAGE = "aws_lambda_powertools.event_handler"
# Name -> the submodule of PACKAGE that defines it (the package's __init__ re-exports it from there).
SERVED = {
    "APIGatewayRestResolver": "api_gateway",
    "ApiGatewayResolver": "api_gateway",
    "Response": "api_gateway",
    "CORSConfig": "api_gateway",
    "Depends": "depends",
    "DependencyResolutionError": "depends",
    "Request": "request",
}


def install() -> None:
    """Register the package lazily; nothing to do once it is imported (its ``__init__`` has run)."""
    if PACKAGE in sys.modules:
        return
    spec = importlib.util.find_spec(PACKAGE)  # imports aws_lambda_powertools, not the package
    if spec is None or spec.loader is None:
        return
    package = importlib.util.module_from_spec(spec)
    loader = spec.loader

    def __getattr__(name: str) -> Any:
        if name in SERVED:
            value = getattr(importlib.import_module(f"{PACKAGE}.{SERVED[name]}"), name)
            setattr(package, name, value)
            return value
        if name.startswith("__") or importlib.util.find_spec(f"{PACKAGE}.{name}") is not None:
            raise AttributeError(name)  # a submodule (the import system then loads it) or a dunder
        del package.__getattr__
        loader.exec_module(package)  # the package's own __init__: every resolver it exports
        return getattr(package, name)

    package.__getattr__ = __getattr__  # type: ignore[method-assign]
    sys.modules[PACKAGE] = package
    sys.modules["aws_lambda_powertools"].event_handler = package  # type: ignore[attr-defined]
