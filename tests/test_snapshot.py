"""State export and import (`snapshot.py`), on the state model alone: what a suite that saves
a state and starts the next run from it relies on."""

from __future__ import annotations

import contextlib
import copy
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from connectors_mock.auth import tenant_label
from connectors_mock.clock import MANUAL_EPOCH, VirtualClock, manual_clock
from connectors_mock.connectors import Connector, SeedData
from connectors_mock.errors import ApiError
from connectors_mock.jobs import SyncFailure, SyncMode, SyncRequest, SyncScript, default_script
from connectors_mock.snapshot import SNAPSHOT_SCHEMA, export_state, import_state
from connectors_mock.spec import Spec
from connectors_mock.state import Backend, Tenant
from tests.conftest import BackendFactory, ClientFactory

KEY = "sk_live_SECRET_one"
TEAM_KEY = "sk_live_SECRET_two\nteam-blue"
FAILING = SyncScript(total=200, failure=SyncFailure(0.5, "credentials_rejected", "S3 answered 403 Forbidden"))
STUCK = SyncScript(total=90, stuck_at=0.4)


def scripted(request: SyncRequest, rng: random.Random) -> SyncScript:
    """A connector's name says how its syncs go."""
    if request.connector_name.startswith("Failing"):
        return FAILING
    if request.connector_name.startswith("Stuck"):
        return STUCK
    return default_script(request, rng)


def create(tenant: Tenant, name: str, collection: str = "col_a") -> Connector:
    return tenant.create_connector(
        name=name,
        connector_type="s3",
        collection=collection,
        config={"bucket": "docs", "region": "us-east-1"},
        credentials={"accessKeyId": f"AKIA-{name}-SECRET", "secretAccessKey": f"s3cr3t-{name}"},
    )


@dataclass
class Built:
    backend: Backend
    clock: VirtualClock
    running: tuple[str, str]  # (connector id, job id)
    stuck: tuple[str, str]
    failing: str


@pytest.fixture
def built(make_backend: BackendFactory, clock: VirtualClock) -> Built:
    """Two tenants (one a team's) with every kind of connector and job: synced, failed, stuck,
    running (started part way through a second), deleted with its jobs, connected by OAuth."""
    backend = make_backend(clock=clock, sync_scripts=scripted)
    tenant = backend.tenant(KEY)
    docs = create(tenant, "Docs")
    tenant.update_connector(docs.id, {"name": "Docs (renamed)", "config": {"prefix": "/p/"}})
    tenant.trigger_sync(docs.id, "auto", None)
    gone = create(tenant, "Gone")
    tenant.trigger_sync(gone.id, "full", None)
    clock.advance(10)
    tenant.delete_connector(gone.id)
    failing = create(tenant, "Failing", "col_b")
    tenant.trigger_sync(failing.id, "full", None)
    stuck = create(tenant, "Stuck")
    stuck_job = tenant.trigger_sync(stuck.id, "auto", None)
    clock.advance(5.25)
    running = tenant.trigger_sync(docs.id, "incremental", ("/a.pdf", "/b.pdf"))
    flow = tenant.authorize_oauth("notion", collection="col_b", name=None, redirect_uri="http://app.test/cb")
    approved = backend.shared.flows.decide("notion", flow.state, approve=True)
    tenant.complete_oauth("notion", code=approved.code, state=approved.state, name=None, collection=None)
    create(backend.tenant(TEAM_KEY), "Team docs")
    clock.advance(1)
    return Built(backend, clock, (docs.id, running.id), (stuck.id, stuck_job.id), failing.id)


