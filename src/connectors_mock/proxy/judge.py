"""Each exchange judged against `openapi.yaml`, as the fake itself reads the contract: the
request with the fake's own input validation (`inputs.read_inputs`, the spec's compiled
validators), the answer's status, content type and body with the same validators, then the
contract suite's checks (`contract/checks.py`) and what `memory.py` knows of earlier answers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.routing import compile_path
from starlette.types import Message, Scope

from connectors_mock.auth import tenant_key, tenant_label
from connectors_mock.contract.checks import Exchange, NamedCheck, exchange_checks
from connectors_mock.contract.ledger import Ledger, Progress, contract_words
from connectors_mock.errors import ApiError, FieldError
from connectors_mock.inputs import read_inputs
from connectors_mock.json_text import parse_json
from connectors_mock.proxy.memory import DEFAULT_MAX_RESOURCES, Finding, Memory
from connectors_mock.proxy.violations import Side, Violations
from connectors_mock.spec import Operation, Spec

# Operations whose answer is one connector, and those that change one.
CONNECTOR_ANSWERS = frozenset({"createConnector", "getConnector", "updateConnector", "completeOAuth"})
WRITES = frozenset({"updateConnector", "deleteConnector"})
NAMED = frozenset({"getConnector", "updateConnector", "deleteConnector", "triggerSync", "getSyncStatus"})


class BoundedLedger(Ledger):
    """The suite's ledger with a memory limit: past `limit` secrets, plain values or jobs, the
    oldest are forgotten (a long day of traffic must not grow the proxy without end)."""

    def __init__(self, limit: int, vocabulary: frozenset[str] = frozenset()) -> None:
        super().__init__(vocabulary=vocabulary)
        self.limit = limit
        self._secret_order: dict[str, None] = {}
        self._plain_order: dict[str, None] = {}

    def record_sent(self, body: Any) -> None:
        before = set(self.plain_values)
        super().record_sent(body)
        _trim(self.plain_values, self._plain_order, self.plain_values - before, self.limit)

    def record_accepted_credentials(self, body: Any) -> None:
        before = set(self.secrets)
        super().record_accepted_credentials(body)
        _trim(self.secrets, self._secret_order, self.secrets - before, self.limit)

    def record_progress(self, job_id: str, progress: Progress) -> Progress | None:
        previous = super().record_progress(job_id, progress)
        while len(self.progress) > self.limit:
            del self.progress[next(iter(self.progress))]
        return previous


def _trim(values: set[str], order: dict[str, None], added: set[str], limit: int) -> None:
    for value in added:
        order[value] = None
    while len(order) > limit:
        oldest = next(iter(order))
        del order[oldest]
        values.discard(oldest)


@dataclass(frozen=True)
class Route:
    operation: Operation
    pattern: re.Pattern[str]


@dataclass
class Pending:
    """A request on its way: what the judge knows of it before the answer comes."""

    method: str
    path: str
    started: int
    headers: dict[str, str]
    operation: Operation | None = None
    path_params: dict[str, str] = field(default_factory=dict)
    tenant: str | None = None
    body: Any = None
    invalid: bool = False
    unauthenticated: bool = False
    writes: str | None = None  # the connector a write in flight names
    scope: Scope = field(default_factory=dict)
    raw_body: bytes | None = None
    # The request's violations (check, where, expected, found), reported with the answer.
    problems: list[tuple[str, str, str, str]] = field(default_factory=list)

    @property
    def operation_id(self) -> str | None:
        return self.operation.operation_id if self.operation else None


class Judge:
    def __init__(
        self,
        spec: Spec,
        *,
        violations: Violations | None = None,
        max_resources: int = DEFAULT_MAX_RESOURCES,
        job_timeout: float = 600.0,
    ) -> None:
        self.spec = spec
        self.violations = violations or Violations()
        self.memory = Memory(max_resources, job_timeout)
        self.ledger = BoundedLedger(max_resources, contract_words(spec.document))
        schemas = spec.document["components"]["schemas"]
        self.checks: list[NamedCheck] = exchange_checks(
            self.ledger, frozenset(schemas["ErrorCode"]["enum"]), schemas["RequestId"]["pattern"]
        )
        self.routes = [Route(op, compile_path(op.path)[0]) for op in spec.operations.values()]
        self.documented = {op.operation_id: self._documented(op) for op in spec.operations.values()}

    def _documented(self, operation: Operation) -> dict[str, tuple[str, ...]]:
        """The operation's documented statuses, each with the media types of its body."""
        escaped = operation.path.replace("~", "~0").replace("/", "~1")
        responses = self.spec.schema_at(f"/paths/{escaped}/{operation.method.lower()}").get("responses", {})
        documented = {}
        for status in responses:
            answer = self.spec.schema_at(f"/paths/{escaped}/{operation.method.lower()}/responses/{status}")
            documented[str(status)] = tuple(answer.get("content", {}))
        return documented

    def match(self, method: str, path: str) -> tuple[Operation | None, dict[str, str]]:
        method = "GET" if method == "HEAD" else method
        for route in self.routes:
            found = route.pattern.match(path)
            if found and route.operation.method == method:
                return route.operation, found.groupdict()
        return None, {}

    # The request ------------------------------------------------------------------------------

    def begin(self, scope: Scope, body: bytes | None) -> Pending:
        """Before a request is forwarded: its operation and team, and a write in flight noted.
        Its body (None: too large to judge) is judged with the answer, off the request's way."""
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        pending = Pending(scope["method"], scope["path"], self.memory.tick(), headers)
        pending.scope, pending.raw_body = scope, body
        operation, params = self.match(scope["method"], scope["path"])
        pending.operation, pending.path_params = operation, params
        if operation is None:
            self._request_violation(
                pending,
                "documented_operation",
                "$request",
                "an operation of openapi.yaml",
                f"{pending.method} {pending.path}",
            )
            return pending
        if operation.requires_auth:
            try:
                pending.tenant = tenant_label(tenant_key(headers, None))
            except ApiError as refused:
                if refused.status != 401:
                    return pending  # a malformed X-Team-ID: the parameters' validation names it
                pending.unauthenticated = True
                self._request_violation(
                    pending, "authorized", "header Authorization", "Bearer <API key>", refused.message
                )
        if pending.tenant is not None and operation.operation_id in WRITES and "id" in params:
            pending.writes = params["id"]
            self.memory.write_begins(pending.tenant, params["id"], pending.started)
        return pending

    async def judge_request(self, pending: Pending) -> None:
        """The request's parameters and body against the spec, once."""
        scope, body = pending.scope, pending.raw_body
        pending.scope, pending.raw_body = {}, None
        if pending.operation is None or body is None:
            return
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        request = Request({**scope, "path_params": pending.path_params}, receive)
        try:
            inputs = await read_inputs(request, pending.operation)
            pending.body = inputs.body
        except ApiError as refused:
            if refused.status == 413:
                return  # larger than the fake takes; the real service may take it
            if refused.field_errors:
                for error in refused.field_errors:
                    where = error.path if error.location == "body" else f"{error.location} {error.path}"
                    self._request_violation(
                        pending, "request_schema", where, "valid against openapi.yaml", error.message
                    )
            else:
                where = "header Content-Type" if refused.status == 415 else "$"
                self._request_violation(
                    pending, "request_body", where, "a JSON body openapi.yaml allows", refused.message
                )
        if pending.body is None and body:
            try:
                pending.body = parse_json(body)
            except ApiError:
                pending.body = None
        self.ledger.record_sent(pending.body)

    def _request_violation(self, pending: Pending, check: str, where: str, expected: str, found: str) -> None:
        """Kept until the answer comes, so the report names its request id and status."""
        pending.invalid = True
        pending.problems.append((check, where, expected, found))

    def _report_request(self, pending: Pending, status: int | None, request_id: str | None) -> None:
        for check, where, expected, found in pending.problems:
            self._add(
                pending, status, "request", check, where=where, expected=expected, found=found, request_id=request_id
            )
        pending.problems.clear()

    def _add(
        self,
        pending: Pending,
        status: int | None,
        side: Side,
        check: str,
        *,
        where: str,
        expected: str,
        found: str,
        request_id: str | None,
    ) -> None:
        self.violations.add(
            side,
            check,
            operation=pending.operation_id,
            method=pending.method,
            path=pending.path,
            request_id=request_id,
            status=status,
            where=where,
            expected=expected,
            found=found,
        )

    def abandon(self, pending: Pending) -> None:
        """The upstream never answered (or not whole): report the request, forget the write in flight."""
        self._report_request(pending, None, pending.headers.get("x-request-id"))
        if pending.writes is not None and pending.tenant is not None:
            self.memory.write_ends(pending.tenant, pending.writes)
            pending.writes = None

    # The answer -------------------------------------------------------------------------------

    async def end(
        self, pending: Pending, status: int, headers: Mapping[str, str], content: bytes | None
    ) -> Exchange | None:
        """Judge the answer (`content` None: too large, or encoded, to read) and remember what it
        says; returns the exchange, for the recorder."""
        await self.judge_request(pending)
        self.violations.exchanges += 1
        exchange = Exchange(
            pending.operation_id or "", status, content or b"", dict(headers), pending.headers, pending.body
        )
        request_id = headers.get("x-request-id") or _meta_request_id(exchange) or pending.headers.get("x-request-id")
        self._report_request(pending, status, request_id)
        self.abandon(pending)

        def add(side: Side, check: str, where: str, expected: str, found: str) -> None:
            self._add(pending, status, side, check, where=where, expected=expected, found=found, request_id=request_id)

        operation = pending.operation
        if operation is not None:
            self._judge_answer(pending, operation, exchange, content is not None, add)
        for check in self.checks:
            if content is None and check.where.startswith("$"):
                continue
            try:
                check.run(exchange)
            except AssertionError as failed:
                # The first line: under pytest, assertion rewriting appends an explanation.
                add(check.side, check.name, check.where, check.expected, str(failed).split("\n", 1)[0])
        if operation is not None and pending.tenant is not None and 200 <= status < 300 and content is not None:
            for finding in self._remember(pending, operation.operation_id, exchange):
                add("invariant", finding.check, finding.where, finding.expected, finding.found)
        return exchange

    def _judge_answer(
        self, pending: Pending, operation: Operation, exchange: Exchange, readable: bool, add: Any
    ) -> None:
        status = exchange.status
        documented = self.documented[operation.operation_id]
        key = str(status) if str(status) in documented else f"{status // 100}XX"
        if key not in documented:
            key = "default"
        if key not in documented:
            add("response", "status_documented", "status", f"one of {', '.join(documented)}", str(status))
            return
        if status >= 500 and status != 503:
            add("response", "not_a_server_error", "status", "an answer, not a server error", str(status))
        if pending.unauthenticated and status < 500 and status not in (401, 429):
            # Who is calling is settled first: a request without a key is a 401, whatever else it is.
            add("response", "requires_auth", "status", "401: no API key", str(status))
        elif pending.invalid and 200 <= status < 300:
            add(
                "response",
                "refuses_invalid_requests",
                "status",
                "4xx: the request breaks the contract (see its request violations)",
                str(status),
            )
        if pending.method != "HEAD":
            self._judge_body(pending, operation, exchange, key, readable=readable, add=add)

    def _judge_body(
        self, pending: Pending, operation: Operation, exchange: Exchange, key: str, *, readable: bool, add: Any
    ) -> None:
        media_types = self.documented[operation.operation_id][key]
        content_type = exchange.header("content-type")
        media_type = (content_type or "").split(";", 1)[0].strip().lower()
        if not media_types:
            if exchange.content:
                add("response", "content_type", "$", "no body", f"{len(exchange.content)} bytes")
            return
        if media_type not in media_types:
            add("response", "content_type", "header Content-Type", " or ".join(media_types), repr(content_type))
            return
        if not readable:
            return
        if exchange.body is None:
            add("response", "response_schema", "$", "a JSON body", "not JSON")
            return
        validator = operation.response_validators.get(key)
        if validator is not None:
            errors = validator.errors(exchange.body)
            if errors:
                # Told again with secrets as placeholders: an error quotes the value it is about.
                safe = redacted(exchange.body, self.ledger.secrets)
                if safe is not exchange.body:
                    errors = validator.errors(safe) or [
                        FieldError("body", error.path, "a secret's value that is not valid (not shown)")
                        for error in errors
                    ]
            for error in errors:
                add("response", "response_schema", error.path, "valid against openapi.yaml", error.message)
        for where, expected, found in self._contract_rules(pending, operation.operation_id, exchange):
            add("response", "contract_rules", where, expected, found)

    def _contract_rules(self, pending: Pending, operation_id: str, exchange: Exchange) -> list[tuple[str, str, str]]:
        """What the contract says in words, for answers the schema accepts."""
        problems: list[tuple[str, str, str]] = []
        data, status = exchange.data, exchange.status
        if not 200 <= status < 300:
            return problems
        if operation_id == "listConnectors" and isinstance(data, list):
            stamps = [item.get("createdAt") for item in data if isinstance(item, dict)]
            if all(isinstance(stamp, str) for stamp in stamps):
                from datetime import datetime  # noqa: PLC0415

                try:
                    instants = [datetime.fromisoformat(str(stamp)) for stamp in stamps]
                except ValueError:
                    instants = []
                if instants != sorted(instants):
                    problems.append(("$.data", "oldest first (by createdAt)", "another order"))
        if operation_id == "authorizeOAuth" and pending.path_params.get("type") not in self.spec.oauth_types:
            problems.append(("status", "400: the type does not use OAuth", str(status)))
        if (
            operation_id in ("triggerSync", "getSyncStatus")
            and isinstance(data, dict)
            and data.get("connectorId") != pending.path_params.get("id")
        ):
            problems.append(("$.data.connectorId", repr(pending.path_params.get("id")), repr(data.get("connectorId"))))
        return problems

    def _remember(self, pending: Pending, operation_id: str, exchange: Exchange) -> list[Finding]:
        tenant, memory, data = pending.tenant, self.memory, exchange.data
        assert tenant is not None
        connector_id = pending.path_params.get("id")
        settled = memory.tick()
        if operation_id in ("createConnector", "completeOAuth") and isinstance(data, dict):
            sent = pending.body if operation_id == "createConnector" else None
            return memory.created(tenant, sent, data, settled)
        if connector_id is None:
            return memory.listed(tenant, data, pending.started) if isinstance(data, list) else []
        if operation_id == "updateConnector" and isinstance(data, dict):
            return memory.updated(tenant, connector_id, pending.body, data, started=pending.started, settled=settled)
        if operation_id == "deleteConnector":
            findings = memory.read(tenant, connector_id, None, pending.started)
            memory.deleted(tenant, connector_id, settled)
            return findings
        if operation_id == "getConnector" and isinstance(data, dict):
            return memory.read(tenant, connector_id, data, pending.started)
        findings = memory.read(tenant, connector_id, None, pending.started)
        if operation_id == "triggerSync" and isinstance(data, dict):
            memory.sync_started(tenant, connector_id, data, settled)
        if operation_id == "getSyncStatus" and isinstance(data, dict):
            findings += memory.job_read(tenant, connector_id, data, pending.started)
        return findings


