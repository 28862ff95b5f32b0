"""Which scenario applies to a request, and what it does there. Plain Python, no HTTP: the
middleware (`middleware.py`) asks `ScenarioLibrary.view_for` and `decide`, then acts.

A request sees one view: the scenario its `X-Mock-Scenario` header names, else the one its
tenant is bound to, else every scenario active server-wide, later loads winning. Calls and
random draws are counted per rule *and tenant*, so two test workers with two API keys never
shift each other's faults, and a seeded run repeats whatever else is going on.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from connectors_mock.clock import VirtualClock
from connectors_mock.jobs import SyncRequest, SyncScript, default_script
from connectors_mock.oauth import DEFAULT_BEHAVIOUR, OAuthBehaviour
from connectors_mock.scenarios.model import FaultRule, RateLimit, RequestMatch, Scenario, SyncRule
from connectors_mock.scenarios.rate_limit import PLAN, RateWindow, RateWindows


@dataclass(frozen=True)
class Loaded:
    scenario: Scenario
    # Fault windows count from here.
    loaded_at: datetime

    @property
    def name(self) -> str:
        return self.scenario.name


@dataclass(frozen=True)
class View:
    """The rules one request sees, in precedence order: the latest-loaded scenario first."""

    scenarios: tuple[Loaded, ...] = ()
    faults: tuple[tuple[Loaded, FaultRule], ...] = ()
    syncs: tuple[SyncRule, ...] = ()
    rate_limit: tuple[Loaded, RateLimit] | None = None
    oauth: OAuthBehaviour = DEFAULT_BEHAVIOUR

    @property
    def label(self) -> str | None:
        return ",".join(loaded.name for loaded in self.scenarios) or None

    def script(self, request: SyncRequest, rng: random.Random) -> SyncScript:
        """How a job triggered under this view unfolds: the first matching sync rule's script."""
        rule = next((rule for rule in self.syncs if rule.matches(request)), None)
        return rule.script(request, rng) if rule else default_script(request, rng)


EMPTY_VIEW = View()


def build_view(loaded: list[Loaded]) -> View:
    """One view of scenarios given oldest first."""
    latest_first = loaded[::-1]
    oauth = DEFAULT_BEHAVIOUR
    for item in loaded:
        settings = item.scenario.oauth
        oauth = OAuthBehaviour(
            consent=settings.consent or oauth.consent,
            exchange_failure=settings.exchange_failure or oauth.exchange_failure,
            state_lifetime=settings.state_lifetime or oauth.state_lifetime,
        )
    return View(
        scenarios=tuple(latest_first),
        faults=tuple((item, rule) for item in latest_first for rule in item.scenario.faults),
        syncs=tuple(rule for item in latest_first for rule in item.scenario.syncs),
        rate_limit=next(((item, item.scenario.rate_limit) for item in latest_first if item.scenario.rate_limit), None),
        oauth=oauth,
    )


class UnknownScenario(LookupError):
    def __init__(self, name: str, loaded: list[str]) -> None:
        known = ", ".join(loaded) or "none"
        super().__init__(f'no scenario named "{name}" is loaded (loaded: {known})')


# Slots, not frozen: one is made for every request, and a frozen dataclass takes twice as long.
@dataclass(slots=True)
class RequestFacts:
    method: str
    path: str
    operation_id: str | None
    # The contract's path template (`/v1/connectors/{id}`), when the path is one of its.
    template: str | None
    # The tenant key (`auth.tenant_key`): the API key, and "\n" and the team if one is named.
    tenant: str | None
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Decision:
    latency_ms: float = 0.0
    latency_rule: FaultRule | None = None
    outcome: FaultRule | None = None

    @property
    def label(self) -> str | None:
        parts = []
        if self.latency_rule is not None:
            parts.append(f"latency {self.latency_ms:.0f} ms ({self.latency_rule.name})")
        if self.outcome is not None:
            parts.append(f"{self.outcome.outcome_label()} ({self.outcome.name})")
        return ", ".join(parts) or None


NO_FAULT = Decision()


