"""`GET /`: what a browser (or `curl`) pointed at the fake finds. A page for a browser, and a
small JSON document in the envelope for anyone else: what this server is, its version, its
clock, the scenarios active server-wide, and where the docs and the dashboard are.

With `--admin-token` the scenarios are not named here: reading them is `/_mock`'s, and wants
the token.
"""

from __future__ import annotations

from html import escape
from typing import Any

import mimeparse
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from connectors_mock import __version__
from connectors_mock.clock import VirtualClock, isoformat
from connectors_mock.pages import html_page
from connectors_mock.responses import Envelope
from connectors_mock.scenarios.engine import ScenarioLibrary

DESCRIPTION = (
    "A stateful, in-memory fake of the Connectors API: create, list, update and delete data source "
    "connectors, trigger syncs, connect OAuth sources. What you create you can read back; what you send "
    "wrong is refused as the real API refuses it."
)
LINKS = {
    "docs": ("/docs", "API docs", "the contract (openapi.yaml), with Try it out against this fake"),
    "controlDocs": ("/_mock/docs", "Control API docs", "/_mock: the clock, scenarios, the journal, state"),
    "dashboard": ("/_mock/ui", "Dashboard", "tenants, sync jobs and the request journal, live"),
    "guide": ("/_mock/guide/", "Guide", "how the fake behaves, scenarios, testing SDKs, the contract suite"),
    "controlOpenapi": ("/_mock/openapi.json", "Control API document", "the control API's OpenAPI document"),
}


def prefers_html(accept: str) -> bool:
    """Whether `Accept` ranks `text/html` above `application/json`: a browser does, `curl`
    (`*/*`) and a client asking for JSON do not. A header that cannot be read gets JSON."""
    try:
        # On a tie the last one listed wins, so `*/*` is JSON.
        return bool(mimeparse.best_match(["text/html", "application/json"], accept) == "text/html")
    except (mimeparse.MimeTypeParseException, ValueError):
        return False


def landing_routes(
    clock: VirtualClock, library: ScenarioLibrary, envelope: Envelope, admin_token: str | None
) -> list[BaseRoute]:
    def about() -> dict[str, Any]:
        active = None if admin_token else [s.name for s in library.loaded() if library.is_active(s.name)]
        return {
            "name": "connectors-mock",
            "version": __version__,
            "description": DESCRIPTION,
            "clock": {"mode": clock.mode, "speed": clock.speed, "now": isoformat(clock.now())},
            "activeScenarios": active,
            "links": {name: path for name, (path, _, _) in LINKS.items()},
        }

    async def landing(request: Request) -> Response:
        facts = about()
        if not prefers_html(request.headers.get("accept", "")):
            response = envelope.success(request, 200, facts)
        else:
            response = _page(facts, str(request.base_url).rstrip("/"))
        response.headers["Vary"] = "Accept"
        return response

    return [Route("/", landing, methods=["GET"])]


def _page(facts: dict[str, Any], base_url: str) -> Response:
    clock = facts["clock"]
    pace = f"real, {clock['speed']:g} times wall time" if clock["mode"] == "real" else "manual: it moves when advanced"
    active = facts["activeScenarios"]
    if active is None:
        scenarios = "not shown: this fake wants its admin token for that (<code>/_mock/scenarios</code>)"
    else:
        scenarios = ", ".join(f"<code>{escape(name)}</code>" for name in active) or "none: the fake behaves plainly"
    links = "".join(f'<li><a href="{path}">{label}</a>: {escape(what)}</li>' for path, label, what in LINKS.values())
    command = f"curl {base_url}/v1/connectors -H 'Authorization: Bearer my-key'"
    body = f"""<main class="narrow">
<h1>connectors-mock <span class="version">{escape(facts["version"])}</span></h1>
<p class="lead">{escape(DESCRIPTION)}</p>
<dl class="facts">
<dt>Clock</dt><dd>{pace}; now <time datetime="{clock["now"]}">{clock["now"]}</time></dd>
<dt>Active scenarios</dt><dd>{scenarios}</dd>
</dl>
<h2>Where to go</h2>
<ul class="links">{links}</ul>
<h2>Try it</h2>
<p>Any bearer key works, and each key has its own copy of the fixtures:</p>
<pre><code>{escape(command)}</code></pre>
<p class="note">Ask for <code>Accept: application/json</code> and this page is a JSON document.</p>
</main>"""
    return html_page("connectors-mock", body, current="/")