REDACTED = "<credential>"
# Field names whose values are secrets wherever they are (as `masking.py` judges a request's,
# but not `code`, which an error envelope uses for its error code).
_SECRET_SUFFIXES = ("token", "secret", "password", "apikey", "secretaccesskey")


def _secret_field(key: object) -> bool:
    if not isinstance(key, str):
        return False
    name = key.lower().replace("_", "").replace("-", "")
    return name == "credentials" or name.endswith(_SECRET_SUFFIXES)


def redacted(value: Any, secrets: set[str], *, hidden: bool = False) -> Any:
    """`value` with every credential the proxy saw accepted, and everything under a secret's
    field name (`credentials`, `*token`, ...), replaced by a placeholder; `value` itself when
    there is none. A schema error quotes the value it is about, cut short: never one of these."""
    if isinstance(value, str):
        return REDACTED if hidden or value in secrets else value
    if isinstance(value, dict):
        copy = {key: redacted(item, secrets, hidden=hidden or _secret_field(key)) for key, item in value.items()}
        return value if copy == value else copy
    if isinstance(value, list):
        items = [redacted(item, secrets, hidden=hidden) for item in value]
        return value if items == value else items
    return value


def _meta_request_id(exchange: Exchange) -> str | None:
    body = exchange.body
    meta = body.get("meta") if isinstance(body, dict) else None
    rid = meta.get("requestId") if isinstance(meta, dict) else None
    return rid if isinstance(rid, str) else None
