"""Checks for what the schema cannot say, as schemathesis checks: each runs on every response
the suite gets, generated or hand-made, and a failure names the check and prints the request
as a curl command.

They are built per run (`named_checks`) because two of them remember what came before: the
credentials a server accepted, and the progress each sync job has shown.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from connectors_mock.contract.ledger import Ledger, Progress

if TYPE_CHECKING:
    import requests
    from schemathesis import Case, CheckContext, Response

Check = Callable[["CheckContext", "Response", "Case[Any]"], "bool | None"]
SYNC_OPERATIONS = frozenset({"triggerSync", "getSyncStatus"})
RATE_LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def operation_id(case: Case[Any]) -> str:
    return str(case.operation.definition.raw.get("operationId", ""))


def json_body(response: Response | requests.Response) -> Any:
    """The parsed body, or None when there is none or it is not JSON (other checks say so)."""
    if not response.content:
        return None
    try:
        return json.loads(response.content)
    except ValueError:
        return None


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


def shown(secret: str) -> str:
    return secret[:4] + "…"


def named_checks(ledger: Ledger, error_codes: frozenset[str], request_id_pattern: str) -> list[Check]:
    request_id = re.compile(request_id_pattern)

    def credentials_never_returned(ctx: CheckContext, response: Response, case: Case[Any]) -> None:
        if operation_id(case) == "createConnector" and 200 <= response.status_code < 300:
            ledger.record_accepted_credentials(case.body)
        leaked = ledger.leaked(json_body(response))
        assert not leaked, (
            "Credentials are write-only, but this response contains credentials sent at create: "
            + ", ".join(shown(secret) for secret in leaked)
        )

    def request_id_in_meta(ctx: CheckContext, response: Response, case: Case[Any]) -> None:
        body = json_body(response)
        if not response.content or body is None:
            return  # a 204, or a body another check already refuses
        meta = body.get("meta") if isinstance(body, dict) else None
        rid = meta.get("requestId") if isinstance(meta, dict) else None
        assert isinstance(rid, str), "The response has no `meta.requestId`"
        assert rid, "The response's `meta.requestId` is empty"
        echoed = header(response, "X-Request-ID")
        assert echoed in (None, rid), f"`X-Request-ID` is {echoed!r} but `meta.requestId` is {rid!r}"
        sent = sent_header(case, "X-Request-ID")
        if isinstance(sent, str) and request_id.fullmatch(sent) and response.status_code < 400:
            assert rid == sent, f"The request's `X-Request-ID` {sent!r} came back as `meta.requestId` {rid!r}"

    def error_envelope(ctx: CheckContext, response: Response, case: Case[Any]) -> None:
        if response.status_code < 400:
            return
        body = json_body(response)
        error = body.get("error") if isinstance(body, dict) else None
        assert isinstance(error, dict), f"A {response.status_code} without the error envelope `{{error, meta}}`"
        code, message = error.get("code"), error.get("message")
        assert code in error_codes, f"{code!r} is not a documented error code"
        assert isinstance(message, str), "The error has no message"
        assert message, "The error's message is empty"

    def sync_progress_ordered(ctx: CheckContext, response: Response, case: Case[Any]) -> None:
        if operation_id(case) not in SYNC_OPERATIONS or not 200 <= response.status_code < 300:
            return
        job = response_data(response)
        if not isinstance(job, dict) or not isinstance(job.get("progress"), dict):
            return  # the response schema check refuses it
        counts = job["progress"]
        progress = Progress(counts.get("collected"), counts.get("parsed"), counts.get("indexed"))
        if not all(isinstance(count, int) for count in progress):
            return
        assert progress.collected >= progress.parsed >= progress.indexed, (
            f"Documents are collected, then parsed, then indexed, but the job shows {progress._asdict()}"
        )
        if job.get("status") == "completed":
            assert progress.collected == progress.indexed, f"A completed job with unequal counters {progress._asdict()}"
        previous = ledger.record_progress(str(job.get("jobId")), progress)
        assert previous is None, (
            f"Job {job.get('jobId')}'s counters went down: {previous._asdict() if previous else ''} "
            f"before, {progress._asdict()} now"
        )

    return [
        credentials_never_returned,
        request_id_in_meta,
        error_envelope,
        sync_progress_ordered,
        rate_limit_reported,
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


def rate_limit_reported(ctx: CheckContext, response: Response, case: Case[Any]) -> None:
    """Every answer but a 401 reports the key's plan, and what it reports holds together."""
    if response.status_code == 401:
        return
    values = {name: header(response, name) for name in RATE_LIMIT_HEADERS}
    missing = [name for name, value in values.items() if value is None]
    assert not missing, f"A {response.status_code} without {', '.join(missing)}: every answer but a 401 reports them"
    numbers = {name: int(value) for name, value in values.items() if value is not None and value.isdigit()}
    assert len(numbers) == len(values), f"The rate-limit headers are not whole numbers: {values}"
    limit, remaining = numbers["X-RateLimit-Limit"], numbers["X-RateLimit-Remaining"]
    assert remaining <= limit, f"X-RateLimit-Remaining {remaining} is more than X-RateLimit-Limit {limit}"
    if response.status_code == 429:
        assert remaining == 0, f"A 429 with X-RateLimit-Remaining {remaining}: requests were left"
        assert header(response, "Retry-After") is not None, "A 429 without Retry-After"
