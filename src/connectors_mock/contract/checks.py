"""Checks for what the schema cannot say. Each is written once, on an `Exchange` (one request
and its answer as any observer sees them), and used twice:

- by the contract suite, as schemathesis checks (`named_checks`): each runs on every response
  the suite gets, generated or hand-made, and a failure names the check and prints the request
  as a curl command;
- by the proxy (`connectors_mock.proxy`), on the traffic it forwards (`exchange_checks`).

They are built per run because two of them remember what came before (a `Ledger`): the
credentials a server accepted, and the progress each sync job has shown.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from connectors_mock.contract.ledger import Ledger, Progress, string_leaves

if TYPE_CHECKING:
    import requests
    from schemathesis import Case, CheckContext, Response

Check = Callable[["CheckContext", "Response", "Case[Any]"], "bool | None"]
SYNC_OPERATIONS = frozenset({"triggerSync", "getSyncStatus"})
RATE_LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
# `response`: the answer breaks the contract on its own; `invariant`: it contradicts an earlier one.
Side = Literal["response", "invariant"]


def operation_id(case: Case[Any]) -> str:
    return str(case.operation.definition.raw.get("operationId", ""))


def parsed_json(content: bytes) -> Any:
    """The parsed body, or None when there is none or it is not JSON (other checks say so)."""
    if not content:
        return None
    try:
        return json.loads(content)
    except ValueError:
        return None


def json_body(response: Response | requests.Response) -> Any:
    return parsed_json(response.content)


def response_data(response: Response | requests.Response) -> Any:
    """The envelope's `data`, or None when the body has none."""
    body = json_body(response)
    return body.get("data") if isinstance(body, dict) else None


def header(response: Response, name: str) -> str | None:
    for key, values in response.headers.items():
        if key.lower() == name.lower() and values:
            return values[0]
    return None


def sent_header(case: Case[Any], name: str) -> Any:
    for key, value in (case.headers or {}).items():
        if key.lower() == name.lower():
            return value
    return None


@dataclass(frozen=True)
class Exchange:
    """One request and its answer: headers by lower-case name, the request's JSON body (None
    without one), the response's bytes as received."""

    operation_id: str
    status: int
    content: bytes
    response_headers: Mapping[str, str] = field(default_factory=dict)
    request_headers: Mapping[str, str] = field(default_factory=dict)
    request_body: Any = None

    @cached_property
    def body(self) -> Any:
        return parsed_json(self.content)

    @property
    def data(self) -> Any:
        return self.body.get("data") if isinstance(self.body, dict) else None

    def header(self, name: str) -> str | None:
        return self.response_headers.get(name.lower())

    def sent(self, name: str) -> str | None:
        return self.request_headers.get(name.lower())


def exchange_of(case: Case[Any], response: Response) -> Exchange:
    """What the suite sent and got, as an `Exchange`."""
    sent = {str(key).lower(): str(value) for key, value in (case.headers or {}).items()}
    received = {key.lower(): values[0] for key, values in response.headers.items() if values}
    body = case.body if isinstance(case.body, dict | list | str | int | float | bool) else None
    return Exchange(operation_id(case), response.status_code, response.content, received, sent, body)


@dataclass(frozen=True)
class NamedCheck:
    """A check, where in the answer it looks and what it expects there (for the proxy's report)."""

    name: str
    side: Side
    where: str
    expected: str
    run: Callable[[Exchange], None]


