"""Which rules apply to a request, decided without a server: precedence, call counting,
seeded chance, time windows, rate limits and sync scripts."""

from __future__ import annotations

import random

import pytest

from connectors_mock.clock import VirtualClock, manual_clock
from connectors_mock.jobs import SyncRequest, default_script, job_state
from connectors_mock.scenarios.engine import RequestFacts, ScenarioLibrary, UnknownScenario, View
from tests.scenarios.conftest import Load


def facts(tenant: str | None = "key-a", operation: str = "getConnector", **headers: str) -> RequestFacts:
    template = {"getConnector": "/v1/connectors/{id}", "listConnectors": "/v1/connectors"}.get(operation)
    return RequestFacts("GET", "/v1/connectors/conn_1", operation, template, tenant, headers)


def outcomes(library: ScenarioLibrary, view: View, count: int, tenant: str = "key-a") -> list[str | None]:
    return [library.decide(view, facts(tenant)).label for _ in range(count)]


def test_nth_calls_and_every_nth_call_count_per_rule_and_tenant(load: Load, clock: VirtualClock) -> None:
    library = ScenarioLibrary(clock, seed=1)
    library.load(
        load("""
name: counted
faults:
  - name: second-and-fourth
    when: {calls: [2, 4]}
    error: {status: 500}
  - name: every-third
    when: {every: 3}
    error: {status: 503}
"""),
        activate=True,
    )
    view = library.view_for("key-a")
    hits = [label.split(" (")[0] if label else None for label in outcomes(library, view, 6)]
    assert hits == [None, "error 500", "error 503", "error 500", None, "error 503"]
    # Another tenant starts counting from one: parallel workers do not shift each other.
    assert library.decide(view, facts("key-b")).label is None
    assert library.decide(view, facts("key-b")).label == "error 500 (second-and-fourth)"


def test_chance_is_seeded_per_tenant_and_repeats_across_runs(load: Load) -> None:
    scenario = load("name: chance\nfaults:\n  - when: {probability: 0.3}\n    error: {status: 503}\n")

    def run(seed: int, noise: bool) -> list[str | None]:
        library = ScenarioLibrary(manual_clock(), seed)
        library.load(scenario, activate=True)
        view = library.view_for("key-a")
        seen = []
        for _ in range(200):
            if noise:
                library.decide(view, facts("key-noisy"))
            seen.append(library.decide(view, facts("key-a")).label)
        return seen

    first = run(7, noise=False)
    assert first == run(7, noise=True), "another tenant's traffic must not move this tenant's faults"
    assert first != run(8, noise=False)
    assert 30 <= sum(1 for hit in first if hit) <= 90, "about 30% of 200"


def test_a_window_opens_and_closes_on_the_fakes_clock(load: Load, clock: VirtualClock) -> None:
    library = ScenarioLibrary(clock)
    library.load(
        load("name: w\nfaults:\n  - when: {window: {from: 10, until: 20}}\n    error: {status: 503}\n"), activate=True
    )
    view = library.view_for("key-a")
    seen = []
    for _ in range(4):
        seen.append(library.decide(view, facts()).outcome is not None)
        clock.advance(7)
    assert seen == [False, False, True, False]  # at 0, 7, 14, 21 seconds


def test_a_bound_tenants_window_opens_from_its_binding(load: Load, clock: VirtualClock) -> None:
    library = ScenarioLibrary(clock)
    library.load(
        load("name: down\nfaults:\n  - when: {window: {until: 30}}\n    error: {status: 503}\n"), activate=False
    )
    clock.advance(100)
    library.bind("late", "down")
    view = library.view_for("late")
    assert library.decide(view, facts("late")).outcome is not None, "bound 100 s after loading: the outage starts now"
    assert library.decide(view, facts("early")).outcome is None, "an unbound key's window counts from the load"
    clock.advance(30)
    assert library.decide(view, facts("late")).outcome is None, "and ends 30 s after the binding"
    library.forget_tenant("late")
    library.bind("late", "down")
    assert library.decide(library.view_for("late"), facts("late")).outcome is not None, "a new binding starts anew"


def test_matching_by_operation_tenant_team_and_header(load: Load, clock: VirtualClock) -> None:
    library = ScenarioLibrary(clock)
    library.load(
        load("""
name: picky
faults:
  - match: {operation: listConnectors}
    error: {status: 500}
  - match: {tenant: key-a, team: blue}
    error: {status: 502}
  - match: {headers: {X-Client: ios}}
    error: {status: 503}
"""),
        activate=True,
    )
    view = library.view_for(None)

    def status(request: RequestFacts) -> int | None:
        outcome = library.decide(view, request).outcome
        return outcome.error.status if outcome and outcome.error else None

    assert status(facts(operation="listConnectors")) == 500
    assert status(facts("key-a\nblue")) == 502
    assert status(facts("key-a\nred")) is None
    assert status(facts("key-a")) is None
    assert status(facts(None)) is None
    assert status(facts(**{"x-client": "ios"})) == 503


def test_the_first_rule_with_latency_and_the_first_with_an_outcome_both_apply(load: Load, clock: VirtualClock) -> None:
    library = ScenarioLibrary(clock, seed=3)
    library.load(
        load("""
name: both
faults:
  - latency: {min_ms: 100, max_ms: 200}
  - latency: {ms: 5000}
    error: {status: 503}
"""),
        activate=True,
    )
    decision = library.decide(library.view_for("key-a"), facts())
    assert 100 <= decision.latency_ms <= 200
    assert decision.outcome is not None
    assert decision.outcome.index == 1


