"""Build the Starlette app from the spec: one route per path, one endpoint per operation,
errors turned into the error envelope in one place."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from connectors_mock import resources
from connectors_mock.auth import tenant_key, tenant_label
from connectors_mock.browsers import CrossOrigin
from connectors_mock.clock import MANUAL_EPOCH, ClockMode, VirtualClock
from connectors_mock.consent import consent_routes
from connectors_mock.control import Control, control_routes
from connectors_mock.dashboard import dashboard_routes
from connectors_mock.errors import ApiError
from connectors_mock.fixtures import load_seed_data
from connectors_mock.guide import guide_routes
from connectors_mock.handlers import HANDLERS, Call, Handler
from connectors_mock.inputs import read_inputs, sent_headers
from connectors_mock.jobs import ScriptSource, default_script
from connectors_mock.journal import DEFAULT_CAPACITY, Journal, JournalEvent
from connectors_mock.landing import landing_routes
from connectors_mock.oauth import OAuthFlows
from connectors_mock.pages import asset_routes
from connectors_mock.persistence import StateKeeper, read_state_file, restore_clock
from connectors_mock.responses import TENANT_SCOPE_KEY, Envelope
from connectors_mock.scenarios.engine import EMPTY_VIEW, ScenarioLibrary
from connectors_mock.scenarios.middleware import (
    DISCONNECTED_SCOPE_KEY,
    VIEW_SCOPE_KEY,
    OperationRouter,
    ScenarioMiddleware,
)
from connectors_mock.scenarios.model import RateLimit, Scenario
from connectors_mock.scenarios.rate_limit import DEFAULT_PLAN
from connectors_mock.spec import Operation, Spec, SpecMismatch, default_spec
from connectors_mock.state import Backend, Shared
from connectors_mock.tenancy import DEFAULT_MAX_TENANTS, TenantRoster
from connectors_mock.viewer import viewer_routes
from connectors_mock.watching import FileWatcher, Watched

logger = logging.getLogger("connectors_mock")
Lifespan = Callable[[Starlette], AbstractAsyncContextManager[None]]


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
    # Active server-wide from the start, later ones winning where they overlap (`--scenario`).
    scenarios: tuple[Scenario, ...] = ()
    # When set, `/_mock` (but its OAuth pages) wants it in `X-Mock-Admin-Token`.
    admin_token: str | None = None
    journal_size: int = DEFAULT_CAPACITY
    # Past this many tenants, the least recently seen is forgotten (`tenancy.py`).
    max_tenants: int = DEFAULT_MAX_TENANTS
    # Origins whose pages may read `/_mock` and change the fake's state (`browsers.py`).
    cors_origins: tuple[str, ...] = ()
    # The rate limit every API response reports (`X-RateLimit-*`), and enforces only when
    # it says so; None reports none. A scenario's `rate_limit` takes over where it applies.
    rate_limit: RateLimit | None = DEFAULT_PLAN
    # Read at start when it exists, written while serving (`persistence.py`).
    state_file: Path | None = None
    # Follow the fixture file and the scenarios' files on disk (`watching.py`).
    watch: bool = False


def startup_seed(seed: int | None, scenarios: tuple[Scenario, ...]) -> int | None:
    """`--seed`, else the last scenario's that has one."""
    if seed is not None:
        return seed
    return next((s.seed for s in reversed(scenarios) if s.seed is not None), None)


def startup_clock(
    seed: int | None, mode: ClockMode | None, speed: float | None, scenarios: tuple[Scenario, ...]
) -> VirtualClock:
    """The clock at start: the command line's mode and speed, else the last scenario's, else
    manual under a seed (from a fixed instant, so runs repeat) and real without one."""
    mode = mode or next((s.clock_mode for s in reversed(scenarios) if s.clock_mode), None)
    mode = mode or ("manual" if seed is not None else "real")
    speed = speed or next((s.clock_speed for s in reversed(scenarios) if s.clock_speed), None) or 1.0
    start = MANUAL_EPOCH if seed is not None else None
    return VirtualClock(mode, speed if mode == "real" else 1.0, start)


