"""Build the OpenAPI document of the whole API by merging each route function's own
(Powertools ``OpenAPIMerge``), in route-table order. ``make openapi`` commits its output;
the docs function serves the committed file and a test checks it is current."""

from __future__ import annotations

from pathlib import Path

from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge

from registry.routes import ROUTES

HANDLERS = Path(__file__).resolve().parent.parent / "handlers"
TITLE = "Device Registry API"
VERSION = "1.0.0"
DESCRIPTION = (
    "A registry of networked devices: attributes, separately reported status, and the immutable "
    "history of every change. Errors are RFC 9457 problem documents (application/problem+json)."
)


def build() -> str:
    merge = OpenAPIMerge(title=TITLE, version=VERSION, description=DESCRIPTION, on_conflict="error")
    for route in ROUTES:
        merge.add_file(HANDLERS / f"{route.handler}.py", "app")
    return merge.get_openapi_json_schema()


if __name__ == "__main__":
    print(build())
