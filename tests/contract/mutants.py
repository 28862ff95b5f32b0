"""Deliberately broken servers for the contract suite's mutation test.

Each mutant is the fake with exactly one defect that a real server could plausibly ship. A
contract suite that passes `unbroken()` but also passes a mutant cannot see that defect.

Mutants are built from the real fake without touching module globals (they run in the same
process as other tests, possibly in threads): a replaced handler (`Settings.handlers`), a sync
script (`Settings.sync_scripts`), a spec with one schema relaxed, or a small ASGI wrapper
around the unbroken app. Anything a mutant remembers (poll counts, a cached tenant) lives in
the closure of one `build()` call, so two builds never share it.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connectors_mock.app import Settings, build_app
from connectors_mock.clock import VirtualClock
from connectors_mock.errors import ApiError
from connectors_mock.handlers import HANDLERS, Call, Handler, Reply
from connectors_mock.jobs import SyncRequest, SyncScript, default_script
from connectors_mock.oauth import provider_name
from connectors_mock.spec import Spec, default_spec
from connectors_mock.state import Tenant

# The default sync job takes about 4.5 s of the fake's time: at 20 times real speed, under a
# quarter of a second, so a test can follow a job from start to end without waiting.
CLOCK_SPEED = 5.0
# The only keys the fake accepts, so the suite can see it refuse any other (ignored auth).
API_KEYS = ("mutant-key-a", "mutant-key-b")


@dataclass(frozen=True)
class Mutant:
    name: str  # kebab-case, as the mutation score lists it
    defect: str  # what the broken server gets wrong, in one sentence
    build: Callable[[], ASGIApp]  # a fresh app each call: no state shared between builds


def fake_settings(**overrides: Any) -> Settings:
    """The unbroken fake as the mutation test runs it: default fixtures, only `API_KEYS`
    accepted, a real clock at speed 20 (so the default sync job, ~4.5 virtual seconds, ends in
    well under a second)."""
    # A clock per app: one shared between apps would let one test's advance move another's jobs.
    settings: dict[str, Any] = {
        "clock": VirtualClock("real", CLOCK_SPEED),
        "api_keys": frozenset(API_KEYS),
        **overrides,
    }
    return Settings(**settings)


def unbroken() -> ASGIApp:
    return build_app(fake_settings())


def _with_handlers(handlers: Mapping[str, Handler]) -> Callable[[], ASGIApp]:
    """A build of the fake with some operations' handlers replaced."""
    return lambda: build_app(fake_settings(handlers={**HANDLERS, **handlers}))


def _with_inputs(call: Call, **changes: Any) -> Call:
    """The same call, with some of its validated inputs (`path`, `query`, `body`) replaced."""
    return replace(call, inputs=replace(call.inputs, **changes))


# leaks-credentials: reads use a serializer that forgot the write-only field.


def _get_with_credentials(call: Call) -> Reply:
    connector = call.tenant.get_connector(call.inputs.path["id"])
    return Reply(200, {**connector.to_json(), "credentials": connector.credentials})


def _list_with_credentials(call: Call) -> Reply:
    connectors = call.tenant.list_connectors()
    return Reply(200, [{**connector.to_json(), "credentials": connector.credentials} for connector in connectors])


# keeps-deleted: the delete is acknowledged, and nothing is removed.


def _delete_nothing(call: Call) -> Reply:
    # Still a 404 for an unknown id: only the removal itself is missing.
    call.tenant.get_connector(call.inputs.path["id"])
    return Reply(204)


# progress-goes-backwards: alternate polls read a stale copy of the counters.