def test_later_scenarios_win_and_the_header_or_a_binding_replaces_the_active_ones(
    load: Load, clock: VirtualClock
) -> None:
    library = ScenarioLibrary(clock)
    library.load(load("name: old\nfaults:\n  - error: {status: 500}\nrate_limit: {limit: 5}\n"), activate=True)
    library.load(load("name: new\nfaults:\n  - error: {status: 503}\n"), activate=True)
    library.load(load("name: shelf\nfaults:\n  - error: {status: 418}\n"), activate=False)

    def status(view: View) -> int | None:
        outcome = library.decide(view, facts()).outcome
        return outcome.error.status if outcome and outcome.error else None

    active = library.view_for("key-a")
    assert status(active) == 503
    assert active.rate_limit is not None, "the older scenario's rate limit still applies where the new one is silent"
    assert active.label == "new,old"
    assert status(library.view_for("key-a", "shelf")) == 418
    library.bind("key-b", "shelf")
    assert status(library.view_for("key-b")) == 418
    assert status(library.view_for("key-a")) == 503
    with pytest.raises(UnknownScenario, match='no scenario named "nope" is loaded \\(loaded: old, new, shelf\\)'):
        library.view_for("key-a", "nope")
    library.remove("shelf")
    assert library.binding("key-b") is None


def test_a_rate_limit_counts_per_tenant_and_resets_with_its_window(load: Load, clock: VirtualClock) -> None:
    library = ScenarioLibrary(clock)
    library.load(load("name: r\nrate_limit: {limit: 2, window_seconds: 10}\n"), activate=True)
    view = library.view_for("key-a")
    windows = [library.take(view, "key-a") for _ in range(3)]
    assert [(w.remaining, w.retry_after) for w in windows if w] == [(1, None), (0, None), (0, 10)]
    other = library.take(view, "key-b")
    assert other is not None
    assert other.remaining == 1
    clock.advance(4)
    late = library.take(view, "key-a")
    assert late is not None
    assert late.retry_after == 6
    assert dict(late.headers)[b"x-ratelimit-reset"] == dict(windows[0].headers)[b"x-ratelimit-reset"]  # type: ignore[union-attr]
    assert dict(late.headers)[b"x-ratelimit-reset"] == str(int(clock.now().timestamp()) + 6).encode()
    clock.advance(6)
    fresh = library.take(view, "key-a")
    assert fresh is not None
    assert (fresh.remaining, fresh.retry_after) == (1, None)


def test_sync_rules_script_matching_jobs_and_leave_the_rest_to_the_default(load: Load, clock: VirtualClock) -> None:
    library = ScenarioLibrary(clock)
    library.load(
        load("""
name: syncs
syncs:
  - match: {type: s3, name: "Marketing*"}
    total: 1000
    documents_per_second: 100
    fail: {after_documents: 250, code: source_unavailable, message: S3 stopped answering}
  - match: {connector: conn_stuck}
    total: 10
    stuck_at: 0.5
"""),
        activate=True,
    )
    view = library.view_for("key-a")
    rng = random.Random(1)

    def request(connector_id: str, connector_type: str, name: str) -> SyncRequest:
        return SyncRequest(connector_id, connector_type, name, "full", None, True)

    failing = view.script(request("conn_m", "s3", "Marketing assets"), rng)
    assert (failing.total, failing.running_seconds) == (1000, 10.0)
    assert failing.failure is not None
    ended = job_state(failing, 60)
    assert (ended.status, ended.progress.collected) == ("failed", 250)

    stuck = view.script(request("conn_stuck", "github", "Code"), rng)
    assert job_state(stuck, 10**9).status == "running"
    assert job_state(stuck, 10**9).progress.collected == 5

    other = request("conn_o", "s3", "Engineering")
    assert view.script(other, random.Random(2)) == default_script(other, random.Random(2))


def test_a_replaced_scenario_keeps_its_place_its_bindings_and_restarts_its_counts(
    load: Load, clock: VirtualClock
) -> None:
    library = ScenarioLibrary(clock)
    first = load("name: first\nfaults:\n  - when: {calls: [2]}\n    error: {status: 500}\n")
    second = load("name: second\nfaults:\n  - error: {status: 502}\n")
    library.load(first, activate=True)
    library.load(second, activate=True)
    library.bind("bound", "first")
    view = library.view_for("key-a")
    assert library.decide(view, facts()).label == "error 502 (second#0)", "the later one wins"
    library.decide(library.view_for("bound"), facts("bound"))

    renamed = load("name: renamed\nfaults:\n  - when: {calls: [2]}\n    error: {status: 503}\n")
    library.replace("first", renamed)
    assert [loaded.name for loaded in library.loaded()] == ["second", "renamed"]
    assert library.decide(library.view_for("key-a"), facts()).label == "error 502 (second#0)", "still behind second"
    assert library.binding("bound") == "renamed"
    assert library.decide(library.view_for("bound"), facts("bound")).outcome is None, "its calls count from one again"
    assert library.decide(library.view_for("bound"), facts("bound")).label == "error 503 (renamed#0)"