class ScenarioLibrary:
    """The loaded scenarios, which are active server-wide, which tenant is bound to which, and
    the counters their rules keep."""

    def __init__(self, clock: VirtualClock, seed: int | None = None) -> None:
        self._clock = clock
        self._seed = seed
        self._loaded: dict[str, Loaded] = {}
        self._active: list[str] = []
        self._bindings: dict[str, str] = {}
        # A bound tenant's fault windows count from its binding: a test that binds `outage` to
        # its own key meets the outage from then, however long ago the scenario was loaded.
        self._bound_at: dict[str, datetime] = {}
        self._active_view = EMPTY_VIEW
        self._views: dict[str, View] = {}
        # By tenant ("" for keyless requests), then (scenario, rule): the calls the rule has
        # matched, for the rules that need to know (`FaultRule.counts_calls`).
        self._calls: dict[str, dict[tuple[str, int], int]] = {}
        self._rates = RateWindows()

    # What is loaded -------------------------------------------------------------------------

    def load(self, scenario: Scenario, *, activate: bool, apply_clock: bool = True) -> Loaded:
        """Add a scenario, replacing one of the same name (its counters restart). Activating it
        server-wide also applies its clock settings, unless the caller has already."""
        if activate and apply_clock:
            # First, so a clock that refuses leaves nothing half loaded.
            self._apply_clock(scenario)
        loaded = Loaded(scenario, self._clock.now())
        self._forget_counts(scenario.name)
        self._loaded[scenario.name] = loaded
        if scenario.name in self._active:
            self._active.remove(scenario.name)
        if activate:
            self._active.append(scenario.name)
        self._changed()
        return loaded

    def replace(self, name: str, scenario: Scenario) -> Loaded:
        """Put `scenario` where the one called `name` is (a file edited on disk): active, bound
        and in the same place among the active ones as that was, its counters restarted."""
        if name not in self._loaded:
            return self.load(scenario, activate=True, apply_clock=False)
        position = self._active.index(name) if name in self._active else None
        if scenario.name != name:
            self._loaded.pop(name)
            self._forget_counts(name)
            if position is not None:
                self._active.remove(name)
            self._bindings = {t: scenario.name if bound == name else bound for t, bound in self._bindings.items()}
        loaded = self.load(scenario, activate=False, apply_clock=False)
        if position is not None:
            self._active.insert(min(position, len(self._active)), scenario.name)
        self._changed()
        return loaded

    def activate(self, name: str) -> Loaded:
        """Make a loaded scenario active server-wide, on top of the others (later ones win),
        with its clock settings, as loading it with `activate` does; its counters go on."""
        loaded = self._get(name)
        self._apply_clock(loaded.scenario)
        if name in self._active:
            self._active.remove(name)
        self._active.append(name)
        self._changed()
        return loaded

    def _apply_clock(self, scenario: Scenario) -> None:
        if scenario.clock_mode or scenario.clock_speed:
            mode = scenario.clock_mode or self._clock.mode
            self._clock.set_pace(mode, scenario.clock_speed or (1.0 if mode == "manual" else self._clock.speed))

    def deactivate(self, name: str) -> Loaded:
        """It stays loaded, for the tenants bound to it and the requests that name it."""
        loaded = self._get(name)
        if name in self._active:
            self._active.remove(name)
            self._changed()
        return loaded

    def remove(self, name: str) -> Loaded:
        loaded = self._get(name)
        del self._loaded[name]
        if name in self._active:
            self._active.remove(name)
        self._bindings = {tenant: bound for tenant, bound in self._bindings.items() if bound != name}
        self._bound_at = {tenant: at for tenant, at in self._bound_at.items() if tenant in self._bindings}
        self._forget_counts(name)
        self._changed()
        return loaded

    def clear(self) -> None:
        self._loaded.clear()
        self._active.clear()
        self._bindings.clear()
        self._bound_at.clear()
        self.reset_counters()
        self._changed()

    def loaded(self) -> list[Loaded]:
        return list(self._loaded.values())

    def names(self) -> set[str]:
        return set(self._loaded)

    def is_active(self, name: str) -> bool:
        return name in self._active

    def get(self, name: str) -> Loaded:
        return self._get(name)

    def bind(self, tenant: str, name: str) -> Loaded:
        loaded = self._get(name)
        self._bindings[tenant] = name
        self._bound_at[tenant] = self._clock.now()
        return loaded

    def unbind(self, tenant: str) -> None:
        self._bindings.pop(tenant, None)
        self._bound_at.pop(tenant, None)

    def binding(self, tenant: str) -> str | None:
        return self._bindings.get(tenant)

    def bound_tenants(self, name: str) -> int:
        return sum(1 for bound in self._bindings.values() if bound == name)

    def reset_counters(self) -> None:
        """Calls, draws and rate windows start again (`POST /_mock/reset`)."""
        self._calls.clear()
        self._rates.clear()

    def forget_tenant(self, tenant: str) -> None:
        """Drop what is kept for one tenant (`tenancy.TenantRoster` evicts it): its counts,
        its rate windows and its binding."""
        self._calls.pop(tenant, None)
        self._rates.forget_tenant(tenant)
        self._bindings.pop(tenant, None)
        self._bound_at.pop(tenant, None)

    # What applies to a request --------------------------------------------------------------

    def view_for(self, tenant: str | None, selected: str | None = None) -> View:
        """The header's scenario, else the tenant's binding, else the server-wide ones."""
        name = selected or (self._bindings.get(tenant) if tenant is not None else None)
        if name is None:
            return self._active_view
        view = self._views.get(name)
        if view is None:
            view = self._views[name] = build_view([self._get(name)])
        return view

    def decide(self, view: View, request: RequestFacts) -> Decision:
        """The latency and the outcome for one request: the first matching rule with each."""
        if not view.faults:
            return NO_FAULT
        now = self._clock.now()
        latency_rule: FaultRule | None = None
        latency = 0.0
        outcome: FaultRule | None = None
        for loaded, rule in view.faults:
            if not _matches(rule.match, request):
                continue
            # Every matching rule counts, taken or not, so one rule's "3rd call" does not move
            # when another rule is added.
            call = 0
            if rule.counts_calls:
                calls = self._calls.setdefault(request.tenant or "", {})
                key = (loaded.name, rule.index)
                call = calls[key] = calls.get(key, 0) + 1
            if not self._hits(loaded, rule, request.tenant, call, now):
                continue
            if rule.latency_ms and latency_rule is None:
                low, high = rule.latency_ms
                latency_rule, latency = rule, low + (high - low) * self._draw(loaded, rule, request.tenant, call, "ms")
            if rule.has_outcome and outcome is None:
                outcome = rule
        return Decision(latency, latency_rule, outcome)

    def take(self, view: View, tenant: str, plan: RateLimit | None = None) -> RateWindow | None:
        """Count one request against the rate limit of the view's scenario where it has one,
        else against the server's `plan` (None: no plan is reported)."""
        if view.rate_limit is not None:
            loaded, limit = view.rate_limit
            return self._rates.take(loaded.name, limit, tenant, self._clock.now())
        if plan is not None:
            return self._rates.take(PLAN, plan, tenant, self._clock.now())
        return None

    # ----------------------------------------------------------------------------------------

    def _get(self, name: str) -> Loaded:
        try:
            return self._loaded[name]
        except KeyError:
            raise UnknownScenario(name, list(self._loaded)) from None

    def _changed(self) -> None:
        self._active_view = build_view([self._loaded[name] for name in self._active])
        self._views.clear()

    def _forget_counts(self, name: str) -> None:
        for calls in self._calls.values():
            for key in [key for key in calls if key[0] == name]:
                del calls[key]
        self._rates.forget(name)

    def _draw(self, loaded: Loaded, rule: FaultRule, tenant: str | None, call: int, purpose: str) -> float:
        """A number in [0, 1) for one call of one rule for one tenant. Under a seed it is a hash
        of exactly those, so it repeats run after run whatever other tenants do, with nothing
        kept per tenant; without one, it is random."""
        seed = self._seed if self._seed is not None else loaded.scenario.seed
        if seed is None:
            return random.random()
        text = "\0".join(map(str, (seed, loaded.name, rule.index, tenant or "", call, purpose)))
        return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") / 2**64

    def _hits(self, loaded: Loaded, rule: FaultRule, tenant: str | None, call: int, now: datetime) -> bool:
        when = rule.when
        if when.calls is not None and call not in when.calls:
            return False
        if when.every is not None and call % when.every:
            return False
        if when.window_from is not None or when.window_until is not None:
            since = (now - self._window_start(loaded, tenant)).total_seconds()
            if since < (when.window_from or 0) or (when.window_until is not None and since >= when.window_until):
                return False
        return when.probability is None or self._draw(loaded, rule, tenant, call, "hit") < when.probability

    def _window_start(self, loaded: Loaded, tenant: str | None) -> datetime:
        if tenant is not None and self._bindings.get(tenant) == loaded.name:
            return max(loaded.loaded_at, self._bound_at[tenant])
        return loaded.loaded_at


def _matches(match: RequestMatch, request: RequestFacts) -> bool:
    if match.operations is not None and request.operation_id not in match.operations:
        return False
    if match.method is not None and match.method != request.method:
        return False
    if match.path is not None and match.path != request.template:
        return False
    if match.tenant is not None or match.team is not None:
        token, _, team = (request.tenant or "").partition("\n")
        if request.tenant is None or (match.tenant is not None and match.tenant != token):
            return False
        if match.team is not None and match.team != team:
            return False
    return all(request.headers.get(name) == value for name, value in match.headers)
