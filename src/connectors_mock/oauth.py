"""OAuth flows as the fake's provider keeps them: a state issued by `authorizeOAuth`, a consent
decision on the `/_mock` consent page, a code, and one exchange by `completeOAuth`.

Flows are kept for all tenants in one place, by state: the consent page is opened by a
browser that carries no API key, so the state is all it has to go on. A flow names its tenant
by label (`tenant_label`), as a state snapshot does, so flows survive a restart without a key
written anywhere; a code is kept with its SHA-256, which is all a snapshot holds of it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

from connectors_mock.auth import tenant_label
from connectors_mock.clock import Clock, isoformat
from connectors_mock.errors import ApiError
from connectors_mock.ids import IdSource

FlowStatus = Literal["pending", "approved", "denied", "used"]
# What the consent page does: show the page, or answer for the user at once.
Consent = Literal["ask", "approve", "deny"]

STATE_LIFETIME = timedelta(minutes=10)
# Expired and used flows are kept this long, so a late or replayed state gets its precise error.
KEEP_FINISHED = timedelta(days=1)
# The flows a tenant holds at once; starting one more forgets its oldest.
MAX_FLOWS_PER_TENANT = 20
PROVIDER_NAMES = {"google_drive": "Google Drive", "notion": "Notion"}

# The fake's own pages, standing in for the provider's (see `control.py`).
CALLBACK_PATH = "/_mock/oauth/callback"


# Where a browser must never be sent, whatever a caller asks.
SCRIPT_SCHEMES = frozenset({"javascript", "data", "vbscript"})
OUTCOME_PARAMETERS = frozenset({"code", "state", "error"})


def redirect_uri_problem(uri: str) -> str | None:
    """Why a `redirect_uri` cannot take the outcome, or None. The schema has already made it
    an absolute URI; these are the rules of RFC 6749 section 3.1.2 it cannot state."""
    parts = urlsplit(uri)
    if parts.scheme.lower() in SCRIPT_SCHEMES:
        return f"a {parts.scheme}: URI cannot be redirected to"
    if "#" in uri:
        return "must not have a fragment (#...)"
    taken = sorted(OUTCOME_PARAMETERS & {name for name, _ in parse_qsl(parts.query, keep_blank_values=True)})
    if taken:
        return f"must not carry {', '.join(taken)}: the consent page adds them"
    return None


@dataclass(frozen=True)
class OAuthBehaviour:
    """How the stand-in provider behaves; a scenario changes it (see `scenarios/`)."""

    consent: Consent = "ask"
    # When set, `completeOAuth` refuses every code with this message, as a provider whose
    # token endpoint is failing would.
    exchange_failure: str | None = None
    state_lifetime: timedelta = STATE_LIFETIME


DEFAULT_BEHAVIOUR = OAuthBehaviour()


def consent_path(connector_type: str) -> str:
    return f"/_mock/oauth/{connector_type}/consent"


def provider_name(connector_type: str) -> str:
    return PROVIDER_NAMES.get(connector_type, connector_type)


def code_digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


@dataclass(slots=True)
class OAuthFlow:
    state: str
    # The tenant's label, never its key.
    tenant: str
    connector_type: str
    collection: str | None
    name: str | None
    redirect_uri: str
    expires_at: datetime
    # Drawn when the flow starts, so codes follow the tenant's id stream; handed out on approval.
    # Empty in a flow restored after its code went to the browser: only the digest is kept.
    code: str
    status: FlowStatus = "pending"
    consent: Consent = "ask"
    digest: str = field(default="")

    def __post_init__(self) -> None:
        if not self.digest and self.code:
            self.digest = code_digest(self.code)

    def redirect_url(self) -> str:
        """Where the consent decision sends the browser: the caller's URI with the outcome added
        to its query, as RFC 6749 section 4.1.2 has it."""
        if self.status == "denied" or not self.code:
            outcome = {"error": "access_denied", "state": self.state}
        else:
            outcome = {"code": self.code, "state": self.state}
        # Appended to the URI as the caller wrote it (it has no fragment): re-encoding it would
        # turn `?flag` into `?flag=` and `myapp:///cb` into `myapp:/cb`.
        uri = self.redirect_uri
        separator = "" if uri.endswith(("?", "&")) else "&" if "?" in uri else "?"
        return uri + separator + urlencode(outcome)

    @property
    def returns_to_the_fake(self) -> bool:
        """Whether consent sends the browser to the fake's own callback page."""
        return urlsplit(self.redirect_uri).path == CALLBACK_PATH


