"""What the fake's own pages for people share (the landing page, the API docs, the dashboard):
their frame, with the links between them, their static files under `/_mock/assets`, and the
Content-Security-Policy that keeps a page from loading anything from another host.

`/` and `/docs` are outside `/_mock` but are no part of the contract: the scenario middleware
neither journals them nor lets a scenario's faults reach them (`PAGE_PATHS`).
"""

from __future__ import annotations

from html import escape

from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from connectors_mock import resources

PAGE_PATHS = frozenset({"/", "/docs"})
ASSETS_PATH = "/_mock/assets"
# Nothing from another host, ever: no fonts, logos or validators. `connect-src 'self'` is what
# lets the dashboard and "Try it out" reach this fake, and nothing else.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
CURRENT = ' aria-current="page"'
NAV = (
    ("/", "Home"),
    ("/docs", "API docs"),
    ("/_mock/docs", "Control API docs"),
    ("/_mock/ui", "Dashboard"),
    ("/_mock/guide/", "Guide"),
)


def nav(current: str) -> str:
    links = "".join(f'<li><a href="{path}"{CURRENT if path == current else ""}>{label}</a></li>' for path, label in NAV)
    return (
        '<header class="bar"><a class="brand" href="/">connectors-mock</a>'
        f'<nav aria-label="Pages"><ul>{links}</ul></nav></header>'
    )


def html_page(
    title: str, body: str, *, current: str, head: str = "", status: int = 200, csp: str = CSP
) -> HTMLResponse:
    """A page in the fake's frame. `body` and `head` are HTML: every value in them must have
    been escaped."""
    document = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} · connectors-mock</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{ASSETS_PATH}/page.css">
{head}
</head>
<body>
{nav(current)}
{body}
</body>
</html>
"""
    headers = {"Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
    return HTMLResponse(document, status_code=status, headers=headers)


def asset_routes() -> list[BaseRoute]:
    """The pages' own files, and Swagger UI's when the build put it in (`hatch_build.py`).
    Open without the admin token, as the guide is: they hold no data."""
    routes: list[BaseRoute] = []
    viewer = resources.viewer_dir()
    if viewer is not None:
        routes.append(Mount(f"{ASSETS_PATH}/swagger-ui", StaticFiles(directory=viewer)))
    routes.append(Mount(ASSETS_PATH, StaticFiles(directory=resources.static_dir())))
    return routes
