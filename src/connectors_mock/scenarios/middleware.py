"""The ASGI middleware that carries out scenarios on API requests (rate limits, latency,
errors, dropped connections, broken bodies) and writes every API request to the journal.

It sits inside CORS, so a browser can read an injected error, and outside the routes, so a
fault strikes before the request is read, as a failing network or gateway would. `/_mock`
requests, and the pages `/` and `/docs`, pass untouched and unrecorded.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connectors_mock.auth import tenant_key, tenant_label
from connectors_mock.clock import Clock
from connectors_mock.errors import ApiError
from connectors_mock.inputs import ABSENT, PARSED_BODY_SCOPE_KEY, sent_headers
from connectors_mock.inputs import MAX_BODY_BYTES as REQUEST_BODY_LIMIT
from connectors_mock.journal import MAX_BODY_BYTES, Journal, JournalEntry, body_for_journal
from connectors_mock.json_text import to_json_bytes
from connectors_mock.masking import mask_query
from connectors_mock.pages import PAGE_PATHS
from connectors_mock.responses import TENANT_SCOPE_KEY, Envelope
from connectors_mock.scenarios.engine import (
    NO_FAULT,
    Decision,
    RequestFacts,
    ScenarioLibrary,
    UnknownScenario,
    View,
)
from connectors_mock.scenarios.model import ErrorReply, FaultRule, RateLimit
from connectors_mock.server import connection
from connectors_mock.spec import Spec
from connectors_mock.tenancy import TenantRoster

# Where the endpoint finds the view its request was served under (sync scripts, OAuth).
VIEW_SCOPE_KEY = "connectors_mock.scenario_view"
# Set when the client went away before the request was read in full (`app._error_handlers`).
DISCONNECTED_SCOPE_KEY = "connectors_mock.disconnected"
SCENARIO_HEADER = "x-mock-scenario"


class OperationRouter:
    """Path and method to `operationId` and path template, as the contract has them."""

    def __init__(self, spec: Spec) -> None:
        operations = sorted(spec.operations.values(), key=lambda op: op.path.count("{"))
        self._routes = [(compile_path(op.path)[0], op.method.upper(), op.operation_id, op.path) for op in operations]

    def match(self, method: str, path: str) -> tuple[str | None, str | None]:
        method = "GET" if method == "HEAD" else method
        template = None
        for regex, op_method, operation_id, op_path in self._routes:
            if regex.match(path):
                if op_method == method:
                    return operation_id, op_path
                template = template or op_path
        return None, template


@dataclass(slots=True)
class _Exchange:
    """What the journal needs from one request, gathered while it is served."""

    body: bytearray
    # The whole body's size as read; `body` keeps only its start.
    body_size: int = 0
    status: int | None = None
    error_body: bytearray | None = None
    view: View | None = None
    decision: Decision = NO_FAULT
    # What happened besides an answer (`JournalEntry.note`).
    note: str | None = None
    # Added to the response's headers (the rate limit's), lower-case names, encoded.
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)


class ScenarioMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        library: ScenarioLibrary,
        journal: Journal,
        envelope: Envelope,
        clock: Clock,
        router: OperationRouter,
        api_keys: frozenset[str] | None,
        roster: TenantRoster,
        plan: RateLimit | None = None,
    ) -> None:
        self.app = app
        self.library = library
        self.journal = journal
        self.envelope = envelope
        self.clock = clock
        self.router = router
        self.api_keys = api_keys
        self.roster = roster
        # The rate limit every API response reports (`--rate-limit`), unless a scenario has one.
        self.plan = plan

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A CORS preflight never gets here: the CORS middleware outside answers it. The fake's
        # own pages (`/`, `/docs`) are no API request: no scenario reaches them, no journal.
        if scope["type"] != "http" or scope["path"].startswith("/_mock/") or scope["path"] in PAGE_PATHS:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        at = self.clock.now()
        request = Request(scope)
        headers = sent_headers(scope)
        try:
            tenant: str | None = tenant_key(headers, self.api_keys)
            counted = tenant
        except ApiError as refused:
            tenant = None  # the endpoint answers 401 or 422; no tenant's faults apply
            # A team the contract refuses still counts against its key's plan; a refused key has none.
            counted = _key_alone(headers, self.api_keys) if refused.status == 422 else None
        if counted is not None:
            self.roster.seen(counted)
        scope[TENANT_SCOPE_KEY] = tenant
        operation_id, template = self.router.match(scope["method"], scope["path"])
        exchange = _Exchange(bytearray())
        receiving, sending = _recording(receive, exchange), _recording_send(send, exchange)
        try:
            try:
                exchange.view = self.library.view_for(tenant, headers.get(SCENARIO_HEADER))
            except UnknownScenario as unknown:
                error = ApiError(400, "invalid_parameter", f"X-Mock-Scenario: {unknown}")
                await self.envelope.error(request, error)(scope, receiving, sending)
                return
            scope[VIEW_SCOPE_KEY] = exchange.view
            # A HEAD is a GET without the body, for `match.method` as for the router.
            method = "GET" if scope["method"] == "HEAD" else scope["method"]
            facts = RequestFacts(method, scope["path"], operation_id, template, tenant, headers)
            await self._serve(
                request, receiving, sending, view=exchange.view, exchange=exchange, facts=facts, counted=counted
            )
        finally:
            if scope.get(DISCONNECTED_SCOPE_KEY):
                exchange.status, exchange.error_body, exchange.note = None, None, "client disconnected"
            # Also when the app raised: "which call got the 500?" is what a journal is for.
            self.journal.record(
                JournalEntry(
                    request_id=self.envelope.request_id(request),
                    at=at,
                    method=scope["method"],
                    path=scope["path"],
                    query=mask_query(request.query_params) if scope["query_string"] else {},
                    operation_id=operation_id,
                    tenant=tenant_label(tenant) if tenant is not None else None,
                    scenario=exchange.view.label if exchange.view else None,
                    fault=exchange.decision.label,
                    status=exchange.status,
                    error_code=_error_code(exchange.error_body),
                    duration_ms=(time.perf_counter() - started) * 1000,
                    request_body=body_for_journal(
                        bytes(exchange.body),
                        size=_body_size(headers, exchange),
                        parsed=scope.get(PARSED_BODY_SCOPE_KEY, ABSENT),
                    ),
                    note=exchange.note,
                )
            )

    async def _serve(
        self,
        request: Request,
        receive: Receive,
        send: Send,
        *,
        view: View,
        exchange: _Exchange,
        facts: RequestFacts,
        counted: str | None,
    ) -> None:
        scope = request.scope
        rate = self.library.take(view, counted, self.plan) if counted is not None else None
        if rate is not None:
            exchange.headers = rate.headers
        if rate is not None and rate.retry_after is not None:
            await self.envelope.error(request, rate.refusal())(scope, receive, send)
            return
        decision = exchange.decision = self.library.decide(view, facts)
        if decision.latency_ms and await _stopped_while_waiting(scope, decision.latency_ms / 1000):
            # End the connection, as a server going down does, rather than answer a bare 500.
            exchange.note = "server stopping"
            conn = connection(scope)
            assert conn is not None
            conn.close()
            await _until_disconnect(receive)
            return
        outcome = decision.outcome
        if outcome is None:
            await self.app(scope, receive, send)
        elif outcome.error is not None:
            await _error_response(self.envelope, request, outcome.error)(scope, receive, send)
        elif outcome.drop is not None:
            await _drop(scope, receive, outcome)
        else:
            await _broken_body(self.app, scope, receive, send, outcome)


async def _stopped_while_waiting(scope: Scope, seconds: float) -> bool:
    """Wait `seconds`, unless the server begins to stop first (then True)."""
    conn = connection(scope)
    if conn is None:
        await asyncio.sleep(seconds)
        return False
    stopping = asyncio.ensure_future(conn.stopping.wait())
    try:
        await asyncio.wait_for(asyncio.shield(stopping), seconds)
    except TimeoutError:
        return False
    except asyncio.CancelledError:
        # Cancelled all the same (a stop that did not say so first): the server is stopping.
        return True
    finally:
        stopping.cancel()
    return True


def _key_alone(headers: Mapping[str, str], api_keys: frozenset[str] | None) -> str | None:
    """The request's key when the fake takes it, its team left out."""
    try:
        return tenant_key({name: value for name, value in headers.items() if name != "x-team-id"}, api_keys)
    except ApiError:
        return None


