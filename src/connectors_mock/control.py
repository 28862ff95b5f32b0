"""The fake's control API under `/_mock`, apart from the contract and described by its own
OpenAPI document (`control.openapi.yaml`, served at `/_mock/openapi.json`): the clock,
scenarios and bindings, reset, the request journal, state export and import, and what the
dashboard reads: the tenants by label and the live stream of `/_mock/events` (`events.py`).

With `--admin-token`, every route here but the OpenAPI document wants `X-Mock-Admin-Token`.
The OAuth pages (`consent.py`) are not part of it: a browser opens them with no token.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources as package_resources
from typing import Any

import yaml
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from connectors_mock import __version__, resources
from connectors_mock.auth import tenant_key, tenant_label
from connectors_mock.browsers import cross_site_refusal
from connectors_mock.clock import MAX_ADVANCE_SECONDS, VirtualClock, isoformat
from connectors_mock.errors import ApiError, FieldError, validation_failed
from connectors_mock.events import EVENTS_PATH, EventStream, Sources, Viewers
from connectors_mock.inputs import read_json_body, read_limited
from connectors_mock.journal import Journal, journal_filter
from connectors_mock.masking import MASK
from connectors_mock.oauth import OAuthFlows
from connectors_mock.persistence import StateKeeper
from connectors_mock.responses import Envelope
from connectors_mock.scenarios.engine import Loaded, ScenarioLibrary, UnknownScenario
from connectors_mock.scenarios.loader import ScenarioError, load_text, schema_document
from connectors_mock.snapshot import SNAPSHOT_SCHEMA, export_state, read_snapshot, tenant_json
from connectors_mock.spec import Spec
from connectors_mock.state import Backend
from connectors_mock.tenancy import TenantRoster
from connectors_mock.tenant_view import TenantDirectory
from connectors_mock.validators import Validator

ADMIN_HEADER = "X-Mock-Admin-Token"
ADVANCE_SCHEMA = {
    "type": "object",
    "required": ["seconds"],
    "additionalProperties": False,
    "properties": {"seconds": {"type": "number", "minimum": 0, "maximum": MAX_ADVANCE_SECONDS}},
}
BINDING_SCHEMA = {
    "type": "object",
    "required": ["scenario"],
    "additionalProperties": False,
    "properties": {"scenario": {"type": "string", "minLength": 1}},
}
BOOLEANS = {"true": True, "false": False}
# A tenant as `/_mock` names it (`auth.tenant_label`): the binding routes' `?tenant=`.
TENANT_LABEL = re.compile(r"key_[0-9a-f]{12}(/[A-Za-z0-9_-]{1,64})?")
SECRET_HEADERS = frozenset({"authorization", "cookie", "x-mock-admin-token"})

Endpoint = Callable[[Request], Awaitable[Response]]


@cache
def control_document() -> dict[str, Any]:
    """The control API's OpenAPI document, with the scenario and snapshot schemas put in from
    where the code keeps them, so the published schemas are the ones that are enforced."""
    text = package_resources.files("connectors_mock").joinpath("control.openapi.yaml").read_text("utf-8")
    document: dict[str, Any] = yaml.safe_load(text)
    schemas = document["components"]["schemas"]
    schemas["Scenario"] = _as_component(schema_document(), "Scenario")
    schemas["StateSnapshot"] = _as_component(SNAPSHOT_SCHEMA, "StateSnapshot")
    return document


def _as_component(schema: Any, name: str) -> Any:
    """A standalone JSON Schema as `components/schemas/NAME`: OpenAPI tools resolve a `$ref`
    against the whole document, not the schema's own `$id`, so `#/$defs/x` must become
    `#/components/schemas/NAME/$defs/x`."""
    if isinstance(schema, list):
        return [_as_component(item, name) for item in schema]
    if not isinstance(schema, dict):
        return schema
    rebased = {}
    for key, value in schema.items():
        if key in ("$id", "$schema"):
            continue
        if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
            rebased[key] = f"#/components/schemas/{name}{value[1:]}"
        else:
            rebased[key] = _as_component(value, name)
    return rebased


# Scenarios loaded at once; loading another replaces one of the same name or is refused.
MAX_LOADED_SCENARIOS = 50


@dataclass(frozen=True)
class Control:
    """What the control API acts on."""

    clock: VirtualClock
    library: ScenarioLibrary
    journal: Journal
    backend: Backend
    spec: Spec
    envelope: Envelope
    roster: TenantRoster
    flows: OAuthFlows
    api_keys: frozenset[str] | None = None
    admin_token: str | None = None
    # Set with `--state-file`: whether its last write worked is part of being ready.
    keeper: StateKeeper | None = None
    # The dashboards watching `/_mock/events`; poked by every change made here.
    viewers: Viewers = field(default_factory=Viewers)
    # Origins allowed to drive `/_mock` (`--cors-origin`), and where browsers reach the fake.
    cors_origins: tuple[str, ...] = ()
    public_url: str | None = None


def scenario_json(library: ScenarioLibrary, loaded: Loaded) -> dict[str, Any]:
    scenario = loaded.scenario
    return {
        "name": scenario.name,
        "description": scenario.description,
        "source": scenario.source,
        "active": library.is_active(scenario.name),
        "boundTenants": library.bound_tenants(scenario.name),
        "loadedAt": isoformat(loaded.loaded_at),
        "faults": len(scenario.faults),
        "syncs": len(scenario.syncs),
        "rateLimit": (
            {"limit": scenario.rate_limit.limit, "windowSeconds": scenario.rate_limit.window_seconds}
            if scenario.rate_limit
            else None
        ),
    }


class ControlApi:
    """The routes, one method each; `routes()` puts them under `/_mock`."""

    def __init__(self, control: Control) -> None:
        self.control = control
        self.clock, self.library, self.envelope = control.clock, control.library, control.envelope
        self.advance_check = Validator(ADVANCE_SCHEMA, "body")
        self.binding_check = Validator(BINDING_SCHEMA, "body")
        self.directory = TenantDirectory(control.roster, control.backend, control.library, control.flows)

    def routes(self) -> list[BaseRoute]:
        table: list[tuple[str, Endpoint, str]] = [
            ("/_mock/clock", self.read_clock, "GET"),
            ("/_mock/clock/advance", self.advance_clock, "POST"),
            ("/_mock/scenarios", self.list_scenarios, "GET"),
            ("/_mock/scenarios", self.load_scenario, "POST"),
            ("/_mock/scenarios", self.clear_scenarios, "DELETE"),
            ("/_mock/scenarios/{name}", self.read_scenario, "GET"),
            ("/_mock/scenarios/{name}", self.remove_scenario, "DELETE"),
            ("/_mock/scenarios/{name}/active", self.activate_scenario, "PUT"),
            ("/_mock/scenarios/{name}/active", self.deactivate_scenario, "DELETE"),
            ("/_mock/binding", self.read_binding, "GET"),
            ("/_mock/binding", self.bind, "PUT"),
            ("/_mock/binding", self.unbind, "DELETE"),
            ("/_mock/tenant", self.read_tenant, "GET"),
            ("/_mock/tenant", self.forget_tenant, "DELETE"),
            ("/_mock/tenants", self.list_tenants, "GET"),
            # The label may hold a `/` (`key_.../TEAM`), so the parameter is a path.
            ("/_mock/tenants/{tenant:path}", self.read_tenant_view, "GET"),
            ("/_mock/reset", self.reset, "POST"),
            ("/_mock/journal", self.read_journal, "GET"),
            ("/_mock/journal", self.clear_journal, "DELETE"),
            ("/_mock/state", self.export_state, "GET"),
            ("/_mock/state", self.import_state, "PUT"),
        ]
        by_path: dict[str, dict[str, Endpoint]] = {}
        for path, endpoint, method in table:
            by_path.setdefault(path, {})[method] = self._protected(endpoint)
        # Open even with `--admin-token`: what the document says, and whether the server is up,
        # are for anyone who can reach it (an orchestrator's probe has no token).
        routes: list[BaseRoute] = [
            Route("/_mock/openapi.json", self.openapi, methods=["GET"]),
            Route("/_mock/health", self.health, methods=["GET"]),
            Route("/_mock/ready", self.ready, methods=["GET"]),
            # Checks the admin token itself (`_event_stream`): a stream is not a request/response.
            Route(EVENTS_PATH, self._event_stream(), methods=["GET"]),
        ]
        return routes + [Route(path, _dispatch(methods), methods=list(methods)) for path, methods in by_path.items()]

    # Plumbing ----------------------------------------------------------------------------------

    def _protected(self, endpoint: Endpoint) -> Endpoint:
        viewers = self.control.viewers

        async def checked(request: Request) -> Response:
            self._check_admin(request)
            response = await endpoint(request)
            if request.method not in ("GET", "HEAD"):
                # Whatever it changed, the dashboards show it now rather than at their next look.
                viewers.poke()
            return response

        return checked

    def _check_admin(self, request: Request) -> None:
        token = self.control.admin_token
        if token is None:
            return
        sent = request.headers.get(ADMIN_HEADER)
        if sent is None:
            raise ApiError(401, "unauthorized", f"{ADMIN_HEADER} header required: /_mock is protected")
        if not hmac.compare_digest(sent.encode(), token.encode()):
            raise ApiError(401, "unauthorized", f"{ADMIN_HEADER}: invalid admin token")

    def _event_stream(self) -> EventStream:
        control = self.control
        sources = Sources(
            journal=control.journal,
            directory=self.directory,
            roster=control.roster,
            clock=self.clock,
            clock_json=self._clock_json,
            scenarios_json=lambda: [scenario_json(self.library, loaded) for loaded in self.library.loaded()],
        )

        def check(request: Request) -> None:
            self._check_admin(request)
            # Even to read: a page on another origin must not hold one of the few viewer slots.
            refusal = cross_site_refusal(request.headers, control.cors_origins, control.public_url, "watch this fake")
            if refusal is not None:
                raise refusal

        return EventStream(
            sources, control.viewers, envelope=self.envelope, operations=control.spec.operations, check=check
        )

    def _ok(self, request: Request, data: Any, status: int = 200) -> Response:
        return self.envelope.success(request, status, data)

    def _no_content(self, request: Request) -> Response:
        return Response(status_code=204, headers={"X-Request-ID": self.envelope.request_id(request)})

    def _clock_json(self) -> dict[str, object]:
        return {"mode": self.clock.mode, "speed": self.clock.speed, "now": isoformat(self.clock.now())}

    def _scenario(self, name: str) -> Loaded:
        try:
            return self.library.get(name)
        except UnknownScenario as unknown:
            raise ApiError(404, "not_found", f"Scenario: {unknown}") from None

    def _binding_json(self, tenant: str) -> dict[str, Any]:
        return {"tenant": tenant_label(tenant), "scenario": self.library.binding(tenant)}

    def _tenant(self, request: Request) -> str:
        return tenant_key(request.headers, self.control.api_keys)

    def _caller_or_named(self, request: Request) -> str:
        """The tenant `?tenant=LABEL` names (one the fake has seen), else the caller's key:
        the dashboard knows tenants by label only."""
        label = request.query_params.get("tenant")
        if label is None:
            return self._tenant(request)
        if not TENANT_LABEL.fullmatch(label):
            # Not quoted back: what was sent may well be an API key.
            problem = FieldError("query", "tenant", 'must be a tenant label such as "key_1a2b3c4d5e6f", not an API key')
            raise validation_failed("Request is invalid", [problem])
        key = self.control.roster.key_for(label)
        if key is None:
            raise ApiError(404, "not_found", f"No tenant {label} has been seen (GET /_mock/tenants lists them)")
        return key

    # The routes --------------------------------------------------------------------------------

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(control_document())

    async def health(self, request: Request) -> Response:
        return self._ok(request, {"status": "alive", "version": __version__})

    async def ready(self, request: Request) -> Response:
        keeper = self.control.keeper
        if keeper is not None and keeper.last.error is not None:
            raise ApiError(503, "service_unavailable", f"Not ready: the state file: {keeper.last.error}")
        saved = keeper.last.saved_at if keeper is not None else None
        return self._ok(
            request,
            {
                "ready": True,
                "stateFile": str(keeper.path) if keeper is not None else None,
                "lastSaved": isoformat(saved) if saved is not None else None,
            },
        )

    async def read_clock(self, request: Request) -> Response:
        return self._ok(request, self._clock_json())

    async def advance_clock(self, request: Request) -> Response:
        body = await read_json_body(request)
        errors = self.advance_check.errors(body)
        if not errors:
            try:
                self.clock.advance(body["seconds"])
            except ValueError as refused:
                errors = [FieldError("body", "$.seconds", f"{body['seconds']} {refused}")]
        if errors:
            raise validation_failed("Clock not advanced", errors)
        return self._ok(request, self._clock_json())

    async def list_scenarios(self, request: Request) -> Response:
        return self._ok(request, [scenario_json(self.library, loaded) for loaded in self.library.loaded()])

    async def load_scenario(self, request: Request) -> Response:
        unknown = sorted(set(request.query_params) - {"activate", "example"})
        if unknown:
            problems = [
                FieldError("query", name, "is not a parameter here (known: activate, example)") for name in unknown
            ]
            raise validation_failed("Scenario not loaded", problems)
        activate = _flag(request, "activate", default=False)
        raw, source = await read_limited(request), "request body"
        example = request.query_params.get("example")
        if example is not None:
            # A shipped example by name: an installed package has no scenarios/ folder to send.
            raw, source = _example(example, raw), f"example {example}"
        if not raw:
            raise ApiError(400, "invalid_request", "Request body is required: a scenario in YAML or JSON")
        try:
            # Off the event loop: reading YAML is slow enough to hold up every other request.
            scenario = await run_in_threadpool(load_text, raw, source, self.control.spec)
        except ScenarioError as error:
            problems = [
                FieldError("body", p.path, f"{p.message} (line {p.line})" if p.line else p.message)
                for p in error.problems
            ]
            raise validation_failed("Scenario not loaded", problems) from None
        if len(self.library.loaded()) >= MAX_LOADED_SCENARIOS and scenario.name not in self.library.names():
            raise ApiError(
                409,
                "quota_exceeded",
                f"{MAX_LOADED_SCENARIOS} scenarios are loaded, the most there may be; unload one first "
                "(DELETE /_mock/scenarios/NAME)",
            )
        loaded = self.library.load(scenario, activate=activate)
        return self._ok(request, scenario_json(self.library, loaded), 201)

    async def clear_scenarios(self, request: Request) -> Response:
        self.library.clear()
        return self._no_content(request)

    async def read_scenario(self, request: Request) -> Response:
        loaded = self._scenario(request.path_params["name"])
        return self._ok(request, {**scenario_json(self.library, loaded), "document": shown(loaded.scenario.document)})

    async def remove_scenario(self, request: Request) -> Response:
        self.library.remove(self._scenario(request.path_params["name"]).name)
        return self._no_content(request)

    async def read_binding(self, request: Request) -> Response:
        return self._ok(request, self._binding_json(self._caller_or_named(request)))

    async def bind(self, request: Request) -> Response:
        tenant = self._caller_or_named(request)
        body = await read_json_body(request)
        errors = self.binding_check.errors(body)
        if errors:
            raise validation_failed("Binding refused", errors)
        try:
            self.library.bind(tenant, body["scenario"])
            self.control.roster.seen(tenant)
        except UnknownScenario as unknown:
            raise validation_failed("Binding refused", [FieldError("body", "$.scenario", str(unknown))]) from None
        return self._ok(request, self._binding_json(tenant))

    async def unbind(self, request: Request) -> Response:
        self.library.unbind(self._caller_or_named(request))
        return self._no_content(request)

    async def activate_scenario(self, request: Request) -> Response:
        loaded = self.library.activate(self._scenario(request.path_params["name"]).name)
        return self._ok(request, scenario_json(self.library, loaded))

    async def deactivate_scenario(self, request: Request) -> Response:
        loaded = self.library.deactivate(self._scenario(request.path_params["name"]).name)
        return self._ok(request, scenario_json(self.library, loaded))

    async def list_tenants(self, request: Request) -> Response:
        return self._ok(request, self.directory.listing())

    async def read_tenant_view(self, request: Request) -> Response:
        label = request.path_params["tenant"]
        if not TENANT_LABEL.fullmatch(label):
            problem = FieldError("path", "tenant", 'must be a tenant label such as "key_1a2b3c4d5e6f", not an API key')
            raise validation_failed("Request is invalid", [problem])
        tenant = self.directory.find(label)
        if tenant is None:
            raise ApiError(404, "not_found", f"No tenant {label} has been seen (GET /_mock/tenants lists them)")
        return self._ok(request, self.directory.view(label, tenant))

    async def read_tenant(self, request: Request) -> Response:
        tenant = self._tenant(request)
        self.control.roster.seen(tenant)
        return self._ok(request, tenant_json(self.control.backend, tenant))

    async def forget_tenant(self, request: Request) -> Response:
        self.control.roster.forget(self._tenant(request))
        return self._no_content(request)

    async def reset(self, request: Request) -> Response:
        self.control.backend.reset()
        self.library.reset_counters()
        return self._ok(request, {"reset": True, "clock": self._clock_json()})

    async def read_journal(self, request: Request) -> Response:
        journal = self.control.journal
        entries = journal.entries(journal_filter(request.query_params, self.control.spec.operations))
        return self._ok(request, {"entries": [entry.to_json() for entry in entries], "lastId": journal.last_id})

    async def clear_journal(self, request: Request) -> Response:
        self.control.journal.clear()
        return self._no_content(request)

    async def export_state(self, request: Request) -> Response:
        return self._ok(request, export_state(self.control.backend, self.clock.now()))

    async def import_state(self, request: Request) -> Response:
        body = await read_json_body(request)
        if isinstance(body, dict) and set(body) == {"data", "meta"}:
            # What `GET /_mock/state` answered, saved whole: the snapshot is its `data`.
            body = body["data"]
        # Read off the event loop (a megabyte of snapshot takes a while to check), applied on it.
        imported = await run_in_threadpool(read_snapshot, body, self.control.spec)
        imported.apply(self.control.backend)
        self.library.reset_counters()
        return self._ok(request, {"tenants": len(imported.tenants)})


def shown(document: Any) -> Any:
    """A scenario document as `/_mock` shows it: a fault matched by API key names the key's
    fingerprint instead (`tenant_label`), as everything else under `/_mock` does, and a
    matched `Authorization` header is masked."""
    if not isinstance(document, dict) or not document.get("faults"):
        return document
    return {**document, "faults": [_shown_rule(rule) for rule in document["faults"]]}


def _shown_rule(rule: dict[str, Any]) -> dict[str, Any]:
    match = dict(rule.get("match", {}))
    if "tenant" in match:
        match["tenant"] = tenant_label(match["tenant"])
    if "headers" in match:
        match["headers"] = {
            name: MASK if name.lower() in SECRET_HEADERS else value for name, value in match["headers"].items()
        }
    return {**rule, "match": match} if match else rule


def control_routes(control: Control) -> list[BaseRoute]:
    return ControlApi(control).routes()


def _dispatch(methods: dict[str, Endpoint]) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await methods[method](request)

    return endpoint


def _example(name: str, body: bytes) -> bytes:
    examples = resources.example_scenarios()
    if body:
        raise ApiError(400, "invalid_request", "Send a scenario in the body or name an example, not both")
    if name not in examples:
        raise ApiError(404, "not_found", f'No example scenario "{name}" (examples: {", ".join(examples)})')
    return examples[name].read_bytes()


def _flag(request: Request, name: str, *, default: bool) -> bool:
    value = request.query_params.get(name)
    if value is None:
        return default
    if value not in BOOLEANS:
        raise validation_failed(
            "Request is invalid", [FieldError("query", name, f'must be true or false, not "{value}"')]
        )
    return BOOLEANS[value]
