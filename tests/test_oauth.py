"""OAuth flows on their own: states, consent, codes and every way an exchange is refused."""

from __future__ import annotations

import random
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest

from connectors_mock.auth import tenant_label
from connectors_mock.clock import VirtualClock
from connectors_mock.errors import ApiError
from connectors_mock.ids import IdSource
from connectors_mock.oauth import OAuthFlow, OAuthFlows, StandingConsent, redirect_uri_problem


@pytest.fixture
def flows(clock: VirtualClock) -> OAuthFlows:
    return OAuthFlows(clock)


IDS = IdSource(random.Random(1))


def start(flows: OAuthFlows, tenant: str = "key-a", redirect_uri: str = "http://app.test/cb?tab=2") -> OAuthFlow:
    return flows.start(
        IDS,
        tenant=tenant,
        connector_type="google_drive",
        collection="col_a",
        name=None,
        redirect_uri=redirect_uri,
    )


def refusal(action: Callable[[], object]) -> tuple[int, str]:
    with pytest.raises(ApiError) as refused:
        action()
    return refused.value.status, refused.value.code


def test_a_flow_lives_ten_minutes(flows: OAuthFlows, clock: VirtualClock) -> None:
    flow = start(flows)
    assert flow.state.startswith("st_")
    assert (flow.expires_at - clock.now()).total_seconds() == 600


def test_approval_returns_code_and_state_keeping_the_callers_query(flows: OAuthFlows) -> None:
    flow = flows.decide("google_drive", start(flows).state, approve=True)
    url = urlsplit(flow.redirect_url())
    assert (url.scheme, url.netloc, url.path) == ("http", "app.test", "/cb")
    assert parse_qs(url.query) == {"tab": ["2"], "code": [flow.code], "state": [flow.state]}


def test_denial_returns_access_denied_and_no_code(flows: OAuthFlows) -> None:
    flow = flows.decide("google_drive", start(flows).state, approve=False)
    query = parse_qs(urlsplit(flow.redirect_url()).query)
    assert query == {"tab": ["2"], "error": ["access_denied"], "state": [flow.state]}


def test_the_consent_page_refuses_unknown_answered_and_expired_requests(flows: OAuthFlows, clock: VirtualClock) -> None:
    assert refusal(lambda: flows.awaiting("google_drive", "st_nope")) == (404, "invalid_state")
    flow = start(flows)
    assert refusal(lambda: flows.awaiting("notion", flow.state)) == (404, "invalid_state")
    flows.decide("google_drive", flow.state, approve=True)
    assert refusal(lambda: flows.decide("google_drive", flow.state, approve=False)) == (409, "state_already_used")
    late = start(flows)
    clock.advance(600)
    assert refusal(lambda: flows.awaiting("google_drive", late.state)) == (400, "state_expired")


def test_an_exchange_is_refused_for_each_reason_with_its_own_code(flows: OAuthFlows, clock: VirtualClock) -> None:
    approved = flows.decide("google_drive", start(flows).state, approve=True)
    pending, denied = start(flows), flows.decide("google_drive", start(flows).state, approve=False)

    def redeem(
        state: str, code: str = approved.code, tenant: str = "key-a", kind: str = "google_drive"
    ) -> Callable[[], object]:
        return lambda: flows.redeem(tenant, kind, state, code)

    assert refusal(redeem("st_unknown")) == (400, "invalid_state")
    assert refusal(redeem(approved.state, tenant="key-b")) == (400, "state_mismatch")
    assert refusal(redeem(approved.state, kind="notion")) == (400, "state_mismatch")
    assert refusal(redeem(pending.state, pending.code)) == (400, "invalid_grant")
    assert refusal(redeem(approved.state, "code_wrong")) == (400, "invalid_grant")
    assert refusal(redeem(denied.state, denied.code)) == (400, "access_denied")
    assert flows.redeem("key-a", "google_drive", approved.state, approved.code) is approved
    flows.finish(approved)
    assert refusal(redeem(approved.state)) == (400, "state_already_used")
    clock.advance(600)
    assert refusal(redeem(denied.state, denied.code)) == (400, "state_expired")


def test_a_standing_consent_is_each_tenants_to_complete_once_whenever_it_comes(clock: VirtualClock) -> None:
    consent = StandingConsent("st_fixture1", "code_fixture1", "google_drive", "col_a")
    flows = OAuthFlows(clock, [consent])
    clock.advance(365 * 86400)
    flow = flows.redeem("key-a", "google_drive", "st_fixture1", "code_fixture1")
    assert (flow.tenant, flow.collection, flow.status) == (tenant_label("key-a"), "col_a", "approved")
    assert refusal(lambda: flows.redeem("key-a", "google_drive", "st_fixture1", "code_other")) == (400, "invalid_grant")
    assert refusal(lambda: flows.redeem("key-a", "notion", "st_fixture1", "code_fixture1")) == (400, "state_mismatch")
    flows.finish(flow)
    assert refusal(lambda: flows.redeem("key-a", "google_drive", "st_fixture1", "code_fixture1")) == (
        400,
        "state_already_used",
    )
    assert flows.redeem("key-b", "google_drive", "st_fixture1", "code_fixture1").status == "approved"
    assert start(flows).state != "st_fixture1"
    flows.clear()
    assert flows.redeem("key-a", "google_drive", "st_fixture1", "code_fixture1").status == "approved"
    with pytest.raises(ApiError):
        flows.awaiting("google_drive", "st_fixture1")


def test_long_expired_flows_are_forgotten(flows: OAuthFlows, clock: VirtualClock) -> None:
    old = start(flows)
    clock.advance(2 * 24 * 3600)
    start(flows)
    assert flows.find(old.state) is None
    assert len(flows) == 1


@pytest.mark.parametrize(
    ("uri", "joined_by"),
    [("myapp://done?flag&x=a%20b", "&"), ("com.example.app:///oauth", "?"), ("HTTP://[::1]:3000/cb?", "")],
)
def test_the_callers_uri_is_kept_as_written(flows: OAuthFlows, uri: str, joined_by: str) -> None:
    flow = flows.decide("google_drive", start(flows, redirect_uri=uri).state, approve=True)
    assert flow.redirect_url() == f"{uri}{joined_by}code={flow.code}&state={flow.state}"


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        ("javascript:alert(1)", "cannot be redirected to"),
        ("DATA:text/html,hi", "cannot be redirected to"),
        ("http://app.test/cb#done", "fragment"),
        ("http://app.test/cb#", "fragment"),
        ("http://app.test/cb?state=forged", "must not carry state"),
        ("http://app.test/cb?error=x&code=y", "must not carry code, error"),
    ],
)
def test_a_redirect_uri_that_could_not_take_the_outcome_is_refused(uri: str, problem: str) -> None:
    assert problem in (redirect_uri_problem(uri) or "")


def test_ordinary_redirect_uris_are_fine() -> None:
    for uri in ("http://localhost:3000/oauth/callback", "myapp://done?tab=2", "https://app.test/cb?codes=1"):
        assert redirect_uri_problem(uri) is None