def _error_response(envelope: Envelope, request: Request, reply: ErrorReply) -> Response:
    if reply.has_body:
        # The scenario's body as written, but still with the request id the journal records.
        headers = {**dict(reply.headers), "X-Request-ID": envelope.request_id(request)}
        if reply.retry_after is not None and not _has_header(reply, "retry-after"):
            headers["Retry-After"] = str(reply.retry_after)
        if isinstance(reply.body, str):
            # Text, such as a gateway's HTML page, goes as written (say its type in `headers`).
            media_type = next((v for k, v in reply.headers if k.lower() == "content-type"), "text/plain")
            return Response(reply.body, reply.status, headers, media_type=media_type)
        return Response(to_json_bytes(reply.body), reply.status, headers, media_type="application/json")
    # A `Retry-After` in `headers` is the scenario's word; `retry_after` does not add another.
    retry_after = None if _has_header(reply, "retry-after") else reply.retry_after
    error = ApiError(reply.status, reply.code, reply.message, headers=dict(reply.headers), retry_after=retry_after)
    return envelope.error(request, error)


def _has_header(reply: ErrorReply, name: str) -> bool:
    return any(key.lower() == name for key, _ in reply.headers)


async def _drop(scope: Scope, receive: Receive, rule: FaultRule) -> None:
    conn = connection(scope)
    if conn is None:
        raise ConnectionAbortedError(
            f"scenario rule {rule.name} dropped the connection; serve with connectors_mock.server to see it "
            f"as a closed socket"
        )
    if rule.drop == "reset":
        conn.reset()
    else:
        # Read what the client sent first: closing over unread data makes the kernel reset the
        # connection, which is the other kind of drop.
        await _drain(receive)
        conn.close()
    await _until_disconnect(receive)


