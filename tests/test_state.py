"""The state model on its own, with no HTTP: what the handlers stand on."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors_mock.clock import VirtualClock, manual_clock
from connectors_mock.connectors import SeedData
from connectors_mock.errors import ApiError
from connectors_mock.jobs import SyncFailure, SyncRequest, SyncScript, default_script
from connectors_mock.oauth import OAuthFlow
from connectors_mock.state import Backend, Tenant
from tests.conftest import BackendFactory

S3: dict[str, Any] = {
    "name": "Docs",
    "connector_type": "s3",
    "collection": "col_a",
    "config": {"bucket": "docs", "region": "us-east-1"},
    "credentials": {"accessKeyId": "a", "secretAccessKey": "s"},
}


@pytest.fixture
def tenant(backend: Backend) -> Tenant:
    return backend.tenant("key-a")


def test_create_keeps_credentials_but_does_not_render_them(tenant: Tenant) -> None:
    connector = tenant.create_connector(**S3)
    assert connector.credentials == S3["credentials"]
    assert "credentials" not in connector.to_json()
    assert "secretAccessKey" not in repr(connector)


def test_ids_are_unique_and_repeat_under_the_same_seed(make_backend: BackendFactory, backend: Backend) -> None:
    first = [backend.tenant("key-a").create_connector(**{**S3, "name": f"n{i}"}).id for i in range(50)]
    assert len(set(first)) == 50
    again = make_backend().tenant("key-a")
    assert [again.create_connector(**{**S3, "name": f"n{i}"}).id for i in range(50)] == first


def test_a_tenants_ids_do_not_depend_on_other_tenants(make_backend: BackendFactory, backend: Backend) -> None:
    backend.tenant("key-b").create_connector(**S3)
    alone = make_backend()
    assert backend.tenant("key-a").create_connector(**S3).id == alone.tenant("key-a").create_connector(**S3).id


@pytest.fixture
def seeded(make_backend: BackendFactory, clock: VirtualClock) -> Backend:
    """A backend whose seed holds one connector, as the fixtures do."""
    start = make_backend(clock=clock).tenant("maker").create_connector(**S3)
    return make_backend(clock=clock, seed_data=SeedData(("col_a", "col_b"), (start,)))


def test_a_tenant_that_only_reads_shares_the_seed_and_draws_nothing(seeded: Backend) -> None:
    """Each reading tenant once cost 16 KiB: a copy of the fixtures and two random streams."""
    [start] = seeded.seed_data.connectors
    readers = [seeded.tenant(f"reader-{i}") for i in range(3)]
    for reader in readers:
        assert reader.list_connectors() == [start]
        assert reader.get_connector(start.id) is start
    assert not any(reader.owns_its_state for reader in readers)
    assert all(reader._ids is None and reader._rng is None for reader in readers)


def test_a_change_copies_the_seed_first_and_reaches_no_other_tenant(seeded: Backend) -> None:
    [start] = seeded.seed_data.connectors
    writer, reader = seeded.tenant("writer"), seeded.tenant("reader")
    writer.update_connector(start.id, {"name": "Renamed", "config": {"prefix": "/new/"}})
    writer.create_connector(**{**S3, "name": "Docs"})
    writer.trigger_sync(start.id, "auto", None)
    assert writer.owns_its_state
    assert [c.name for c in reader.list_connectors()] == [S3["name"]]
    assert reader.get_connector(start.id).config == start.config
    assert start.name == S3["name"]
    assert start.current_job is None
    with pytest.raises(ApiError):
        writer.create_connector(**{**S3, "name": "Renamed"})
    reader.create_connector(**{**S3, "name": "Renamed"})


@pytest.mark.parametrize(
    ("taken", "again"),
    [
        ("Caf\u00e9", "Cafe\u0301"),  # the same letter, composed or with a combining accent
        ("Docs", "Do\u200bcs"),  # a zero-width space
        ("finance", "\ufb01nance"),  # the "fi" ligature
        ("Team A", "Team \uff21"),  # a full-width letter
    ],
)
def test_names_a_person_cannot_tell_apart_are_one_name(tenant: Tenant, taken: str, again: str) -> None:
    tenant.create_connector(**{**S3, "name": taken})
    with pytest.raises(ApiError) as refused:
        tenant.create_connector(**{**S3, "name": again})
    assert refused.value.code == "already_exists"
    assert f'(as "{taken}", which reads the same)' in refused.value.message
    tenant.create_connector(**{**S3, "name": taken.upper()})


def test_update_is_all_or_nothing(tenant: Tenant) -> None:
    connector = tenant.create_connector(**S3)
    tenant.create_connector(**{**S3, "name": "Taken"})
    with pytest.raises(ApiError) as refused:
        tenant.update_connector(connector.id, {"name": "Taken", "config": {"prefix": "/x/"}})
    assert refused.value.status == 409
    assert (connector.name, connector.config) == ("Docs", {"bucket": "docs", "region": "us-east-1"})
    with pytest.raises(ApiError) as invalid:
        tenant.update_connector(connector.id, {"name": "New", "config": {"region": "moon"}})
    assert invalid.value.status == 422
    assert [e.path for e in invalid.value.field_errors] == ["$.config.region"]
    assert connector.name == "Docs"


def test_rename_frees_the_old_name(tenant: Tenant) -> None:
    connector = tenant.create_connector(**S3)
    tenant.update_connector(connector.id, {"name": "Renamed"})
    assert tenant.create_connector(**S3).name == "Docs"
    with pytest.raises(ApiError):
        tenant.create_connector(**{**S3, "name": "Renamed"})


def test_the_same_name_may_live_in_two_collections(tenant: Tenant) -> None:
    tenant.create_connector(**S3)
    assert tenant.create_connector(**{**S3, "collection": "col_b"}).collection == "col_b"


def test_update_time_comes_from_the_clock(make_backend: BackendFactory) -> None:
    clock = manual_clock()
    tenant = make_backend(clock=clock).tenant("k")
    connector = tenant.create_connector(**S3)
    clock.advance(3600)
    tenant.update_connector(connector.id, {"name": "Later"})
    assert connector.to_json()["updatedAt"] == "2025-01-01T01:00:00Z"
    assert connector.to_json()["createdAt"] == "2025-01-01T00:00:00Z"


FAILING = SyncScript(total=200, failure=SyncFailure(0.5, "credentials_rejected", "S3 answered 403 Forbidden"))


def test_a_connector_syncs_then_shows_when_it_last_synced(backend: Backend, clock: VirtualClock) -> None:
    tenant = backend.tenant("key-a")
    connector = tenant.create_connector(**S3)
    job = tenant.trigger_sync(connector.id, "auto", None)
    assert tenant.get_connector(connector.id).status == "syncing"
    clock.advance(job.script.finishes_after - 0.1)
    assert tenant.get_connector(connector.id).status == "syncing"
    clock.advance(60)
    shown = tenant.get_connector(connector.id).to_json()
    assert shown["status"] == "active"
    assert shown["lastSync"] == job.to_json(clock.now())["completedAt"]
    assert shown["lastError"] is None


def test_a_failed_sync_puts_the_connector_in_error_until_one_succeeds(
    make_backend: BackendFactory, clock: VirtualClock
) -> None:
    failing = True

    def scripts(request: SyncRequest, rng: random.Random) -> SyncScript:
        return FAILING if failing else default_script(request, rng)

    backend = make_backend(clock=clock, sync_scripts=scripts)
    tenant = backend.tenant("key-a")
    connector = tenant.create_connector(**S3)
    tenant.trigger_sync(connector.id, "full", None)
    clock.advance(10)
    shown = tenant.list_connectors()[0].to_json()
    assert shown["status"] == "error"
    assert shown["lastError"] == {
        "code": "credentials_rejected",
        "message": "S3 answered 403 Forbidden",
        "occurredAt": "2025-01-01T00:00:02Z",
    }
    assert shown["lastSync"] is None
    failing = False
    tenant.trigger_sync(connector.id, "full", None)
    clock.advance(10)
    assert tenant.get_connector(connector.id).to_json()["lastError"] is None


def test_one_sync_at_a_time_per_connector(backend: Backend, clock: VirtualClock) -> None:
    tenant = backend.tenant("key-a")
    connector = tenant.create_connector(**S3)
    running = tenant.trigger_sync(connector.id, "auto", None)
    with pytest.raises(ApiError) as refused:
        tenant.trigger_sync(connector.id, "full", None)
    assert (refused.value.status, refused.value.code) == (409, "sync_in_progress")
    assert running.id in refused.value.message
    other = tenant.create_connector(**{**S3, "name": "Other"})
    assert tenant.trigger_sync(other.id, "auto", None).connector_id == other.id
    clock.advance(10)
    assert tenant.trigger_sync(connector.id, "auto", None).id != running.id


def test_jobs_are_found_only_under_their_connector_and_tenant(backend: Backend) -> None:
    tenant = backend.tenant("key-a")
    first, second = (tenant.create_connector(**{**S3, "name": name}) for name in ("One", "Two"))
    job = tenant.trigger_sync(first.id, "auto", None)
    assert tenant.get_job(first.id, job.id) is job
    for owner, connector_id in ((tenant, second.id), (backend.tenant("key-b"), first.id)):
        with pytest.raises(ApiError) as refused:
            owner.get_job(connector_id, job.id)
        assert refused.value.status == 404


def test_deleting_a_connector_ends_its_jobs(backend: Backend) -> None:
    tenant = backend.tenant("key-a")
    connector = tenant.create_connector(**S3)
    job = tenant.trigger_sync(connector.id, "auto", None)
    tenant.delete_connector(connector.id)
    with pytest.raises(ApiError) as refused:
        tenant.get_job(connector.id, job.id)
    assert refused.value.status == 404


def test_job_ids_and_totals_repeat_under_the_same_seed(make_backend: BackendFactory) -> None:
    def run() -> list[tuple[str, int]]:
        tenant = make_backend(seed=11).tenant("key-a")
        connector = tenant.create_connector(**S3)
        return [(job.id, job.script.total) for job in [tenant.trigger_sync(connector.id, "full", None)]]

    assert run() == run()


def approved_flow(
    tenant: Tenant, backend: Backend, collection: str | None = "col_a", name: str | None = None
) -> OAuthFlow:
    flow = tenant.authorize_oauth("notion", redirect_uri="http://app.test/cb", collection=collection, name=name)
    return backend.shared.flows.decide("notion", flow.state, approve=True)


def test_oauth_creates_an_active_connector_holding_tokens_it_never_shows(backend: Backend) -> None:
    tenant = backend.tenant("key-a")
    flow = approved_flow(tenant, backend)
    connector = tenant.complete_oauth("notion", code=flow.code, state=flow.state, name=None, collection=None)
    assert (connector.type, connector.collection, connector.name, connector.status) == (
        "notion",
        "col_a",
        "Notion",
        "active",
    )
    assert connector.credentials["accessToken"].startswith("mock_at_")
    shown = json.dumps(connector.to_json())
    assert not [token for token in connector.credentials.values() if token in shown]
    again = approved_flow(tenant, backend)
    assert tenant.complete_oauth("notion", code=again.code, state=again.state, name=None, collection=None).name == (
        "Notion (2)"
    )


def test_oauth_is_for_oauth_types_only(backend: Backend) -> None:
    with pytest.raises(ApiError) as refused:
        backend.tenant("key-a").authorize_oauth("s3", collection=None, name=None, redirect_uri="http://app.test/cb")
    assert (refused.value.status, refused.value.code) == (400, "invalid_parameter")
    assert "google_drive, notion" in refused.value.message


def test_an_oauth_completion_refused_for_its_name_or_collection_can_be_retried(backend: Backend) -> None:
    tenant = backend.tenant("key-a")
    tenant.create_connector(**{**S3, "name": "Wiki"})
    flow = approved_flow(tenant, backend, collection=None)
    for name, collection, status in ((None, None, 422), ("Wiki", "col_a", 409), (None, "col_zzz", 422)):
        with pytest.raises(ApiError) as refused:
            tenant.complete_oauth("notion", code=flow.code, state=flow.state, name=name, collection=collection)
        assert refused.value.status == status
    created = tenant.complete_oauth("notion", code=flow.code, state=flow.state, name="Wiki", collection="col_b")
    assert (created.name, created.collection) == ("Wiki", "col_b")


def test_an_unknown_collection_is_refused_before_the_user_is_sent_to_consent(backend: Backend) -> None:
    with pytest.raises(ApiError) as refused:
        backend.tenant("key-a").authorize_oauth("notion", collection="col_zzz", name=None, redirect_uri="x:y")
    assert refused.value.status == 422
    assert [(e.location, e.path) for e in refused.value.field_errors] == [("query", "collection")]
    assert len(backend.shared.flows) == 0


def test_auto_stays_full_until_a_full_sync_has_completed(backend: Backend, clock: VirtualClock) -> None:
    tenant = backend.tenant("key-a")
    connector = tenant.create_connector(**S3)
    filtered = tenant.trigger_sync(connector.id, "incremental", ("/a.pdf",))
    clock.advance(10)
    assert (filtered.full, tenant.get_connector(connector.id).last_sync is not None) == (False, True)
    assert tenant.trigger_sync(connector.id, "auto", None).full
    clock.advance(10)
    assert not tenant.trigger_sync(connector.id, "auto", None).full


# make_backend is a stateless factory: sharing it across examples is safe.
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.floats(min_value=0, max_value=3), st.booleans()), max_size=30))
def test_any_clock_advances_and_polls_keep_job_and_connector_consistent(
    make_backend: BackendFactory, steps: list[tuple[float, bool]]
) -> None:
    clock = manual_clock()
    tenant = make_backend(clock=clock).tenant("key-a")
    connector = tenant.create_connector(**S3)
    job = tenant.trigger_sync(connector.id, "full", None)
    before = job.to_json(clock.now())
    for seconds, read_connector_first in steps:
        clock.advance(seconds)
        shown = tenant.get_connector(connector.id).to_json() if read_connector_first else None
        now = tenant.get_job(connector.id, job.id).to_json(clock.now())
        shown = shown or tenant.get_connector(connector.id).to_json()
        progress, earlier = now["progress"], before["progress"]
        assert progress["collected"] >= progress["parsed"] >= progress["indexed"]
        assert all(progress[key] >= earlier[key] for key in progress)
        assert (shown["status"] == "syncing") == (now["status"] in ("queued", "running"))
        assert shown["lastSync"] == now["completedAt"]
        before = now