def reads(tenant: Tenant, now: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Everything a client can read of a tenant at this moment."""
    return [c.to_json() for c in tenant.list_connectors()], [job.to_json(now) for job in tenant.jobs()]


def without_time(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "exportedAt"}


def test_an_export_imports_into_a_fresh_fake_and_exports_again_the_same(
    built: Built, make_backend: BackendFactory, spec: Spec
) -> None:
    exported = export_state(built.backend, built.clock.now())
    assert exported["version"] == 2
    assert exported["exportedAt"] == "2025-01-01T00:00:16Z"
    assert [t["tenant"] for t in exported["tenants"]] == sorted([tenant_label(KEY), tenant_label(TEAM_KEY)])
    mine = next(t for t in exported["tenants"] if t["tenant"] == tenant_label(KEY))
    assert [c["name"] for c in mine["connectors"]] == ["Docs (renamed)", "Failing", "Stuck", "Notion"]
    docs = mine["connectors"][0]
    assert (docs["status"], docs["currentJobId"], docs["fullSyncDone"]) == ("syncing", built.running[1], True)
    assert docs["config"] == {"bucket": "docs", "region": "us-east-1", "prefix": "/p/"}
    # The deleted connector's job is gone with it; the rest are oldest first.
    assert [(j["connectorId"], j["syncMode"]) for j in mine["jobs"]] == [
        (built.running[0], "auto"),
        (built.failing, "full"),
        (built.stuck[0], "auto"),
        (built.running[0], "incremental"),
    ]
    assert mine["jobs"][3]["startedAt"] == "2025-01-01T00:00:15.250000Z"
    assert mine["jobs"][3]["fileFilter"] == ["/a.pdf", "/b.pdf"]
    assert mine["jobs"][1]["script"]["failure"] == {
        "at": 0.5,
        "code": "credentials_rejected",
        "message": "S3 answered 403 Forbidden",
    }
    assert mine["jobs"][2]["script"]["stuckAt"] == 0.4

    fresh = make_backend(clock=built.clock)
    assert import_state(fresh, json.loads(json.dumps(exported)), spec) == 2
    # Imported tenants no key has reached yet are exported too, and exporting does not make them.
    assert without_time(export_state(fresh, built.clock.now())) == without_time(exported)
    assert fresh.tenant_count == 0


def test_an_export_names_no_api_key_and_no_credential(built: Built) -> None:
    text = json.dumps(export_state(built.backend, built.clock.now()))
    secrets = [KEY, TEAM_KEY.partition("\n")[0]]
    for tenant in built.backend.tenants().values():
        secrets += [str(value) for c in tenant.connectors.values() for value in c.credentials.values()]
    assert len(secrets) > 6  # the OAuth tokens among them
    assert [secret for secret in secrets if secret in text] == []
    assert all("credentials" not in c for t in json.loads(text)["tenants"] for c in t["connectors"])
    assert "team-blue" in text  # a team is no secret, and tells two tenants of one key apart


def test_an_imported_job_goes_on_with_the_clock_and_settles_its_connector(
    built: Built, make_backend: BackendFactory, spec: Spec
) -> None:
    clock = built.clock
    original = built.backend.tenant(KEY)
    fresh = make_backend(clock=clock)
    import_state(fresh, export_state(built.backend, clock.now()), spec)
    imported = fresh.tenant(KEY)
    (docs_id, job_id), (stuck_id, stuck_job) = built.running, built.stuck
    assert imported.get_job(docs_id, job_id).to_json(clock.now())["status"] == "running"
    assert imported.get_connector(built.failing).to_json() == original.get_connector(built.failing).to_json()
    for seconds in (0.5, 3, 60):
        clock.advance(seconds)
        assert reads(imported, clock.now()) == reads(original, clock.now())
    job = imported.get_job(docs_id, job_id).to_json(clock.now())
    connector = imported.get_connector(docs_id).to_json()
    assert (job["status"], connector["status"], connector["lastSync"]) == ("completed", "active", job["completedAt"])
    assert imported.get_job(stuck_id, stuck_job).to_json(clock.now())["status"] == "running"
    # Credentials are never exported, so none come back.
    assert all(c.credentials == {} for c in imported.list_connectors())
    assert [next_sync(imported, c) for c in original.connectors] == [
        False,  # a full sync has completed: `auto` is incremental
        True,
        "sync_in_progress",  # the stuck job
        True,
    ]


FIXTURE = Connector(
    id="conn_fixture1",
    name="Fixture",
    type="s3",
    collection="col_a",
    config={"bucket": "fixture", "region": "eu-west-1"},
    status="active",
    created_at=MANUAL_EPOCH,
    updated_at=MANUAL_EPOCH,
)


def test_an_import_replaces_everything_and_other_keys_get_the_fixtures(
    make_backend: BackendFactory, spec: Spec
) -> None:
    backend = make_backend(seed_data=SeedData(collections=("col_a",), connectors=(FIXTURE,)))
    source = make_backend()
    create(source.tenant(KEY), "Imported")
    document = export_state(source, MANUAL_EPOCH)

    before = backend.tenant("key-before")
    create(before, "Made before the import")
    before.authorize_oauth("notion", collection=None, name=None, redirect_uri="http://app.test/cb")
    import_state(backend, document, spec)

    assert len(backend.shared.flows) == 0
    assert [c.name for c in backend.tenant(KEY).list_connectors()] == ["Imported"]
    assert backend.tenant(KEY).collections == {"col_a", "col_b"}
    for other in ("key-before", "key-other", f"{KEY}\nsome-team"):
        assert [c.id for c in backend.tenant(other).list_connectors()] == ["conn_fixture1"]


def test_a_reset_goes_back_to_the_fixtures_and_forgets_the_import(make_backend: BackendFactory, spec: Spec) -> None:
    backend = make_backend(seed_data=SeedData(collections=("col_a",), connectors=(FIXTURE,)))
    source = make_backend()
    create(source.tenant(KEY), "Imported")
    import_state(backend, export_state(source, MANUAL_EPOCH), spec)
    backend.reset()
    assert export_state(backend, MANUAL_EPOCH)["tenants"] == []
    assert [c.id for c in backend.tenant(KEY).list_connectors()] == ["conn_fixture1"]


def test_after_an_import_new_ids_repeat_under_a_seed_and_are_new(
    built: Built, make_backend: BackendFactory, spec: Spec
) -> None:
    document = export_state(built.backend, built.clock.now())
    held = {c["id"] for t in document["tenants"] for c in t["connectors"]}

    def run() -> list[str]:
        backend = make_backend(clock=manual_clock(built.clock.now()), seed=5)
        import_state(backend, document, spec)
        tenant = backend.tenant(KEY)
        connectors = [create(tenant, f"New {n}") for n in range(3)]
        return [c.id for c in connectors] + [tenant.trigger_sync(connectors[0].id, "full", None).id]

    first = run()
    assert first == run()
    assert held.isdisjoint(first)


@pytest.fixture
def small(make_backend: BackendFactory, clock: VirtualClock) -> Backend:
    """One tenant: `One`, syncing (its job is the second), `Two`, with a finished job, and
    `Three`, never synced."""
    backend = make_backend(clock=clock)
    tenant = backend.tenant(KEY)
    one, two = create(tenant, "One"), create(tenant, "Two")
    create(tenant, "Three", "col_b")
    tenant.trigger_sync(two.id, "full", None)
    clock.advance(10)
    tenant.trigger_sync(one.id, "full", None)
    return backend


Change = Callable[[dict[str, Any]], None]


def tenant0(change: Callable[[dict[str, Any]], None]) -> Change:
    return lambda document: change(document["tenants"][0])


def connector(index: int, **fields: Any) -> Change:
    return tenant0(lambda tenant: tenant["connectors"][index].update(fields))


REFUSALS: list[tuple[str, Change, str]] = [
    ("a later version", lambda d: d.update(version=3), "$.version"),
    ("an API key for a label", tenant0(lambda t: t.update(tenant=KEY)), "$.tenants[0].tenant"),
    ("a tenant twice", lambda d: d["tenants"].append(copy.deepcopy(d["tenants"][0])), "$.tenants[1].tenant"),
    ("credentials", connector(0, credentials={"accessKeyId": "AKIA"}), "$.tenants[0].connectors[0].credentials"),
    ("a name the contract refuses", connector(1, name=" Two"), "$.tenants[0].connectors[1].name"),
    (
        "a config the contract refuses",
        connector(1, config={"bucket": "docs", "region": "moon"}),
        "$.tenants[0].connectors[1].config.region",
    ),
    ("a collection not the tenant's", connector(1, collection="col_zzz"), "$.tenants[0].connectors[1].collection"),
    (
        "a connector id twice",
        tenant0(lambda t: t["connectors"][2].update(id=t["connectors"][0]["id"])),
        "$.tenants[0].connectors[2].id",
    ),
    ("a name twice in a collection", connector(1, name="One"), "$.tenants[0].connectors[1].name"),
    ("syncing with no job", connector(0, currentJobId=None), "$.tenants[0].connectors[0].currentJobId"),
    (
        "another connector's job",
        tenant0(lambda t: t["connectors"][0].update(currentJobId=t["jobs"][0]["jobId"])),
        "$.tenants[0].connectors[0].currentJobId",
    ),
    (
        "a job of no connector",
        tenant0(lambda t: t["jobs"][0].update(connectorId="conn_nobody")),
        "$.tenants[0].jobs[0].connectorId",
    ),
    (
        "a moment before year 1 in UTC",
        tenant0(lambda t: t["jobs"][0].update(startedAt="0001-01-01T00:00:00+01:00")),
        "$.tenants[0].jobs[0].startedAt",
    ),
    (
        "a failure past the end of the run",
        tenant0(lambda t: t["jobs"][0]["script"].update(failure={"at": 1.5, "code": "x", "message": "m"})),
        "$.tenants[0].jobs[0].script.failure.at",
    ),
]


@pytest.mark.parametrize(("change", "path"), [case[1:] for case in REFUSALS], ids=[case[0] for case in REFUSALS])
def test_a_refused_import_names_the_field_and_changes_nothing(
    small: Backend, spec: Spec, change: Change, path: str
) -> None:
    backend, now = small, small.shared.clock.now()
    before = export_state(backend, now)
    document = copy.deepcopy(before)
    change(document)
    tenant = backend.tenant(KEY)
    tenant.authorize_oauth("notion", collection=None, name=None, redirect_uri="http://app.test/cb")
    before = export_state(backend, now)
    with pytest.raises(ApiError) as refused:
        import_state(backend, document, spec)
    assert (refused.value.status, refused.value.code) == (422, "validation_failed")
    assert [e.path for e in refused.value.field_errors] == [path]
    assert refused.value.message.startswith(f"State not imported: {path}: ")
    assert backend.tenant(KEY) is tenant
    assert len(backend.shared.flows) == 1
    assert export_state(backend, now) == before


def test_a_refused_import_keeps_the_import_before_it(small: Backend, spec: Spec) -> None:
    now = small.shared.clock.now()
    document = export_state(small, now)
    import_state(small, document, spec)
    with pytest.raises(ApiError):
        import_state(small, {**document, "version": 3}, spec)
    assert export_state(small, now) == document
    assert [c.name for c in small.tenant(KEY).list_connectors()] == ["One", "Two", "Three"]


@pytest.mark.parametrize(
    ("document", "path"),
    [([], "$"), (None, "$"), ({"version": 1}, "$.tenants"), ({"version": 1, "tenants": [{}]}, "$.tenants[0].tenant")],
)
def test_a_document_of_the_wrong_shape_is_refused(
    make_backend: BackendFactory, spec: Spec, document: Any, path: str
) -> None:
    with pytest.raises(ApiError) as refused:
        import_state(make_backend(), document, spec)
    assert refused.value.field_errors[0].path == path


def test_a_hand_written_document_may_say_5_0_for_a_count(small: Backend, spec: Spec) -> None:
    document = export_state(small, small.shared.clock.now())
    job = document["tenants"][0]["jobs"][0]
    job["script"]["total"] = 5.0
    import_state(small, document, spec)
    progress = small.tenant(KEY).get_job(job["connectorId"], job["jobId"]).to_json(small.shared.clock.now())["progress"]
    assert json.dumps(progress) == '{"collected": 5, "parsed": 5, "indexed": 5}'


def test_the_snapshot_schema_is_a_schema_every_export_meets(built: Built) -> None:
    Draft202012Validator.check_schema(SNAPSHOT_SCHEMA)
    errors = Draft202012Validator(SNAPSHOT_SCHEMA).iter_errors(export_state(built.backend, built.clock.now()))
    assert [e.message for e in errors] == []


MODES: tuple[SyncMode, ...] = ("auto", "full", "incremental")
# By slot: the connector a step acts on (its name says how its syncs go).
SLOTS = ("Docs 0", "Docs 1", "Docs 2", "Failing", "Stuck")
# A step: a slot (its connector is made if missing), what to do to it, then milliseconds to wait.
Step = tuple[int, str, int]
STEPS = st.lists(
    st.tuples(st.integers(0, len(SLOTS) - 1), st.sampled_from([*MODES, "nothing", "delete"]), st.integers(0, 6000)),
    max_size=15,
)


# make_backend is a stateless factory: sharing it across examples is safe.
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS, later=st.lists(st.integers(0, 6000), min_size=1, max_size=4))
def test_an_imported_state_reads_as_the_original_whatever_led_to_it(
    make_backend: BackendFactory, spec: Spec, steps: list[Step], later: list[int]
) -> None:
    clock = manual_clock()
    original = make_backend(clock=clock, sync_scripts=scripted)
    tenant = original.tenant(KEY)
    slots: dict[int, str] = {}
    for slot, action, milliseconds in steps:
        if slot not in slots:
            slots[slot] = create(tenant, SLOTS[slot], ("col_a", "col_b")[slot % 2]).id
        if action == "delete":
            tenant.delete_connector(slots.pop(slot))
        elif action in MODES:
            # A sync still running refuses another, as it would for a client.
            with contextlib.suppress(ApiError):
                tenant.trigger_sync(slots[slot], MODES[MODES.index(action)], None)
        clock.advance(milliseconds / 1000)
    exported = export_state(original, clock.now())
    imported = make_backend(clock=clock)
    import_state(imported, exported, spec)
    assert without_time(export_state(imported, clock.now())) == without_time(exported)
    for milliseconds in later:
        clock.advance(milliseconds / 1000)
        assert reads(imported.tenant(KEY), clock.now()) == reads(tenant, clock.now())
    # What is not shown counts too: whether `auto` is still full, whether a job still runs.
    assert [next_sync(imported.tenant(KEY), c) for c in tenant.connectors] == [
        next_sync(tenant, c) for c in tenant.connectors
    ]


def next_sync(tenant: Tenant, connector_id: str) -> bool | str:
    """Whether an `auto` sync would be a full one, or why it is refused."""
    try:
        return tenant.trigger_sync(connector_id, "auto", None).full
    except ApiError as refused:
        return refused.code


def test_an_import_of_a_hundred_thousand_wrong_items_costs_the_first_hundred(
    make_client: ClientFactory, errors_built: list[int]
) -> None:
    """The same request that held validation for seconds, through PUT /_mock/state."""
    state = {"version": 1, "tenants": [{"tenant": "key_000000000000", "collections": list(range(100_000))}]}
    response = make_client().put("/_mock/state", json=state)
    assert response.status_code == 422
    assert "at least 100 more" in response.json()["error"]["message"]
    assert errors_built[0] < 1000


def test_oauth_flows_come_back_from_a_snapshot_that_holds_none_of_their_codes(
    small: Backend, make_backend: BackendFactory, spec: Spec
) -> None:
    tenant, flows = small.tenant(KEY), small.shared.flows
    pending = tenant.authorize_oauth("notion", collection="col_a", name=None, redirect_uri="http://app.test/cb")
    approved = tenant.authorize_oauth("notion", collection="col_a", name="Wiki", redirect_uri="http://app.test/cb")
    flows.decide("notion", approved.state, approve=True)
    document = json.loads(json.dumps(export_state(small, small.shared.clock.now())))
    assert approved.code not in json.dumps(document)
    assert KEY not in json.dumps(document)
    assert [flow["tenant"] for flow in document["oauthFlows"]] == [tenant_label(KEY)] * 2

    fresh = make_backend(clock=small.shared.clock)
    import_state(fresh, document, spec)
    mine = fresh.tenant(KEY)
    made = mine.complete_oauth("notion", code=approved.code, state=approved.state, name=None, collection=None)
    assert made.name == "Wiki", "the code its browser took away still completes it"
    with pytest.raises(ApiError, match="another API key"):
        fresh.tenant("someone-else").complete_oauth(
            "notion", code=approved.code, state=approved.state, name=None, collection=None
        )
    restored = fresh.shared.flows.decide("notion", pending.state, approve=True)
    assert restored.code not in ("", pending.code), "a pending flow gets a code nobody has seen"
    assert mine.complete_oauth("notion", code=restored.code, state=pending.state, name="Notes", collection=None)


def test_a_version_1_snapshot_still_imports(small: Backend, make_backend: BackendFactory, spec: Spec) -> None:
    document = export_state(small, small.shared.clock.now())
    old = {"version": 1, "exportedAt": document["exportedAt"], "tenants": document["tenants"]}
    fresh = make_backend(clock=small.shared.clock)
    assert import_state(fresh, old, spec) == 1
    assert [c.name for c in fresh.tenant(KEY).list_connectors()] == ["One", "Two", "Three"]
