"""The fake's memory: one `Tenant` per API key (and team), each with its own copy of the
fixtures, its sync jobs and its OAuth flows. Plain Python, no HTTP: methods are named after the
API's operations and raise `ApiError`s that the HTTP layer renders.

A tenant that has only read shares its seed's connectors with every other such tenant, and
has no random streams yet: it costs a few hundred bytes, so thousands of keys that look around
cost little. Its own copy is made at its first change (`Tenant._own`).
"""

from __future__ import annotations

import copy
import random
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from connectors_mock.auth import tenant_label
from connectors_mock.clock import Clock
from connectors_mock.connectors import Connector, SeedData, comparable_name, merge_config, shared_keys
from connectors_mock.errors import ApiError, FieldError, Location, not_found, validation_failed
from connectors_mock.ids import IdSource, seeded_random
from connectors_mock.jobs import (
    ACTIVE,
    Job,
    ScriptSource,
    SyncMode,
    SyncRequest,
    default_script,
    failure_json,
    is_full_sync,
)
from connectors_mock.oauth import (
    DEFAULT_BEHAVIOUR,
    OAuthBehaviour,
    OAuthFlow,
    OAuthFlows,
    issued_tokens,
    provider_name,
    redirect_uri_problem,
)


class SchemaCheck(Protocol):
    def errors(self, instance: object) -> list[FieldError]: ...


@dataclass
class ChangeCount:
    """Counts changes to the state, so whoever saves it (`persistence.py`) knows when to."""

    value: int = 0

    def __call__(self) -> None:
        self.value += 1


@dataclass(frozen=True)
class Shared:
    """What every tenant reads and none owns: the clock, the checks from the spec, the OAuth
    flows (found by state alone, see `oauth.py`) and how sync jobs are scripted."""

    clock: Clock
    config_checks: Mapping[str, SchemaCheck]
    oauth_types: frozenset[str]
    flows: OAuthFlows
    sync_scripts: ScriptSource = default_script
    changes: ChangeCount = field(default_factory=ChangeCount)


@dataclass(slots=True)
class Holdings:
    """A tenant's connectors and jobs; `names` finds a connector by collection and name, as
    `comparable_name` compares names."""

    connectors: dict[str, Connector] = field(default_factory=dict)
    names: dict[tuple[str, str], str] = field(default_factory=dict)
    jobs: dict[str, dict[str, Job]] = field(default_factory=dict)

    @classmethod
    def of(cls, seed: SeedData) -> Holdings:
        """What every tenant of `seed` starts from, to be shared until one changes it."""
        holdings = cls({c.id: c for c in seed.connectors})
        holdings.names = {(c.collection, comparable_name(c.name)): c.id for c in seed.connectors}
        for job in seed.jobs:
            holdings.jobs.setdefault(job.connector_id, {})[job.id] = job
        return holdings

    def copy(self) -> Holdings:
        # Jobs are immutable, so copies share them: an imported connector's running job stays
        # the very job `get_job` finds.
        memo: dict[int, Any] = {id(job): job for jobs in self.jobs.values() for job in jobs.values()}
        connectors = {cid: copy.deepcopy(c, dict(memo)) for cid, c in self.connectors.items()}
        return Holdings(connectors, dict(self.names), {cid: dict(jobs) for cid, jobs in self.jobs.items()})