async def _drain(receive: Receive) -> None:
    read = 0
    while read <= REQUEST_BODY_LIMIT:
        message = await receive()
        if message["type"] != "http.request":
            return
        read += len(message.get("body", b""))
        if not message.get("more_body"):
            return


async def _broken_body(app: ASGIApp, scope: Scope, receive: Receive, send: Send, rule: FaultRule) -> None:
    """Serve the request, then send its response with the body cut: short of its promised
    length before the connection closes (`truncated`), or cut to invalid JSON (`malformed`)."""
    messages: list[Message] = []

    async def keep(message: Message) -> None:
        messages.append(message)

    await app(scope, receive, keep)
    start = next(m for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    if not body:
        # Nothing to break (a 204): the response goes as it is.
        await send(start)
        await send({"type": "http.response.body", "body": b""})
        return
    cut = body[: len(body) // 2]
    if rule.body == "malformed":
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        await send({**start, "headers": [*headers, (b"content-length", str(len(cut)).encode())]})
        await send({"type": "http.response.body", "body": cut})
        return
    conn = connection(scope)
    await send(start)
    await send({"type": "http.response.body", "body": cut, "more_body": True})
    if conn is None:
        raise ConnectionAbortedError(f"scenario rule {rule.name} cut the response body short")
    conn.close()
    await _until_disconnect(receive)


async def _until_disconnect(receive: Receive) -> None:
    """Wait for the server to notice the closed connection, so it neither answers in our
    place nor logs a response that never started."""
    while (await receive())["type"] != "http.disconnect":
        pass


def _recording(receive: Receive, exchange: _Exchange) -> Receive:
    async def receiving() -> Message:
        message = await receive()
        if message["type"] == "http.request":
            chunk = message.get("body", b"")
            exchange.body_size += len(chunk)
            if len(exchange.body) <= MAX_BODY_BYTES:
                exchange.body += chunk
        return message

    return receiving


def _recording_send(send: Send, exchange: _Exchange) -> Send:
    """`send`, noting the status and an error's body, and adding `exchange.headers`."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            if exchange.headers:
                message = {**message, "headers": [*message.get("headers", []), *exchange.headers]}
            exchange.status = message["status"]
            if exchange.status >= 400:
                exchange.error_body = bytearray()
        elif (
            message["type"] == "http.response.body"
            and exchange.error_body is not None
            # Only as far as its code: an error body is small, a gateway's need not be.
            and len(exchange.error_body) <= MAX_BODY_BYTES
        ):
            exchange.error_body += message.get("body", b"")
        await send(message)

    return sending


def _body_size(headers: Mapping[str, str], exchange: _Exchange) -> int:
    """The request body's size: as declared, when a fault answered before reading it all."""
    declared = headers.get("content-length", "")
    return max(exchange.body_size, int(declared)) if declared.isdigit() else exchange.body_size


def _error_code(body: bytearray | None) -> str | None:
    if not body:
        return None
    try:
        document: Any = json.loads(body)
        code = document["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None
    return code if isinstance(code, str) else None
