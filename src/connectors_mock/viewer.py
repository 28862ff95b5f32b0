"""Interactive docs of the two OpenAPI documents, by Swagger UI from the package: `/docs` for
the contract (`openapi.yaml`), `/_mock/docs` for the control API. The document is in the page
itself, and `static/docs.js` points "Try it out" at the server the page came from, so the
pages work wherever the fake runs, with the network unplugged.

`/docs` is no part of the contract: the fake adds it, as it adds `/`. Neither page needs the
admin token (the control API's document is public already); "Try it out" on `/_mock` does.
"""

from __future__ import annotations

from functools import cache
from html import escape
from typing import Any

import yaml
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from connectors_mock import resources
from connectors_mock.control import control_document
from connectors_mock.json_text import to_json_bytes
from connectors_mock.pages import ASSETS_PATH, CSP, html_page

# Swagger UI styles its elements by attribute as it renders them.
VIEWER_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
SWAGGER_UI = f"{ASSETS_PATH}/swagger-ui"


@cache
def contract_document() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(resources.spec_path().read_text(encoding="utf-8"))
    return document


def _embedded(document: dict[str, Any]) -> str:
    # As JSON inside a <script> element: `<` escaped, so no string in it can end the element.
    return to_json_bytes(document).decode("utf-8").replace("<", "\\u003c")


def viewer_page(title: str, current: str, document: dict[str, Any]) -> Response:
    if resources.viewer_dir() is None:
        body = (
            '<main class="narrow"><h1>The API docs were not built into this installation</h1>'
            "<p>Swagger UI is put into the package when it is built (with npm at hand: "
            "<code>hatch_build.py</code>). Read the document itself: "
            '<a href="/_mock/openapi.json">the control API\'s</a>, or the contract in the '
            '<a href="/_mock/guide/api/">guide</a>.</p></main>'
        )
        return html_page(title, body, current=current, status=404)
    head = (
        f'<link rel="stylesheet" href="{SWAGGER_UI}/swagger-ui.css">\n'
        f'<script type="application/json" id="openapi-document">{_embedded(document)}</script>\n'
        f'<script src="{SWAGGER_UI}/swagger-ui-bundle.js" defer></script>\n'
        f'<script src="{ASSETS_PATH}/docs.js" defer></script>'
    )
    body = f'<main class="viewer"><h1 class="sr-only">{escape(title)}</h1><div id="swagger-ui"></div></main>'
    return html_page(title, body, current=current, head=head, csp=VIEWER_CSP)


def viewer_routes() -> list[BaseRoute]:
    async def contract_docs(request: Request) -> Response:
        return viewer_page("API docs", "/docs", contract_document())

    async def control_docs(request: Request) -> Response:
        return viewer_page("Control API docs", "/_mock/docs", control_document())

    return [Route("/docs", contract_docs, methods=["GET"]), Route("/_mock/docs", control_docs, methods=["GET"])]