class Tenant:
    __slots__ = ("_held", "_ids", "_owned", "_rng", "_seed", "_shared", "clock", "collections", "key")

    def __init__(
        self,
        key: str,
        start: Holdings,
        collections: frozenset[str],
        shared: Shared,
        seed: tuple[int | None, tuple[str, ...]],
    ) -> None:
        self.key = key
        self._shared = shared
        self.clock = shared.clock
        self.collections = collections
        # Shared with every tenant that started from the same seed, until `_own`.
        self._held = start
        self._owned = False
        # The seed and scope of the tenant's random streams, made when first drawn from.
        self._seed = seed
        self._ids: IdSource | None = None
        self._rng: random.Random | None = None

    @property
    def connectors(self) -> Mapping[str, Connector]:
        return self._held.connectors

    @property
    def owns_its_state(self) -> bool:
        """Whether the tenant has changed anything (and so holds a copy of its own)."""
        return self._owned

    def _own(self) -> Holdings:
        """The tenant's holdings, copied from its seed's at its first change."""
        if not self._owned:
            self._held = self._held.copy()
            self._owned = True
        return self._held

    def _changing(self) -> Holdings:
        """`_own`, for a change that a saved state must hold."""
        self._shared.changes()
        return self._own()

    @property
    def ids(self) -> IdSource:
        if self._ids is None:
            seed, scope = self._seed
            self._ids = IdSource(seeded_random(seed, *scope))
        return self._ids

    @property
    def rng(self) -> random.Random:
        """Job sizes draw from their own stream, so they do not shift the ids."""
        if self._rng is None:
            seed, scope = self._seed
            self._rng = seeded_random(seed, *scope, "jobs")
        return self._rng

    def jobs(self) -> list[Job]:
        """Every job of the tenant, oldest first (those started at one instant, by connector)."""
        jobs = (job for by_id in self._held.jobs.values() for job in by_id.values())
        return sorted(jobs, key=lambda job: job.started_at)

    def list_connectors(self) -> list[Connector]:
        # Checked here, not only in `_settle`: a list of thousands has few syncing.
        if any(connector.current_job is not None for connector in self._held.connectors.values()):
            for connector in self._own().connectors.values():
                if connector.current_job is not None:
                    self._settle(connector)
        return list(self._held.connectors.values())

    def get_connector(self, connector_id: str) -> Connector:
        try:
            connector = self._held.connectors[connector_id]
        except KeyError:
            raise not_found("Connector", connector_id) from None
        if connector.current_job is not None:
            connector = self._own().connectors[connector_id]
            self._settle(connector)
        return connector

    def create_connector(
        self,
        *,
        name: str,
        connector_type: str,
        collection: str,
        config: dict[str, Any],
        credentials: dict[str, Any],
    ) -> Connector:
        self._check_collection(collection, "body", "$.collection")
        self._check_name_free(collection, name)
        held = self._changing()
        now = self.clock.now()
        connector_id = self.ids.new("conn_")
        while connector_id in held.connectors:
            connector_id = self.ids.new("conn_")
        connector = Connector(
            id=connector_id,
            name=name,
            # Shared, not one copy per connector: the memory a stored connector costs is
            # mostly what its request brought (the guide, "Performance").
            type=sys.intern(connector_type),
            collection=sys.intern(collection),
            config=shared_keys(config),
            status="active",
            created_at=now,
            updated_at=now,
            credentials=shared_keys(credentials),
        )
        held.connectors[connector_id] = connector
        held.names[(collection, comparable_name(name))] = connector_id
        return connector

    def update_connector(self, connector_id: str, changes: Mapping[str, Any]) -> Connector:
        self.get_connector(connector_id)
        held = self._changing()
        connector = held.connectors[connector_id]
        errors = [
            FieldError(
                "body",
                f"$.{key}",
                f"a connector's {key} cannot change (it is {current!r}); create a new connector instead",
            )
            for key, current in (("type", connector.type), ("collection", connector.collection))
            if key in changes and changes[key] != current
        ]
        config = connector.config
        if "config" in changes:
            config = merge_config(connector.config, changes["config"])
            errors += [e.under("$.config") for e in self._shared.config_checks[connector.type].errors(config)]
        if errors:
            raise validation_failed("Update refused", errors)
        name = changes.get("name", connector.name)
        if comparable_name(name) != comparable_name(connector.name):
            self._check_name_free(connector.collection, name)
            del held.names[(connector.collection, comparable_name(connector.name))]
            held.names[(connector.collection, comparable_name(name))] = connector.id
        connector.name = name
        connector.config = config
        connector.updated_at = self.clock.now()
        return connector

    def delete_connector(self, connector_id: str) -> None:
        connector = self.get_connector(connector_id)
        held = self._changing()
        del held.connectors[connector_id]
        del held.names[(connector.collection, comparable_name(connector.name))]
        # Its jobs end with it: their status is a 404 from now on.
        held.jobs.pop(connector_id, None)

    def trigger_sync(
        self,
        connector_id: str,
        mode: SyncMode,
        file_filter: tuple[str, ...] | None,
        scripts: ScriptSource | None = None,
    ) -> Job:
        """`scripts` is how the request's scenario scripts the job; by default, the server's."""
        self.get_connector(connector_id)
        held = self._changing()
        connector = held.connectors[connector_id]
        if connector.current_job is not None:
            running = connector.current_job.id
            raise ApiError(
                409,
                "sync_in_progress",
                f'Connector "{connector_id}" is already syncing (job "{running}"); '
                f"follow it at /v1/connectors/{connector_id}/sync/{running}",
            )
        full = is_full_sync(mode, connector.full_sync_done)
        request = SyncRequest(connector.id, connector.type, connector.name, mode, file_filter, full)
        script = (scripts or self._shared.sync_scripts)(request, self.rng)
        job_id = self.ids.new("job_")
        jobs = held.jobs.setdefault(connector_id, {})
        while job_id in jobs:
            job_id = self.ids.new("job_")
        job = Job(job_id, connector_id, mode, file_filter, self.clock.now(), script, full)
        jobs[job_id] = job
        connector.current_job = job
        connector.status = "syncing"
        return job

    def get_job(self, connector_id: str, job_id: str) -> Job:
        self.get_connector(connector_id)
        job = self._held.jobs.get(connector_id, {}).get(job_id)
        if job is None:
            raise ApiError(404, "not_found", f'Sync job "{job_id}" not found for connector "{connector_id}"')
        return job

    def authorize_oauth(
        self,
        connector_type: str,
        *,
        collection: str | None,
        name: str | None,
        redirect_uri: str,
        behaviour: OAuthBehaviour = DEFAULT_BEHAVIOUR,
    ) -> OAuthFlow:
        oauth_types = self._shared.oauth_types
        if connector_type not in oauth_types:
            raise ApiError(
                400,
                "invalid_parameter",
                f"type: {connector_type} does not use OAuth (only {', '.join(sorted(oauth_types))} do); "
                f"create it with POST /v1/connectors and its credentials",
            )
        errors = []
        if collection is not None:
            errors += self._collection_errors(collection, "query", "collection")
        problem = redirect_uri_problem(redirect_uri)
        if problem:
            errors.append(FieldError("query", "redirect_uri", problem))
        if errors:
            raise validation_failed("Request is invalid", errors)
        return self._shared.flows.start(
            self.ids,
            tenant=self.key,
            connector_type=connector_type,
            collection=collection,
            name=name,
            redirect_uri=redirect_uri,
            behaviour=behaviour,
        )

    def complete_oauth(
        self,
        connector_type: str,
        *,
        code: str,
        state: str,
        name: str | None,
        collection: str | None,
        behaviour: OAuthBehaviour = DEFAULT_BEHAVIOUR,
    ) -> Connector:
        flows = self._shared.flows
        flow = flows.redeem(self.key, connector_type, state, code)
        if behaviour.exchange_failure:
            # The provider refused the code; the flow stays redeemable, as after any refusal.
            raise ApiError(400, "invalid_grant", behaviour.exchange_failure)
        collection = collection or flow.collection
        if collection is None:
            raise validation_failed(
                "Collection required",
                [FieldError("body", "$.collection", "required, since authorizeOAuth was not given a collection")],
            )
        name = name or flow.name or self._free_default_name(collection, provider_name(connector_type))
        connector = self.create_connector(
            name=name,
            connector_type=connector_type,
            collection=collection,
            config={},
            credentials=issued_tokens(self.ids),
        )
        flows.finish(flow)
        return connector

    def _settle(self, connector: Connector) -> None:
        """Fold a finished job into its connector: the first read after it ends does it, and the
        result is the same whenever that read comes, because the job's timeline is fixed."""
        job = connector.current_job
        if job is None:
            return
        state = job.state(self.clock.now())
        if state.status in ACTIVE:
            return
        self._shared.changes()
        connector.current_job = None
        if state.error:
            connector.status = "error"
            connector.last_error = failure_json(state.error, job.finished_at)
        else:
            connector.status = "active"
            connector.last_sync = job.finished_at
            connector.last_error = None
            connector.full_sync_done = connector.full_sync_done or job.full

    def _check_collection(self, collection: str, location: Location, path: str) -> None:
        errors = self._collection_errors(collection, location, path)
        if errors:
            raise validation_failed("Unknown collection", errors)

    def _collection_errors(self, collection: str, location: Location, path: str) -> list[FieldError]:
        if collection in self.collections:
            return []
        known = ", ".join(sorted(self.collections)) or "none"
        return [FieldError(location, path, f'"{collection}" does not exist (known: {known})')]

    def _free_default_name(self, collection: str, base: str) -> str:
        """A provider's name, numbered if taken: connecting twice without naming must not fail
        after the user has already given consent."""
        name, number = base, 1
        while (collection, comparable_name(name)) in self._held.names:
            number += 1
            name = f"{base} ({number})"
        return name

    def _check_name_free(self, collection: str, name: str) -> None:
        taken = self._held.names.get((collection, comparable_name(name)))
        if taken is not None:
            existing = self._held.connectors[taken].name
            # Names compare as a person reads them: say so when the two are written apart.
            same = "" if existing == name else f' (as "{existing}", which reads the same)'
            raise ApiError(
                409,
                "already_exists",
                f'A connector named "{name}" already exists in collection "{collection}"{same}',
            )