def _build_progress_goes_backwards() -> ASGIApp:
    polls: dict[tuple[str, str], int] = {}

    def get_sync_status(call: Call) -> Reply:
        reply = HANDLERS["getSyncStatus"](call)
        job: dict[str, Any] = reply.data
        if job["status"] != "running":
            return reply
        key = (call.tenant.key, job["jobId"])
        polls[key] = polls.get(key, 0) + 1
        if polls[key] % 2:
            return reply
        # Halving every counter keeps collected >= parsed >= indexed within the answer, so only
        # a comparison with the previous poll shows that a counter went down.
        stale = {counter: count // 2 for counter, count in job["progress"].items()}
        return Reply(reply.status, {**job, "progress": stale})

    return build_app(fake_settings(handlers={**HANDLERS, "getSyncStatus": get_sync_status}))


# counters-out-of-order: the serializer maps two counters to each other's fields.


def _swapped_counters(call: Call) -> Reply:
    reply = HANDLERS["getSyncStatus"](call)
    job: dict[str, Any] = reply.data
    progress = job["progress"]
    swapped = {**progress, "parsed": progress["indexed"], "indexed": progress["parsed"]}
    return Reply(reply.status, {**job, "progress": swapped})


# create-returns-200


def _create_with_200(call: Call) -> Reply:
    return Reply(200, HANDLERS["createConnector"](call).data)


# accepts-invalid-bodies: the create body's `config` is only checked to be an object.


def _schema_name(ref: str) -> str:
    return ref.rsplit("/", 1)[1]


@cache
def _spec_with_unchecked_create_config() -> Spec:
    """The contract with every create shape's `config` relaxed to any object. Request
    validation is compiled from the spec, so this turns off exactly that check; `Connector`
    (responses, and the merged config of an update) keeps its own config schemas."""
    document = copy.deepcopy(default_spec().document)
    schemas = document["components"]["schemas"]
    for ref in schemas["CreateConnectorRequest"]["discriminator"]["mapping"].values():
        schemas[_schema_name(ref)]["properties"]["config"] = {"type": "object"}
    return Spec(document)


def _build_accepts_invalid_bodies() -> ASGIApp:
    return build_app(fake_settings(), _spec_with_unchecked_create_config())


# ignores-auth: a gateway-style default for anonymous callers.

DEFAULT_KEY = API_KEYS[0].encode()


class _DefaultKey:
    """Gives a request without an Authorization header a default API key."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not any(name == b"authorization" for name, _ in scope["headers"]):
            scope = {**scope, "headers": [*scope["headers"], (b"authorization", b"Bearer " + DEFAULT_KEY)]}
        await self.app(scope, receive, send)


# non-ascii-500: names go to a store that only takes ASCII.


def _ascii_only_names(handler: Handler) -> Handler:
    def handle(call: Call) -> Reply:
        name = call.inputs.body.get("name")
        if isinstance(name, str):
            # Raises UnicodeEncodeError, which the fake's endpoint answers with a 500, as any
            # unexpected exception.
            name.encode("ascii")
        return handler(call)

    return handle


# wrong-content-type, no-request-id: a response rewritten on its way out.

Rewrite = Callable[[int, MutableHeaders, bytes], bytes]


class _RewriteResponses:
    """Holds each HTTP response back until its body is complete, then lets `rewrite` change
    its headers (in place) and its body; Content-Length follows the new body."""

    def __init__(self, app: ASGIApp, rewrite: Rewrite) -> None:
        self.app = app
        self.rewrite = rewrite

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message = {}
        chunks: list[bytes] = []

        async def hold(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            headers = MutableHeaders(scope=start)
            body = self.rewrite(start["status"], headers, b"".join(chunks))
            if "content-length" in headers:
                headers["content-length"] = str(len(body))
            await send(start)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, hold)


def _json_said_as_text(status: int, headers: MutableHeaders, body: bytes) -> bytes:
    if 200 <= status < 300 and headers.get("content-type") == "application/json":
        headers["content-type"] = "text/plain"
    return body


def _error_meta_without_request_id(status: int, headers: MutableHeaders, body: bytes) -> bytes:
    if status < 400 or headers.get("content-type") != "application/json":
        return body
    try:
        document = json.loads(body)
    except ValueError:
        # A HEAD request's empty body, or one a scenario cut short: nothing to take out.
        return body
    document["meta"].pop("requestId", None)
    return json.dumps(document).encode("utf-8")


def _wrapped(middleware: Callable[[ASGIApp], ASGIApp]) -> Callable[[], ASGIApp]:
    return lambda: middleware(unbroken())


# put-not-applied: the update runs, its answer is sent, and its transaction is rolled back.


def _update_rolled_back(call: Call) -> Reply:
    tenant, connector_id = call.tenant, call.inputs.path["id"]
    before = tenant.get_connector(connector_id)
    name, config, updated_at = before.name, copy.deepcopy(before.config), before.updated_at
    reply = HANDLERS["updateConnector"](call)
    # Keys the update added are sent as null, which the fake's merge removes.
    undo = {"name": name, "config": {**dict.fromkeys(reply.data["config"]), **config}}
    tenant.update_connector(connector_id, undo).updated_at = updated_at
    return reply


# update-drops-config: `config` replaces the stored one instead of being merged into it.


@cache
def _required_config_keys(connector_type: str) -> frozenset[str]:
    """The keys the type's config schema requires, read from the contract."""
    spec = default_spec()
    return frozenset(spec.schema_at(spec.config_pointers[connector_type]).get("required", ()))


def _update_replacing_config(call: Call) -> Reply:
    changes = call.inputs.body
    if isinstance(changes.get("config"), dict):
        connector = call.tenant.get_connector(call.inputs.path["id"])
        # Required keys survive, or the replaced config would fail validation and answer 422:
        # this way the loss is silent (an s3 `prefix`, a postgresql `port`), as it would be in
        # a server whose required fields the client always resends.
        dropped = {
            key: None
            for key in connector.config
            if key not in changes["config"] and key not in _required_config_keys(connector.type)
        }
        call = _with_inputs(call, body={**changes, "config": {**dropped, **changes["config"]}})
    return HANDLERS["updateConnector"](call)


# jobs-never-finish


def _stuck_script(request: SyncRequest, rng: random.Random) -> SyncScript:
    return replace(default_script(request, rng), stuck_at=0.9)


# last-sync-not-set: completing a job records everything but `lastSync`.


def _forgetting_last_sync(handler: Handler) -> Handler:
    def handle(call: Call) -> Reply:
        tenant = call.tenant
        before = {connector.id: connector.last_sync for connector in tenant.connectors.values()}
        # Listing folds every finished job into its connector now, so `lastSync` can be put
        # back before the handler reads anything; status and lastError stay as the fake set them.
        for connector in tenant.list_connectors():
            connector.last_sync = before[connector.id]
        return handler(call)

    return handle


# tenants-see-each-other: the caller's team is looked up once and cached for everyone.


def _build_one_tenant() -> ASGIApp:
    cached: dict[str, Tenant] = {}

    def first_callers_tenant(handler: Handler) -> Handler:
        def handle(call: Call) -> Reply:
            # Authentication still happens (a bad key is a 401); only its result is ignored.
            return handler(replace(call, tenant=cached.setdefault("tenant", call.tenant)))

        return handle

    return build_app(fake_settings(handlers={op: first_callers_tenant(h) for op, h in HANDLERS.items()}))


# undocumented-error-code


def _renamed_not_found(handler: Handler) -> Handler:
    def handle(call: Call) -> Reply:
        try:
            return handler(call)
        except ApiError as error:
            if error.code != "not_found":
                raise
            # The code is outside the contract's enum on purpose: that is the defect.
            raise ApiError(404, "connector_not_found", error.message) from error  # type: ignore[arg-type]

    return handle


# authorize-accepts-any-type: an unknown provider falls back to the default one.


def _authorize_any_type(call: Call) -> Reply:
    if call.inputs.path["type"] not in default_spec().oauth_types:
        call = _with_inputs(call, path={**call.inputs.path, "type": "google_drive"})
    return HANDLERS["authorizeOAuth"](call)


# oauth-accepts-unknown-state: a state with no flow behind it is taken as nothing to check.


def _free_name(tenant: Tenant, collection: str, base: str) -> str:
    taken = {connector.name for connector in tenant.connectors.values() if connector.collection == collection}
    name, number = base, 1
    while name in taken:
        number += 1
        name = f"{base} ({number})"
    return name


def _complete_oauth_unknown_state(call: Call) -> Reply:
    connector_type = call.inputs.path["type"]
    try:
        return HANDLERS["completeOAuth"](call)
    except ApiError as refused:
        # Only the unknown-state refusal is skipped, and only for OAuth types: a create of an
        # s3 connector with no config would be a second defect.
        if refused.code != "invalid_state" or connector_type not in default_spec().oauth_types:
            raise
    body, tenant = call.inputs.body, call.tenant
    # With no flow, nothing was given at authorizeOAuth: fall back to the team's first collection.
    collection = body.get("collection") or min(tenant.collections)
    connector = tenant.create_connector(
        name=body.get("name") or _free_name(tenant, collection, provider_name(connector_type)),
        connector_type=connector_type,
        collection=collection,
        config={},
        credentials={},
    )
    return Reply(201, connector.to_json())


# sync-not-exclusive: no check for a job already running.


def _trigger_regardless(call: Call) -> Reply:
    # Forgetting the running job is all it takes for the fake's 409 check to pass.
    call.tenant.get_connector(call.inputs.path["id"]).current_job = None
    return HANDLERS["triggerSync"](call)


# list-newest-first


def _list_newest_first(call: Call) -> Reply:
    reply = HANDLERS["listConnectors"](call)
    return Reply(reply.status, reply.data[::-1])


MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "no-rate-limit-headers",
        "No response carries X-RateLimit-Limit, -Remaining or -Reset.",
        lambda: build_app(fake_settings(rate_limit=None)),
    ),
    Mutant(
        "leaks-credentials",
        "getConnector and listConnectors return each connector's write-only `credentials`.",
        _with_handlers({"getConnector": _get_with_credentials, "listConnectors": _list_with_credentials}),
    ),
    Mutant(
        "keeps-deleted",
        "deleteConnector answers 204 but removes nothing: the connector can still be read, listed and changed.",
        _with_handlers({"deleteConnector": _delete_nothing}),
    ),
    Mutant(
        "progress-goes-backwards",
        "Every second getSyncStatus poll of a running job halves its counters, so they go down between polls "
        "(each answer on its own keeps collected >= parsed >= indexed).",
        _build_progress_goes_backwards,
    ),
    Mutant(
        "counters-out-of-order",
        "getSyncStatus reports `parsed` and `indexed` swapped, so a running job shows indexed > parsed.",
        _with_handlers({"getSyncStatus": _swapped_counters}),
    ),
    Mutant(
        "create-returns-200",
        "createConnector answers 200 instead of 201 (the body is right).",
        _with_handlers({"createConnector": _create_with_200}),
    ),
    Mutant(
        "accepts-invalid-bodies",
        "createConnector does not validate `config` against the type's schema (an s3 connector without "
        "`bucket`, or with `region: 5`, is created).",
        _build_accepts_invalid_bodies,
    ),
    Mutant(
        "ignores-auth",
        "A request without an Authorization header is served as the first API key's instead of a 401.",
        _wrapped(_DefaultKey),
    ),
    Mutant(
        "non-ascii-500",
        "createConnector and updateConnector answer 500 internal_error when `name` has a non-ASCII character.",
        _with_handlers(
            {
                "createConnector": _ascii_only_names(HANDLERS["createConnector"]),
                "updateConnector": _ascii_only_names(HANDLERS["updateConnector"]),
            }
        ),
    ),
    Mutant(
        "wrong-content-type",
        "Successful JSON responses say `Content-Type: text/plain` (the body is still JSON).",
        _wrapped(lambda app: _RewriteResponses(app, _json_said_as_text)),
    ),
    Mutant(
        "put-not-applied",
        "updateConnector answers 200 with the updated connector but keeps the old values: a later read "
        "shows nothing changed.",
        _with_handlers({"updateConnector": _update_rolled_back}),
    ),
    Mutant(
        "update-drops-config",
        "updateConnector replaces `config` with the keys sent (keeping only the type's required ones) instead "
        "of merging, so optional keys not sent, such as an s3 `prefix`, are lost.",
        _with_handlers({"updateConnector": _update_replacing_config}),
    ),
    Mutant(
        "jobs-never-finish",
        "Sync jobs stall 90% of the way through their run and stay `running` forever, leaving their connector "
        "`syncing`.",
        lambda: build_app(fake_settings(sync_scripts=_stuck_script)),
    ),
    Mutant(
        "last-sync-not-set",
        "A sync job completes and its connector returns to `active`, but the connector's `lastSync` is not updated.",
        _with_handlers({op: _forgetting_last_sync(handler) for op, handler in HANDLERS.items()}),
    ),
    Mutant(
        "tenants-see-each-other",
        "Every API key acts on the connectors of the first key that called, so teams see and change each other's.",
        _build_one_tenant,
    ),
    Mutant(
        "no-request-id",
        "Error responses (4xx, 5xx) have no `meta.requestId` (only `meta.timestamp`).",
        _wrapped(lambda app: _RewriteResponses(app, _error_meta_without_request_id)),
    ),
    Mutant(
        "undocumented-error-code",
        "A missing connector or job is a 404 with the code `connector_not_found`, which the contract does "
        "not list, instead of `not_found`.",
        _with_handlers({op: _renamed_not_found(handler) for op, handler in HANDLERS.items()}),
    ),
    Mutant(
        "authorize-accepts-any-type",
        "authorizeOAuth for a type that does not use OAuth (s3, github, ...) answers 200 with a Google Drive "
        "authorization instead of 400.",
        _with_handlers({"authorizeOAuth": _authorize_any_type}),
    ),
    Mutant(
        "oauth-accepts-unknown-state",
        "completeOAuth with a state that was never issued creates a connector (201) instead of 400 invalid_state.",
        _with_handlers({"completeOAuth": _complete_oauth_unknown_state}),
    ),
    Mutant(
        "sync-not-exclusive",
        "triggerSync while a job is running starts a second job (202) instead of answering 409 sync_in_progress.",
        _with_handlers({"triggerSync": _trigger_regardless}),
    ),
    Mutant(
        "list-newest-first",
        "listConnectors returns the connectors newest first instead of oldest first.",
        _with_handlers({"listConnectors": _list_newest_first}),
    ),
)
