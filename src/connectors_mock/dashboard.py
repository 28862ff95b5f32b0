"""`GET /_mock/ui`: the dashboard, a page of plain HTML (`dashboard.html`) and one script
(`static/dashboard.js`) that reads `/_mock/events` and drives the control API. The page holds
no data, so it opens without the admin token, as the guide does; what it shows is read with
the token, which it asks for once and keeps for the tab (`sessionStorage`).
"""

from __future__ import annotations

from collections.abc import Collection
from functools import cache
from importlib import resources as package_resources

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from connectors_mock import __version__, resources
from connectors_mock.json_text import to_json_bytes
from connectors_mock.pages import ASSETS_PATH, html_page

UI_PATH = "/_mock/ui"


@cache
def _markup() -> str:
    return package_resources.files("connectors_mock").joinpath("dashboard.html").read_text("utf-8")


def dashboard_routes(operations: Collection[str], *, admin_token: bool) -> list[BaseRoute]:
    boot = {
        "version": __version__,
        "adminToken": admin_token,
        "examples": list(resources.example_scenarios()),
        "operations": sorted(operations),
    }
    # In a <script> element as JSON: `<` escaped, so no value can end the element.
    embedded = to_json_bytes(boot).decode("utf-8").replace("<", "\\u003c")
    head = (
        f'<script type="application/json" id="boot">{embedded}</script>\n'
        f'<script src="{ASSETS_PATH}/dashboard.js" defer></script>'
    )

    async def dashboard(request: Request) -> Response:
        return html_page("Dashboard", _markup(), current=UI_PATH, head=head)

    return [Route(UI_PATH, dashboard, methods=["GET"])]