def leaked_at(ledger: Ledger, value: Any, path: str = "$") -> Iterator[str]:
    """The JSON paths of the strings in `value` that are credentials the server accepted."""
    if isinstance(value, str):
        if value in ledger.secrets and value not in ledger.plain_values:
            yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from leaked_at(ledger, item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaked_at(ledger, item, f"{path}[{index}]")


def exchange_checks(ledger: Ledger, error_codes: frozenset[str], request_id_pattern: str) -> list[NamedCheck]:
    request_id = re.compile(request_id_pattern)

    def credentials_never_returned(exchange: Exchange) -> None:
        if exchange.operation_id == "createConnector" and 200 <= exchange.status < 300:
            ledger.record_accepted_credentials(exchange.request_body)
        if not ledger.secrets or not any(s in ledger.secrets for s in string_leaves(exchange.body)):
            return
        # Where, never what: the report must not repeat a secret.
        leaked = list(leaked_at(ledger, exchange.body))
        assert not leaked, (
            "Credentials are write-only, but this response contains credentials sent at create, at "
            + ", ".join(leaked[:10])
        )

    def request_id_in_meta(exchange: Exchange) -> None:
        body = exchange.body
        if not exchange.content or body is None:
            return  # a 204, or a body another check already refuses
        meta = body.get("meta") if isinstance(body, dict) else None
        rid = meta.get("requestId") if isinstance(meta, dict) else None
        assert isinstance(rid, str), "The response has no `meta.requestId`"
        assert rid, "The response's `meta.requestId` is empty"
        echoed = exchange.header("X-Request-ID")
        assert echoed in (None, rid), f"`X-Request-ID` is {echoed!r} but `meta.requestId` is {rid!r}"
        sent = exchange.sent("X-Request-ID")
        if isinstance(sent, str) and request_id.fullmatch(sent) and exchange.status < 400:
            assert rid == sent, f"The request's `X-Request-ID` {sent!r} came back as `meta.requestId` {rid!r}"

    def error_envelope(exchange: Exchange) -> None:
        if exchange.status < 400:
            return
        body = exchange.body
        error = body.get("error") if isinstance(body, dict) else None
        assert isinstance(error, dict), f"A {exchange.status} without the error envelope `{{error, meta}}`"
        code, message = error.get("code"), error.get("message")
        assert code in error_codes, f"{code!r} is not a documented error code"
        assert isinstance(message, str), "The error has no message"
        assert message, "The error's message is empty"

    def sync_progress_ordered(exchange: Exchange) -> None:
        job, progress = _job_progress(exchange)
        if progress is None:
            return
        assert progress.collected >= progress.parsed >= progress.indexed, (
            f"Documents are collected, then parsed, then indexed, but the job shows {progress._asdict()}"
        )
        if job.get("status") == "completed":
            assert progress.collected == progress.indexed, f"A completed job with unequal counters {progress._asdict()}"

    def sync_progress_never_goes_back(exchange: Exchange) -> None:
        job, progress = _job_progress(exchange)
        if progress is None:
            return
        previous = ledger.record_progress(str(job.get("jobId")), progress)
        assert previous is None, (
            f"Job {job.get('jobId')}'s counters went down: {previous._asdict() if previous else ''} "
            f"before, {progress._asdict()} now"
        )

    plan = ", ".join(RATE_LIMIT_HEADERS)
    return [
        NamedCheck(
            "credentials_never_returned", "response", "$", "no credential sent at create", credentials_never_returned
        ),
        NamedCheck(
            "request_id_in_meta",
            "response",
            "$.meta.requestId",
            "the request id, as in X-Request-ID",
            request_id_in_meta,
        ),
        NamedCheck("error_envelope", "response", "$.error", "{code, message} with a documented code", error_envelope),
        NamedCheck(
            "sync_progress_ordered",
            "response",
            "$.data.progress",
            "collected >= parsed >= indexed, all equal once completed",
            sync_progress_ordered,
        ),
        NamedCheck(
            "sync_progress_never_goes_back",
            "invariant",
            "$.data.progress",
            "no counter below the job's previous answer",
            sync_progress_never_goes_back,
        ),
        NamedCheck("rate_limit_reported", "response", f"headers {plan}", "the plan, consistent", rate_limit_reported),
    ]


def _job_progress(exchange: Exchange) -> tuple[dict[str, Any], Progress | None]:
    """A sync job's answer and its counters, or None when this is not one (or the schema
    check refuses it)."""
    if exchange.operation_id not in SYNC_OPERATIONS or not 200 <= exchange.status < 300:
        return {}, None
    job = exchange.data
    if not isinstance(job, dict) or not isinstance(job.get("progress"), dict):
        return {}, None
    counts = job["progress"]
    progress = Progress(counts.get("collected"), counts.get("parsed"), counts.get("indexed"))
    if not all(isinstance(count, int) for count in progress):
        return {}, None
    return job, progress


def rate_limit_reported(exchange: Exchange) -> None:
    """Every answer but a 401 reports the key's plan, and what it reports holds together."""
    if exchange.status == 401:
        return
    values = {name: exchange.header(name) for name in RATE_LIMIT_HEADERS}
    missing = [name for name, value in values.items() if value is None]
    assert not missing, f"A {exchange.status} without {', '.join(missing)}: every answer but a 401 reports them"
    numbers = {name: int(value) for name, value in values.items() if value is not None and value.isdigit()}
    assert len(numbers) == len(values), f"The rate-limit headers are not whole numbers: {values}"
    limit, remaining = numbers["X-RateLimit-Limit"], numbers["X-RateLimit-Remaining"]
    assert remaining <= limit, f"X-RateLimit-Remaining {remaining} is more than X-RateLimit-Limit {limit}"
    if exchange.status == 429:
        assert remaining == 0, f"A 429 with X-RateLimit-Remaining {remaining}: requests were left"
        assert exchange.header("Retry-After") is not None, "A 429 without Retry-After"


def as_schemathesis_check(name: str, *runs: Callable[[Exchange], None]) -> Check:
    """Checks on an `Exchange` as one schemathesis check named `name`."""

    def check(ctx: CheckContext, response: Response, case: Case[Any]) -> None:
        exchange = exchange_of(case, response)
        for run in runs:
            run(exchange)

    check.__name__ = check.__qualname__ = name
    return check


def named_checks(ledger: Ledger, error_codes: frozenset[str], request_id_pattern: str) -> list[Check]:
    """The suite's checks. A job's counters are one check in the suite's reports: in order
    within an answer, then never below the previous one."""
    checks = {check.name: check.run for check in exchange_checks(ledger, error_codes, request_id_pattern)}
    progress = (checks.pop("sync_progress_ordered"), checks.pop("sync_progress_never_goes_back"))
    rate_limit = checks.pop("rate_limit_reported")
    return [
        *(as_schemathesis_check(name, run) for name, run in checks.items()),
        as_schemathesis_check("sync_progress_ordered", *progress),
        as_schemathesis_check("rate_limit_reported", rate_limit),
        ignored_auth_once_per_operation(),
    ]


def ignored_auth_once_per_operation() -> Check:
    """Schemathesis's `ignored_auth`, with the memory its own runner gives it: once an
    operation has refused a request without a key and one with a wrong key, it is not asked
    again in this run. Called through pytest, the check has no such memory and sends both probes
    after every successful answer: two requests in three of a run, and a sixth of its time.
    (schemathesis.toml turns the built-in off, so it does not run twice.)"""
    from schemathesis.specs.openapi.checks import ignored_auth  # noqa: PLC0415 (see plugin.configured_schema)

    enforced: set[str] = set()

    def check(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
        if ctx.auth_enforced_operations is None:
            ctx.auth_enforced_operations = enforced
        result: bool | None = ignored_auth(ctx, response, case)
        return result

    # Failures name the check: the same name as the built-in's.
    check.__name__ = check.__qualname__ = "ignored_auth"
    return check
