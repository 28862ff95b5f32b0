"""A scenario as the fake uses it: frozen rules built from a document that has already passed
the JSON Schema (`scenario.schema.json`) and the loader's checks, so nothing here re-checks."""

from __future__ import annotations

import fnmatch
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from connectors_mock.clock import ClockMode
from connectors_mock.errors import ErrorCode
from connectors_mock.jobs import SyncFailure, SyncRequest, SyncScript, default_script, share_when_collected
from connectors_mock.oauth import Consent

Drop = Literal["close", "reset"]
BodyFault = Literal["truncated", "malformed"]

# The error code a fault's status gets when the scenario names none.
DEFAULT_CODES: dict[int, ErrorCode] = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "already_exists",
    422: "validation_failed",
    429: "rate_limit_exceeded",
    502: "service_unavailable",
    503: "service_unavailable",
    504: "timeout",
}
DEFAULT_MESSAGES: dict[ErrorCode, str] = {
    "service_unavailable": "The service is temporarily unavailable; try again shortly",
    "timeout": "The request timed out upstream; try again",
    "internal_error": "Internal error",
    "rate_limit_exceeded": "Rate limit exceeded",
}


@dataclass(frozen=True)
class SyncRule:
    """Scripts the sync jobs of the connectors it matches (every given field must hold)."""

    connector_type: str | None = None
    name_pattern: str | None = None
    connector_id: str | None = None
    total: int | None = None
    queued_seconds: float | None = None
    running_seconds: float | None = None
    documents_per_second: float | None = None
    fail_at: float | None = None
    fail_after_documents: int | None = None
    fail_code: str = "sync_failed"
    fail_message: str = "The sync failed"
    # Fractions of the documents collected (0.5: half of them), not of the run's time.
    stuck_at: float | None = None

    def matches(self, request: SyncRequest) -> bool:
        return (
            (self.connector_type is None or self.connector_type == request.connector_type)
            and (self.connector_id is None or self.connector_id == request.connector_id)
            and (self.name_pattern is None or fnmatch.fnmatchcase(request.connector_name, self.name_pattern))
        )

    def script(self, request: SyncRequest, rng: random.Random) -> SyncScript:
        """The job's script: what the rule says, and the default for what it leaves out."""
        default = default_script(request, rng)
        total = default.total if self.total is None else self.total
        running = default.running_seconds if self.running_seconds is None else self.running_seconds
        if self.documents_per_second is not None:
            # At most a year (the loader refuses more where it knows the total).
            running = min(total / self.documents_per_second, 365 * 24 * 3600)
        failure = None
        if self.fail_at is not None or self.fail_after_documents is not None:
            fraction = self.fail_at
            if fraction is None:
                assert self.fail_after_documents is not None
                fraction = min(1.0, self.fail_after_documents / total) if total else 0.0
            failure = SyncFailure(share_when_collected(fraction), self.fail_code, self.fail_message)
        return SyncScript(
            total=total,
            queued_seconds=default.queued_seconds if self.queued_seconds is None else self.queued_seconds,
            running_seconds=running,
            failure=failure,
            stuck_at=share_when_collected(self.stuck_at) if self.stuck_at is not None else None,
        )


@dataclass(frozen=True)
class RequestMatch:
    """Which API requests a fault applies to (every given field must hold)."""

    operations: frozenset[str] | None = None
    method: str | None = None
    path: str | None = None
    # An API key, and a team within it.
    tenant: str | None = None
    team: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class When:
    """Which of the matched requests a fault hits (every given field must hold)."""

    calls: frozenset[int] | None = None
    every: int | None = None
    probability: float | None = None
    # Seconds on the fake's clock since the scenario was loaded.
    window_from: float | None = None
    window_until: float | None = None


@dataclass(frozen=True)
class ErrorReply:
    status: int
    code: ErrorCode
    message: str
    retry_after: int | None = None
    # Sent as JSON instead of the error envelope, when the scenario gives one.
    body: Any = None
    has_body: bool = False
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class FaultRule:
    index: int
    name: str
    match: RequestMatch
    when: When
    latency_ms: tuple[float, float] | None = None
    error: ErrorReply | None = None
    drop: Drop | None = None
    body: BodyFault | None = None

    @property
    def has_outcome(self) -> bool:
        return self.error is not None or self.drop is not None or self.body is not None

    @property
    def counts_calls(self) -> bool:
        """Whether the rule needs to know which call of a tenant this is: for `calls` and
        `every`, and for its random draws, which under a seed are a hash of the call."""
        when = self.when
        random_latency = self.latency_ms is not None and self.latency_ms[0] != self.latency_ms[1]
        return when.calls is not None or when.every is not None or when.probability is not None or random_latency

    def outcome_label(self) -> str:
        if self.error is not None:
            return f"error {self.error.status}"
        if self.drop is not None:
            return f"drop {self.drop}"
        return f"body {self.body}"


