"""The pages that stand in for an OAuth provider under `/_mock/oauth`: a consent page, and a
default page to return to. A browser opens them, with no API key and no admin token, so the
OAuth state is all they go on."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from html import escape
from string import Template
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from connectors_mock.clock import isoformat
from connectors_mock.errors import ApiError
from connectors_mock.inputs import read_limited
from connectors_mock.oauth import CALLBACK_PATH, OAuthFlow, OAuthFlows, consent_path, provider_name

DECISIONS = ("approve", "deny")
FORM = "application/x-www-form-urlencoded"

PAGE = Template("""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title · connectors-mock</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 36rem; margin: 4rem auto; padding: 0 1rem; color: #222; }
main { border: 1px solid #ddd; border-radius: 8px; padding: 1.5rem; }
button { font-size: 1rem; padding: .5rem 1.25rem; margin-right: .5rem; border-radius: 4px; border: 1px solid #888; }
button[value=approve] { background: #1a73e8; border-color: #1a73e8; color: #fff; }
pre { background: #f4f4f4; padding: .75rem; white-space: pre-wrap; word-break: break-all; }
.note { color: #666; font-size: .85rem; }
</style>
</head>
<body>
<main>
<h1>$title</h1>
$body
</main>
</body>
</html>
""")


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    """`body` is HTML: every value in it must have been escaped."""
    return HTMLResponse(PAGE.substitute(title=escape(title), body=body), status_code=status)


def error_page(error: ApiError) -> HTMLResponse:
    body = f"<p>{escape(error.message)}</p><p class=note>code: {error.code}</p>"
    return page("Authorization failed", body, error.status)


def consent_page(flow: OAuthFlow) -> HTMLResponse:
    provider = escape(provider_name(flow.connector_type))
    target = ""
    if flow.name or flow.collection:
        target = f" as <strong>{escape(flow.name or provider)}</strong>"
        if flow.collection:
            target += f" in <strong>{escape(flow.collection)}</strong>"
    # The action is relative, as the page's own URL is, so it holds behind a path prefix too.
    body = f"""<p>An application asks to read your {provider} content{target}.</p>
<form method="post" action="consent">
<input type="hidden" name="state" value="{escape(flow.state)}">
<button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>
<p class=note>connectors-mock stands in for {provider} here. Either answer returns you to
<code>{escape(flow.redirect_uri)}</code>. This request expires at {isoformat(flow.expires_at)}.</p>"""
    return page(f"Connect {provider_name(flow.connector_type)}", body)


def returned_flow(flows: OAuthFlows, state: str) -> OAuthFlow:
    """The flow the callback page may show, or why not. A flow that returns elsewhere is not
    shown: its code is for its own `redirect_uri` alone."""
    if not state:
        raise ApiError(400, "missing_parameter", "state: required, as the redirect carries it")
    flow = flows.find(state)
    if flow is None or not flow.returns_to_the_fake:
        raise ApiError(404, "invalid_state", f'No authorization returning here has the state "{state}"')
    if flow.status != "used" and flows.expired(flow):
        raise ApiError(400, "state_expired", "This authorization expired; start again with authorizeOAuth")
    if flow.status == "pending":
        raise ApiError(409, "invalid_grant", "This authorization has not been answered yet")
    return flow


def callback_page(flow: OAuthFlow, api_url: str) -> HTMLResponse:
    """Where consent returns to when the caller named no `redirect_uri`: the outcome, from the
    flow itself (not the query, which anyone can write), and the call that finishes it."""
    if flow.status == "denied":
        return page("Access denied", "<p>Access was denied; <code>completeOAuth</code> will answer access_denied.</p>")
    if flow.status == "used":
        return page("Connected", "<p>This authorization has completed its flow: its connector exists.</p>")
    # A flow restored from a saved state keeps only its code's digest: the code is in the
    # address bar, where the browser was sent before the restart.
    code = flow.code or "the code in this page's address"
    body = {"code": code, "state": flow.state}
    if flow.collection is None:
        body["collection"] = "col_..."
    command = shlex.join(
        [
            *("curl", "-s", "-X", "POST", f"{api_url}/v1/connectors/oauth/{flow.connector_type}/callback"),
            *("-H", "Authorization: Bearer YOUR_API_KEY", "-H", "Content-Type: application/json"),
            *("-d", json.dumps(body)),
        ]
    )
    html = f"""<p>Access granted. Before {isoformat(flow.expires_at)}, finish by calling <code>completeOAuth</code>:</p>
<pre>{escape(command)}</pre>
<p class=note>Use the API key that called <code>authorizeOAuth</code>: a state belongs to that key (and team).
code <code>{escape(code)}</code>, state <code>{escape(flow.state)}</code></p>"""
    return page("Access granted", html)


def _bad_decision(request: Request, decision: str | None) -> str:
    if decision is not None:
        return f'decision: must be "approve" or "deny", not "{decision}"'
    if request.method == "POST" and not request.headers.get("content-type", "").startswith(FORM):
        return f"decision: missing; the consent form is sent as {FORM}"
    return 'decision: missing; it must be "approve" or "deny"'


def consent_routes(
    flows: OAuthFlows, base_url: Callable[[Request], str], answered: Callable[[], None] = lambda: None
) -> list[BaseRoute]:
    """`answered` is told when the user approves or denies, so a dashboard shows it at once."""

    async def consent(request: Request) -> Response:
        connector_type = request.path_params["type"]
        if request.method == "POST":
            form = parse_qs((await read_limited(request)).decode("utf-8", "replace"))
            answer = {key: values[-1] for key, values in form.items()}
        else:
            answer = dict(request.query_params)
        state, decision = answer.get("state", ""), answer.get("decision")
        try:
            # A HEAD (a link preview, a prefetch) only looks: it must not answer for the user.
            if request.method == "HEAD":
                return consent_page(flows.awaiting(connector_type, state))
            if decision not in DECISIONS and (decision is not None or request.method == "POST"):
                raise ApiError(400, "invalid_parameter", _bad_decision(request, decision))
            flow = flows.awaiting(connector_type, state)
            if flow.consent != "ask":
                # A scenario answers for the user (oauth.consent), whatever was clicked.
                decision = flow.consent
            elif decision is None:
                return consent_page(flow)
            flow = flows.decide(connector_type, state, approve=decision == "approve")
            answered()
        except ApiError as error:
            return error_page(error)
        return RedirectResponse(flow.redirect_url(), status_code=303)

    async def callback(request: Request) -> Response:
        try:
            flow = returned_flow(flows, request.query_params.get("state", ""))
        except ApiError as error:
            return error_page(error)
        return callback_page(flow, base_url(request))

    return [
        Route(CALLBACK_PATH, callback, methods=["GET"]),
        Route(consent_path("{type}"), consent, methods=["GET", "POST"]),
    ]
