"""Build the Starlette app from the spec: one route per path, one endpoint per operation,
errors turned into the error envelope in one place."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connectors_mock import resources
from connectors_mock.auth import tenant_key
from connectors_mock.clock import VirtualClock, manual_clock
from connectors_mock.control import control_routes
from connectors_mock.errors import ApiError
from connectors_mock.fixtures import load_seed_data
from connectors_mock.handlers import HANDLERS, Call, Handler
from connectors_mock.ids import IdSource, seeded_random
from connectors_mock.inputs import read_inputs
from connectors_mock.jobs import ScriptSource, default_script
from connectors_mock.oauth import OAuthFlows
from connectors_mock.responses import Envelope
from connectors_mock.spec import Operation, Spec, SpecMismatch, default_spec
from connectors_mock.state import Backend, Shared

logger = logging.getLogger("connectors_mock")

# Headers a browser front end on another origin must be allowed to read.
EXPOSED_HEADERS = ["X-Request-ID", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After"]


@dataclass(frozen=True)
class Settings:
    fixtures: Path | None = None
    seed: int | None = None
    api_keys: frozenset[str] | None = None
    # Without a seed, time is real; with one it stands still until advanced, so runs repeat.
    clock: VirtualClock | None = None
    handlers: Mapping[str, Handler] = field(default_factory=lambda: HANDLERS)
    sync_scripts: ScriptSource = default_script
    # Where browsers reach the fake (`http://localhost:8080`), for the consent page's URL;
    # without it, the address the request was sent to.
    public_url: str | None = None


def build_app(settings: Settings | None = None, spec: Spec | None = None) -> Starlette:
    settings = settings or Settings()
    spec = spec or default_spec()
    bound = spec.bind(settings.handlers)
    public = [operation.operation_id for operation, _ in bound if not operation.requires_auth]
    if public:
        # The bearer token is the tenant: an operation without one would have no state to act on.
        raise SpecMismatch(f"operations without bearer security: {', '.join(public)}")
    clock = settings.clock or (manual_clock() if settings.seed is not None else VirtualClock())
    seed_data = load_seed_data(settings.fixtures or resources.default_fixtures_path(), spec, clock.now(), settings.seed)
    flows = OAuthFlows(clock)
    shared = Shared(clock, spec.config_validators, spec.oauth_types, flows, settings.sync_scripts)
    backend = Backend(seed_data, shared, settings.seed)
    envelope = Envelope(clock, IdSource(seeded_random(settings.seed, "requests")))

    by_path: dict[str, dict[str, tuple[Operation, Handler]]] = {}
    for operation, handler in bound:
        by_path.setdefault(operation.path, {})[operation.method] = (operation, handler)

    def route_for(path: str, methods: Mapping[str, tuple[Operation, Handler]]) -> Route:
        async def endpoint(request: Request) -> Response:
            method = "GET" if request.method == "HEAD" else request.method
            operation, handler = methods[method]
            try:
                key = tenant_key(request.headers, settings.api_keys)
                inputs = await read_inputs(request, operation)
                # Only now: a request refused above must not leave a tenant behind.
                call = Call(operation.operation_id, backend.tenant(key), inputs, lambda: base_url(request))
                reply = handler(call)
            except ApiError:
                raise
            except Exception:
                # Answered here, inside the CORS middleware, so a browser can read even a 500.
                logger.exception(
                    "unexpected error in %s (request %s)", operation.operation_id, envelope.request_id(request)
                )
                return internal_error(request)
            return envelope.success(request, reply.status, reply.data)

        return Route(path, endpoint, methods=list(methods))

    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return envelope.error(request, exc)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 405:
            allowed = ", ".join(sorted((exc.headers or {}).get("Allow", "").split(", ")))
            error = ApiError(
                405,
                "invalid_request",
                f"Method {request.method} is not allowed on {request.url.path}; allowed: {allowed}",
                headers={"Allow": allowed},
            )
        elif exc.status_code == 404:
            error = ApiError(404, "not_found", f"No such endpoint: {request.method} {request.url.path}")
        else:
            error = ApiError(exc.status_code, "invalid_request", exc.detail)
        return envelope.error(request, error)

    def internal_error(request: Request) -> Response:
        request_id = envelope.request_id(request)
        error = ApiError(500, "internal_error", f"Internal error; quote request id {request_id} when reporting it")
        return envelope.error(request, error)

    async def unexpected_error(request: Request, exc: Exception) -> Response:
        return internal_error(request)

    # Literal segments must win over parameters (`/oauth/...` before `/{id}/...`).
    def base_url(request: Request) -> str:
        return settings.public_url or str(request.base_url).rstrip("/")

    routes = control_routes(clock, flows, envelope, base_url)
    routes += [route_for(path, by_path[path]) for path in sorted(by_path, key=lambda p: p.count("{"))]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=["*"],
                allow_methods=sorted({operation.method for operation, _ in bound}),
                allow_headers=["*"],
                expose_headers=EXPOSED_HEADERS,
                # A page served from the internet may call the fake on localhost (Chrome's
                # Private Network Access asks first).
                allow_private_network=True,
            )
        ],
        exception_handlers={ApiError: api_error, HTTPException: http_error, Exception: unexpected_error},
    )
    # `/v1/connectors/` is not in the contract: a 404, not a redirect built from the Host header.
    app.router.redirect_slashes = False
    app.state.backend = backend
    return app