@dataclass(frozen=True)
class RateLimit:
    limit: int
    window_seconds: float = 60.0
    # A scenario's limit is enforced (429 past it); the server's plan (`--rate-limit`) is only
    # reported, unless `--enforce-rate-limit`.
    enforced: bool = True


@dataclass(frozen=True)
class OAuthSettings:
    """What a scenario changes of the stand-in provider; None leaves the default."""

    consent: Consent | None = None
    exchange_failure: str | None = None
    state_lifetime: timedelta | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str = ""
    seed: int | None = None
    clock_mode: ClockMode | None = None
    clock_speed: float | None = None
    syncs: tuple[SyncRule, ...] = ()
    faults: tuple[FaultRule, ...] = ()
    rate_limit: RateLimit | None = None
    oauth: OAuthSettings = OAuthSettings()
    # The document it was built from, as `GET /_mock/scenarios/{name}` shows it, and where
    # it was read from (a file's path, or how it was sent).
    document: Mapping[str, Any] | None = None
    source: str = "runtime"


def scenario_from_document(document: Mapping[str, Any], source: str = "runtime") -> Scenario:
    clock = document.get("clock", {})
    rate = document.get("rate_limit")
    oauth = document.get("oauth", {})
    exchange = oauth.get("code_exchange")
    lifetime = oauth.get("state_lifetime_seconds")
    return Scenario(
        name=document["name"],
        description=document.get("description", ""),
        seed=_integer(document.get("seed")),
        clock_mode=clock.get("mode"),
        clock_speed=clock.get("speed"),
        syncs=tuple(_sync_rule(rule) for rule in document.get("syncs", [])),
        faults=tuple(_fault_rule(document["name"], i, rule) for i, rule in enumerate(document.get("faults", []))),
        rate_limit=RateLimit(int(rate["limit"]), rate.get("window_seconds", 60.0)) if rate else None,
        oauth=OAuthSettings(
            consent=oauth.get("consent"),
            exchange_failure=(
                exchange.get("message", "The provider refused to exchange the code (scenario)") if exchange else None
            ),
            state_lifetime=timedelta(seconds=lifetime) if lifetime is not None else None,
        ),
        document=document,
        source=source,
    )


def _sync_rule(rule: Mapping[str, Any]) -> SyncRule:
    match = rule.get("match", {})
    fail = rule.get("fail", {})
    return SyncRule(
        connector_type=match.get("type"),
        name_pattern=match.get("name"),
        connector_id=match.get("connector"),
        total=_integer(rule.get("total")),
        queued_seconds=rule.get("queued_seconds"),
        running_seconds=rule.get("running_seconds"),
        documents_per_second=rule.get("documents_per_second"),
        fail_at=fail.get("at"),
        fail_after_documents=_integer(fail.get("after_documents")),
        fail_code=fail.get("code", "sync_failed"),
        fail_message=fail.get("message", "The sync failed"),
        stuck_at=rule.get("stuck_at"),
    )


def _fault_rule(scenario: str, index: int, rule: Mapping[str, Any]) -> FaultRule:
    match = rule.get("match", {})
    operations = match.get("operation")
    when = rule.get("when", {})
    window = when.get("window", {})
    latency = rule.get("latency")
    return FaultRule(
        index=index,
        name=rule.get("name", f"{scenario}#{index}"),
        match=RequestMatch(
            operations=frozenset([operations] if isinstance(operations, str) else operations) if operations else None,
            method=match.get("method"),
            path=match.get("path"),
            tenant=match.get("tenant"),
            team=match.get("team"),
            headers=tuple((name.lower(), value) for name, value in match.get("headers", {}).items()),
        ),
        when=When(
            calls=frozenset(map(int, when["calls"])) if "calls" in when else None,
            every=_integer(when.get("every")),
            probability=when.get("probability"),
            window_from=window.get("from"),
            window_until=window.get("until"),
        ),
        latency_ms=(
            None
            if latency is None
            else (latency["ms"], latency["ms"])
            if "ms" in latency
            else (latency["min_ms"], latency["max_ms"])
        ),
        error=_error_reply(rule["error"]) if "error" in rule else None,
        drop=rule.get("drop"),
        body=rule.get("body"),
    )


def _error_reply(error: Mapping[str, Any]) -> ErrorReply:
    status = int(error["status"])
    code: ErrorCode = error.get("code") or DEFAULT_CODES.get(
        status, "internal_error" if status >= 500 else "invalid_request"
    )
    return ErrorReply(
        status=status,
        code=code,
        message=error.get("message") or DEFAULT_MESSAGES.get(code, f"Injected error {status} ({code})"),
        retry_after=_integer(error.get("retry_after")),
        body=error.get("body"),
        has_body="body" in error,
        headers=tuple(error.get("headers", {}).items()),
    )


def _integer(value: Any) -> int | None:
    """JSON Schema counts 10.0 (and YAML's `1e1`) as an integer; headers and bodies must not
    show it as `10.0`."""
    return None if value is None else int(value)