@dataclass(frozen=True)
class StandingConsent:
    """A consent the fixtures give up front: every tenant may complete it once, at any time,
    with its state and code, as if its user had just approved it. It is how the reference's
    `completeOAuth` example works on a fresh fake, with nothing authorized before."""

    state: str
    code: str
    connector_type: str
    collection: str | None = None
    name: str | None = None


NEVER = datetime.max.replace(tzinfo=UTC)


def _expired(flow: OAuthFlow) -> ApiError:
    expired_at = isoformat(flow.expires_at)
    return ApiError(400, "state_expired", f'OAuth state "{flow.state}" expired at {expired_at}; start again')


class OAuthFlows:
    def __init__(self, clock: Clock, standing: Iterable[StandingConsent] = ()) -> None:
        self._clock = clock
        self._flows: dict[str, OAuthFlow] = {}
        self._pruned_at = clock.now()
        self._standing = {consent.state: consent for consent in standing}
        # By tenant: the states of its flows, oldest first, and the standing consents it has completed.
        self._tenant_states: dict[str, list[str]] = {}
        self._standing_used: dict[str, set[str]] = {}
        # Counts every change, for whoever saves the state (`persistence.py`).
        self.changes = 0

    def __len__(self) -> int:
        return len(self._flows)

    def set_standing(self, standing: Iterable[StandingConsent]) -> None:
        """The fixtures' standing consents, when the fixtures change."""
        self._standing = {consent.state: consent for consent in standing}

    def start(
        self,
        ids: IdSource,
        *,
        tenant: str,
        connector_type: str,
        collection: str | None,
        name: str | None,
        redirect_uri: str,
        behaviour: OAuthBehaviour = DEFAULT_BEHAVIOUR,
    ) -> OAuthFlow:
        tenant = tenant_label(tenant)
        now = self._clock.now()
        self._prune(now)
        state = ids.new("st_", 24)
        while state in self._flows or state in self._standing:
            state = ids.new("st_", 24)
        code = ids.new("code_", 24)
        expires_at = now + behaviour.state_lifetime
        flow = OAuthFlow(
            state, tenant, connector_type, collection, name, redirect_uri, expires_at, code, consent=behaviour.consent
        )
        self._keep(flow)
        return flow

    def _keep(self, flow: OAuthFlow) -> None:
        self._flows[flow.state] = flow
        states = self._tenant_states.setdefault(flow.tenant, [])
        states.append(flow.state)
        if len(states) > MAX_FLOWS_PER_TENANT:
            self._flows.pop(states.pop(0), None)
        self.changes += 1

    def find(self, state: str) -> OAuthFlow | None:
        return self._flows.get(state)

    def expired(self, flow: OAuthFlow) -> bool:
        return self._clock.now() >= flow.expires_at

    def pending(self, tenant: str) -> list[OAuthFlow]:
        """The tenant's flows still waiting for the user's answer, oldest first."""
        now = self._clock.now()
        flows = (self._flows.get(state) for state in self._tenant_states.get(tenant, ()))
        return [flow for flow in flows if flow is not None and flow.status == "pending" and now < flow.expires_at]

    def awaiting(self, connector_type: str, state: str) -> OAuthFlow:
        """The flow a consent page is for, while it still waits for the user's answer."""
        if not state:
            raise ApiError(400, "missing_parameter", "state: required, as authUrl carries it")
        flow = self._flows.get(state)
        if flow is None:
            raise ApiError(404, "invalid_state", f'No authorization has the state "{state}"')
        if flow.connector_type != connector_type:
            raise ApiError(
                404, "invalid_state", f'The state "{state}" was issued for {flow.connector_type}, not {connector_type}'
            )
        if flow.status != "pending":
            raise ApiError(409, "state_already_used", f"This authorization was already answered ({flow.status})")
        if self._clock.now() >= flow.expires_at:
            raise _expired(flow)
        return flow

    def decide(self, connector_type: str, state: str, *, approve: bool) -> OAuthFlow:
        """The user's answer on the consent page; approval hands out the code."""
        flow = self.awaiting(connector_type, state)
        flow.status = "approved" if approve else "denied"
        self.changes += 1
        return flow

    def redeem(self, tenant: str, connector_type: str, state: str, code: str) -> OAuthFlow:
        """The flow a `completeOAuth` call may finish, or the precise reason it may not. The
        flow stays redeemable until `finish`, so a refused name or collection loses nothing."""
        tenant = tenant_label(tenant)
        flow = self._flows.get(state) or self._standing_flow(tenant, state)
        if flow is None:
            raise ApiError(400, "invalid_state", f'OAuth state "{state}" is unknown; get one from authorizeOAuth')
        if flow.tenant != tenant:
            raise ApiError(400, "state_mismatch", f'OAuth state "{state}" was issued to another API key or team')
        if flow.connector_type != connector_type:
            raise ApiError(
                400,
                "state_mismatch",
                f'OAuth state "{state}" was issued for {flow.connector_type}, not {connector_type}',
            )
        if flow.status == "used":
            raise ApiError(400, "state_already_used", f'OAuth state "{state}" has already completed a flow')
        now = self._clock.now()
        if now >= flow.expires_at:
            raise _expired(flow)
        if flow.status == "denied":
            raise ApiError(400, "access_denied", "The user denied access on the consent page")
        if flow.status == "pending":
            raise ApiError(400, "invalid_grant", "No code was issued for this state yet: the user has not answered")
        if code_digest(code) != flow.digest:
            raise ApiError(400, "invalid_grant", f'The code was not issued for OAuth state "{state}"')
        return flow

    def finish(self, flow: OAuthFlow) -> None:
        if self._flows.get(flow.state) is not flow:
            self._standing_used.setdefault(flow.tenant, set()).add(flow.state)
        flow.status = "used"
        self.changes += 1

    def clear(self) -> None:
        """Every issued flow is forgotten; the standing consents are each tenant's to use again."""
        self._flows.clear()
        self._tenant_states.clear()
        self._standing_used.clear()
        self.changes += 1

    def forget_tenant(self, tenant: str) -> None:
        """Drop one tenant's flows (`tenancy.TenantRoster` evicts it)."""
        tenant = tenant_label(tenant)
        for state in self._tenant_states.pop(tenant, []):
            self._flows.pop(state, None)
        self._standing_used.pop(tenant, None)
        self.changes += 1

    # A snapshot's part: flows by label, codes by digest --------------------------------------

    def flows(self) -> list[OAuthFlow]:
        """The issued flows, oldest first by tenant."""
        return [self._flows[state] for states in self._tenant_states.values() for state in states]

    def standing_used(self) -> dict[str, list[str]]:
        """By tenant label, the standing consents it has completed."""
        return {tenant: sorted(states) for tenant, states in self._standing_used.items()}

    def restore(self, flows: Iterable[OAuthFlow], standing_used: dict[str, list[str]]) -> None:
        """Hold exactly these (from a snapshot). A pending flow gets a new code, drawn from its
        digest: nobody has seen the old one yet. An approved one keeps only the digest of the
        code its browser took away, which is all `redeem` needs."""
        self.clear()
        for flow in flows:
            if flow.status == "pending":
                flow.code = "code_" + hashlib.sha256(f"restored:{flow.digest}".encode()).hexdigest()[:24]
                flow.digest = code_digest(flow.code)
            else:
                flow.code = ""
            self._keep(flow)
        self._standing_used = {tenant: set(states) for tenant, states in standing_used.items()}

    def _standing_flow(self, tenant: str, state: str) -> OAuthFlow | None:
        """A standing consent as this tenant's flow: approved, or used once it has completed it."""
        consent = self._standing.get(state)
        if consent is None:
            return None
        status: FlowStatus = "used" if state in self._standing_used.get(tenant, ()) else "approved"
        return OAuthFlow(
            state,
            tenant,
            consent.connector_type,
            consent.collection,
            consent.name,
            CALLBACK_PATH,
            NEVER,
            consent.code,
            status,
            "approve",
        )

    def _prune(self, now: datetime) -> None:
        if now - self._pruned_at < STATE_LIFETIME:
            return
        self._pruned_at = now
        for state in [s for s, flow in self._flows.items() if flow.expires_at + KEEP_FINISHED < now]:
            tenant = self._flows.pop(state).tenant
            states = self._tenant_states.get(tenant, [])
            if state in states:
                states.remove(state)
            if not states:
                self._tenant_states.pop(tenant, None)


def issued_tokens(ids: IdSource) -> dict[str, str]:
    """What the provider hands over for a code; kept as the connector's credentials."""
    return {"accessToken": ids.new("mock_at_", 32), "refreshToken": ids.new("mock_rt_", 32), "tokenType": "Bearer"}
