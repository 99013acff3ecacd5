"""GET /swagger — Swagger UI; ``?format=json`` answers the OpenAPI document.

Serves the committed document (``registry/openapi.json``) instead of rebuilding it from every
route at cold start; a test keeps the file equal to what the handlers generate. In AWS its
OAuth2 token endpoint is the stack's (``OAUTH_TOKEN_URL``), so Swagger UI's Authorize gets a
token with client credentials; the page and its assets come from this function alone."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from registry.http.app import RouteApp
from registry.http.lambda_entry import entry
from registry.http.operation_docs import errors
from registry.settings import get_docs_settings

DOCUMENT = Path(__file__).resolve().parent.parent / "registry" / "openapi.json"

app = RouteApp("swagger")


@cache
def _document() -> str:
    text = DOCUMENT.read_text(encoding="utf-8")
    token_url = get_docs_settings().oauth_token_url
    return text if token_url is None else with_token_url(text, token_url)


def with_token_url(text: str, token_url: str) -> str:
    """The document with the deployment's token endpoint in place of the committed placeholder."""
    document = json.loads(text)
    for scheme in document.get("components", {}).get("securitySchemes", {}).values():
        for flow in scheme.get("flows", {}).values():
            if "tokenUrl" in flow:
                flow["tokenUrl"] = token_url
    return json.dumps(document, indent=2, ensure_ascii=False)


@cache
def _page() -> str:
    from aws_lambda_powertools.event_handler.openapi import swagger_ui
    from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html

    assets = Path(swagger_ui.__file__).parent
    script = (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8")
    style = (assets / "swagger-ui.min.css").read_text(encoding="utf-8")
    return generate_swagger_html(_document(), script, style, "", None)


@app.operation(
    summary="API documentation (Swagger UI, or this document with format=json)",
    responses={
        200: {
            "description": "The Swagger UI page, or with `format=json` the OpenAPI document",
            "content": {
                "text/html": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "object"}},
            },
        },
        422: errors(422)[422],
    },
    tags=["docs"],
)
def swagger(format: Annotated[Literal["html", "json"], Query()] = "html") -> Response[str]:
    if format == "json":
        return Response(200, "application/json", _document(), {"Cache-Control": "public, max-age=300"})
    return Response(200, "text/html; charset=utf-8", _page(), {"Cache-Control": "public, max-age=300"})


lambda_handler = entry(app)