def build_app(settings: Settings | None = None, spec: Spec | None = None) -> Starlette:
    settings = settings or Settings()
    spec = spec or default_spec()
    bound = spec.bind(settings.handlers)
    public = [operation.operation_id for operation, _ in bound if not operation.requires_auth]
    if public:
        # The bearer token is the tenant: an operation without one would have no state to act on.
        raise SpecMismatch(f"operations without bearer security: {', '.join(public)}")
    seed = startup_seed(settings.seed, settings.scenarios)
    clock = settings.clock or startup_clock(seed, None, None, settings.scenarios)
    seed_data = load_seed_data(settings.fixtures or resources.default_fixtures_path(), spec, clock.now(), seed)
    flows = OAuthFlows(clock, seed_data.consents)
    shared = Shared(clock, spec.config_validators, spec.oauth_types, flows, settings.sync_scripts)
    backend = Backend(seed_data, shared, seed)
    envelope = Envelope(clock, seed)
    library = ScenarioLibrary(clock, seed)
    for scenario in settings.scenarios:
        # Their clock settings are already in `clock`, under whatever the command line said.
        library.load(scenario, activate=True, apply_clock=False)
    journal = Journal(settings.journal_size)
    keeper, watcher = _keeper_and_watcher(
        settings, spec=spec, seed=seed, clock=clock, backend=backend, library=library, journal=journal
    )
    forget = (backend.forget, library.forget_tenant, envelope.forget_tenant, flows.forget_tenant)
    roster = TenantRoster(settings.max_tenants, forget, [_journal_eviction(journal, clock, settings.max_tenants)])

    by_path = _by_path(bound)

    def route_for(path: str, methods: Mapping[str, tuple[Operation, Handler]]) -> Route:
        async def endpoint(request: Request) -> Response:
            method = "GET" if request.method == "HEAD" else request.method
            operation, handler = methods[method]
            try:
                # The scenario middleware has read the key already; it leaves None for a refused one.
                key = request.scope.get(TENANT_SCOPE_KEY) or tenant_key(sent_headers(request.scope), settings.api_keys)
                inputs = await read_inputs(request, operation)
                view = request.scope.get(VIEW_SCOPE_KEY, EMPTY_VIEW)
                # Only now: a request refused above must not leave a tenant behind.
                tenant = backend.tenant(key)
                scripts = view.script if view.syncs else None
                call = Call(operation.operation_id, tenant, inputs, lambda: base_url(request), scripts, view.oauth)
                reply = handler(call)
            except (ApiError, ClientDisconnect):
                raise
            except Exception:
                # Answered here, inside the CORS middleware, so a browser can read even a 500.
                logger.exception(
                    "unexpected error in %s (request %s)", operation.operation_id, envelope.request_id(request)
                )
                return internal_error(envelope, request)
            return envelope.success(request, reply.status, reply.data)

        return Route(path, OperationEndpoint(endpoint), methods=list(methods))

    def base_url(request: Request) -> str:
        return settings.public_url or str(request.base_url).rstrip("/")

    control = Control(
        clock,
        library,
        journal,
        backend,
        spec,
        envelope,
        roster,
        flows,
        api_keys=settings.api_keys,
        admin_token=settings.admin_token,
        cors_origins=settings.cors_origins,
        public_url=settings.public_url,
        keeper=keeper,
    )
    # The API's routes first: they take nearly every request, and no `/_mock` path is one of
    # theirs. Among them, literal segments win over parameters (`/oauth/...` before `/{id}/...`).
    routes: list[BaseRoute] = [route_for(path, by_path[path]) for path in sorted(by_path, key=lambda p: p.count("{"))]
    routes += [
        *control_routes(control),
        *consent_routes(flows, base_url, control.viewers.poke),
        *guide_routes(),
        *_page_routes(clock, library, envelope, spec, settings.admin_token),
    ]
    scenario_faults = Middleware(
        ScenarioMiddleware,
        library=library,
        journal=journal,
        envelope=envelope,
        clock=clock,
        router=OperationRouter(spec),
        api_keys=settings.api_keys,
        roster=roster,
        plan=settings.rate_limit,
    )
    cross_origin = Middleware(
        CrossOrigin,
        methods=sorted({operation.method for operation, _ in bound}),
        control_origins=settings.cors_origins,
        envelope=envelope,
        public_url=settings.public_url,
    )
    app = Starlette(
        routes=routes,
        middleware=[cross_origin, scenario_faults],
        exception_handlers=_error_handlers(envelope),
        lifespan=_background(keeper, watcher),
    )
    # `/v1/connectors/` is not in the contract: a 404, not a redirect built from the Host header.
    app.router.redirect_slashes = False
    app.state.backend = backend
    app.state.scenarios = library
    app.state.journal = journal
    # The dashboards watching `/_mock/events`.
    app.state.viewers = control.viewers
    # How the server answers what it refuses before the app sees it (`server.HttpProtocol`).
    app.state.edge_errors = envelope.edge_error
    return app


