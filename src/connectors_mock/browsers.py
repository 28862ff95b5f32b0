"""What a web page may do with the fake. A page on any origin may call the API, as a front end
under development does (CORS for every origin). `/_mock` is another matter: it resets the fake,
imports state, activates an outage, and shows every tenant's data, so a page a developer happens
to have open must not drive it. There:
- only the origins given with `--cors-origin` may read answers across origins;
- a request that changes something is refused when it comes from another origin (its `Origin`),
  or carries a body of a type any page can send without the browser asking first (a form, text):
  those are the requests a cross-site page can make blindly;
- the dashboard's stream, `/_mock/events`, is refused to another origin even to read
  (`cross_site_refusal`, called by `control.py`): its few places are for the fake's own pages.
The fake's own pages (the consent page, same origin) keep working. What this does not stop: a
page whose host name resolves to 127.0.0.1 (DNS rebinding) is same-origin with it; `--admin-token`
closes `/_mock` to anyone without the token.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from urllib.parse import urlsplit

from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connectors_mock.errors import ApiError
from connectors_mock.inputs import sent_headers
from connectors_mock.responses import Envelope

# Headers a browser front end on another origin must be allowed to read.
EXPOSED_HEADERS = ["X-Request-ID", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After"]
CONTROL_PREFIX = "/_mock/"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The body types a page may send to any origin without a preflight (the Fetch standard's).
SIMPLE_MEDIA_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"})
# The consent page's own form is one of them: its `Origin` check is what guards it.
FORM_PATH_SUFFIX = "/consent"


class CrossOrigin:
    """CORS for the API and for `/_mock`, and `/_mock`'s guard against cross-site changes."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        methods: Collection[str],
        control_origins: Collection[str],
        envelope: Envelope,
        public_url: str | None = None,
    ) -> None:
        self.app = app
        self.envelope = envelope
        self.control_origins = frozenset(control_origins)
        self.public_url = public_url
        self.api = _cors(app, ["*"], methods)
        self.control = _cors(app, sorted(control_origins), ["GET", "POST", "PUT", "DELETE"])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(CONTROL_PREFIX):
            if scope["type"] == "http" and "origin" not in sent_headers(scope):
                # No page asked: CORS adds only `Vary: Origin`, as Starlette's would (the API
                # answers every origin, so its answer varies by whether one asks).
                await self.app(scope, receive, _varying_by_origin(send))
                return
            await self.api(scope, receive, send)
            return
        refusal = None if scope["method"] in SAFE_METHODS else self._refusal(scope)
        if refusal is not None:
            await self.envelope.error(Request(scope), refusal)(scope, receive, send)
            return
        await self.control(scope, receive, send)

    def _refusal(self, scope: Scope) -> ApiError | None:
        headers = sent_headers(scope)
        refusal = cross_site_refusal(headers, self.control_origins, self.public_url)
        if refusal is not None:
            return refusal
        media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media_type in SIMPLE_MEDIA_TYPES and not (
            media_type == "application/x-www-form-urlencoded" and scope["path"].endswith(FORM_PATH_SUFFIX)
        ):
            return ApiError(
                415,
                "invalid_request",
                f"Content-Type {media_type} is refused under /_mock: any web page can send it unasked. "
                "Send JSON (application/json), or YAML (application/yaml) for a scenario",
            )
        return None


def cross_site_refusal(
    headers: Mapping[str, str],
    control_origins: Collection[str],
    public_url: str | None,
    what: str = "change this fake's state",
) -> ApiError | None:
    """The 403 for a request from a page on another origin (by its `Origin`), else None. A
    request without `Origin` is no page's: a browser sends one with every cross-origin request."""
    origin = headers.get("origin")
    if origin is None or _trusted(origin, headers, control_origins, public_url):
        return None
    return ApiError(
        403,
        "forbidden",
        f"Cross-site request refused: a page on {origin} may not {what} (allow its origin with --cors-origin)",
    )


def _trusted(origin: str, headers: Mapping[str, str], control_origins: Collection[str], public_url: str | None) -> bool:
    """The fake's own origin (as the request addressed it, or its --public-url), or one
    allowed with --cors-origin. `null` (a sandboxed page, a file) is none of them."""
    own = {f"http://{host}" for host in [headers.get("host")] if host}
    own |= {_origin(public_url)} if public_url else set()
    return origin in own or origin in control_origins


def _varying_by_origin(send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), (b"vary", b"Origin")]
        await send(message)

    return sending


def _cors(app: ASGIApp, origins: Collection[str], methods: Collection[str]) -> CORSMiddleware:
    return CORSMiddleware(
        app,
        allow_origins=origins,
        allow_methods=methods,
        allow_headers=["*"],
        expose_headers=EXPOSED_HEADERS,
        # A page served from the internet may call the fake on localhost (Chrome's Private
        # Network Access asks first).
        allow_private_network=True,
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