class Backend:
    """Every tenant, created the first time its key is seen: from the seed data, or from the
    imported state (`snapshot.py`) named by the key's `tenant_label`."""

    def __init__(self, seed_data: SeedData, shared: Shared, seed: int | None = None) -> None:
        self.seed_data = seed_data
        self.shared = shared
        self._seed = seed
        self._tenants: dict[str, Tenant] = {}
        # What tenants start from, by tenant label for an imported state, shared until changed.
        self._fixtures = (Holdings.of(seed_data), frozenset(seed_data.collections))
        self._imported: dict[str, tuple[Holdings, frozenset[str]]] = {}

    @property
    def tenant_count(self) -> int:
        return len(self._tenants)

    def reset(self, imported: Mapping[str, SeedData] | None = None) -> None:
        """Back to the fixtures, as at start-up: every tenant starts afresh (with the same ids
        under a seed), OAuth flows and any imported state are forgotten. The clock keeps its
        time. With `imported` (by tenant label), those tenants start from it instead."""
        self.shared.changes()
        self._tenants.clear()
        self._imported = {
            label: (Holdings.of(data), frozenset(data.collections)) for label, data in (imported or {}).items()
        }
        self.shared.flows.clear()

    def replace_fixtures(self, seed_data: SeedData) -> int:
        """New fixtures (a file edited on disk): every tenant that has changed nothing starts
        from them at its next request; one that has keeps what it holds. How many kept theirs."""
        self.seed_data = seed_data
        self._fixtures = (Holdings.of(seed_data), frozenset(seed_data.collections))
        self.shared.flows.set_standing(seed_data.consents)
        kept = {key: tenant for key, tenant in self._tenants.items() if tenant.owns_its_state}
        self._tenants = kept
        self.shared.changes()
        return len(kept)

    def tenants(self) -> dict[str, Tenant]:
        """Every tenant by label. An imported tenant no key has reached yet is built for the
        reading and not kept, so it reads as its key will find it."""
        found = {tenant_label(key): tenant for key, tenant in self._tenants.items()}
        for label in self._imported:
            if label not in found:
                found[label] = self._new_tenant(label, label)
        return found

    def tenant(self, key: str) -> Tenant:
        tenant = self._tenants.get(key)
        if tenant is None:
            tenant = self._tenants[key] = self._new_tenant(key, tenant_label(key))
        return tenant

    def peek(self, key: str) -> Tenant:
        """The key's tenant, or, for a key that has not reached an operation yet, the tenant it
        would start as, built for the reading and not kept (a look must not make a tenant)."""
        return self._tenants.get(key) or self._new_tenant(key, tenant_label(key))

    def imported_tenant(self, label: str) -> Tenant | None:
        """An imported tenant no key has reached yet, by label, as its key will find it."""
        return self._new_tenant(label, label) if label in self._imported else None

    def imported_labels(self) -> list[str]:
        return sorted(self._imported)

    def forget(self, key: str) -> bool:
        """Drop a tenant's state (`tenancy.TenantRoster` evicts it); its key starts afresh."""
        self.shared.changes()
        return self._tenants.pop(key, None) is not None

    @property
    def generation(self) -> int:
        """Grows with every change to what a saved state holds: tenants and OAuth flows."""
        return self.shared.changes.value + self.shared.flows.changes

    def _new_tenant(self, key: str, label: str) -> Tenant:
        imported = self._imported.get(label)
        start, collections = imported or self._fixtures
        # An imported tenant has its own streams: its key's would replay the ids it holds.
        scope = ("tenant", key) if imported is None else ("tenant", key, "imported")
        return Tenant(key, start, collections, self.shared, (self._seed, scope))