def _by_path(bound: list[tuple[Operation, Handler]]) -> dict[str, dict[str, tuple[Operation, Handler]]]:
    by_path: dict[str, dict[str, tuple[Operation, Handler]]] = {}
    for operation, handler in bound:
        by_path.setdefault(operation.path, {})[operation.method] = (operation, handler)
    return by_path


def _keeper_and_watcher(
    settings: Settings,
    *,
    spec: Spec,
    seed: int | None,
    clock: VirtualClock,
    backend: Backend,
    library: ScenarioLibrary,
    journal: Journal,
) -> tuple[StateKeeper | None, FileWatcher | None]:
    """The state file read into the backend, and what keeps it and the watched files up to
    date. A state file that cannot be used raises `StateFileError`."""
    keeper = None
    if settings.state_file is not None:
        restored = read_state_file(settings.state_file, spec)
        if restored is not None:
            restored.apply(backend)
            restore_clock(clock, restored.clock)
        keeper = StateKeeper(settings.state_file, backend, clock)
    watcher = None
    if settings.watch:
        files = {Path(s.source): s.name for s in settings.scenarios if s.source != "runtime"}
        watcher = FileWatcher(
            Watched(settings.fixtures, files),
            spec=spec,
            seed=seed,
            clock=clock,
            backend=backend,
            library=library,
            journal=journal,
        )
    return keeper, watcher


def _background(keeper: StateKeeper | None, watcher: FileWatcher | None) -> Lifespan:
    """What runs beside the requests while the server serves: the state keeper, the watcher."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if keeper is not None:
            keeper.start()
        if watcher is not None:
            watcher.start()
        try:
            yield
        finally:
            if watcher is not None:
                watcher.stop()
            if keeper is not None:
                await keeper.stop()

    return lifespan


def _page_routes(
    clock: VirtualClock, library: ScenarioLibrary, envelope: Envelope, spec: Spec, admin_token: str | None
) -> list[BaseRoute]:
    """The pages for people: `/`, the docs of both documents, the dashboard, and their files."""
    landing = landing_routes(clock, library, envelope, admin_token)
    dashboard = dashboard_routes(spec.operations, admin_token=admin_token is not None)
    return landing + viewer_routes() + dashboard + asset_routes()


def _journal_eviction(journal: Journal, clock: VirtualClock, limit: int) -> Callable[[str], None]:
    def evicted(tenant: str) -> None:
        detail = f"the least recently seen of {limit} tenants (--max-tenants {limit})"
        journal.record(JournalEvent(clock.now(), "tenant_evicted", tenant_label(tenant), detail))

    return evicted


class OperationEndpoint:
    """A request function as a plain ASGI app. Starlette wraps a request function in an
    exception handler of its own for every request; the app's, which turns errors into the
    envelope, is one layer further out and answers them the same."""

    def __init__(self, respond: Callable[[Request], Awaitable[Response]]) -> None:
        self._respond = respond

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self._respond(Request(scope, receive, send))
        await response(scope, receive, send)


def _error_handlers(envelope: Envelope) -> dict[Any, Callable[[Request, Exception], Awaitable[Response]]]:
    """Errors become the error envelope here, and only here."""

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

    async def unexpected_error(request: Request, exc: Exception) -> Response:
        return internal_error(envelope, request)

    async def client_gone(request: Request, exc: Exception) -> Response:
        # Nobody is there to read an answer (uvicorn drops it): the journal says what happened.
        request.scope[DISCONNECTED_SCOPE_KEY] = True
        return Response(status_code=400)

    return {
        ApiError: api_error,
        HTTPException: http_error,
        ClientDisconnect: client_gone,
        Exception: unexpected_error,
    }


def internal_error(envelope: Envelope, request: Request) -> Response:
    request_id = envelope.request_id(request)
    error = ApiError(500, "internal_error", f"Internal error; quote request id {request_id} when reporting it")
    return envelope.error(request, error)
