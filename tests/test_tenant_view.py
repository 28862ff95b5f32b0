"""What `/_mock` shows a person of the tenants, with no HTTP: found by label, never made by a
look, cut to what a person reads, with no credentials and no OAuth codes."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from connectors_mock.clock import VirtualClock, manual_clock
from connectors_mock.connectors import SeedData
from connectors_mock.jobs import SyncScript
from connectors_mock.scenarios.engine import ScenarioLibrary
from connectors_mock.snapshot import export_state, read_snapshot
from connectors_mock.spec import Spec
from connectors_mock.state import Backend
from connectors_mock.tenancy import TenantRoster
from connectors_mock.tenant_view import MAX_CONNECTORS_SHOWN, RECENT_JOBS_SHOWN, TenantDirectory
from tests.conftest import BackendFactory


def label(key: str) -> str:
    return "key_" + hashlib.sha256(key.encode()).hexdigest()[:12]


def s3(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "connector_type": "s3",
        "collection": "col_a",
        "config": {"bucket": "docs", "region": "us-east-1"},
        "credentials": {"accessKeyId": "AKIA-SECRET", "secretAccessKey": "very-secret"},
    }


@pytest.fixture
def directory(backend: Backend, clock: VirtualClock) -> TenantDirectory:
    return TenantDirectory(TenantRoster(), backend, ScenarioLibrary(clock), backend.shared.flows)


def test_tenants_are_listed_by_label_the_most_recently_seen_first(directory: TenantDirectory) -> None:
    for key in ("first", "second", "first"):
        directory.roster.seen(key)
    listing = directory.listing()
    assert listing == {
        "tenants": [
            {"tenant": label("first"), "connectors": 0, "scenario": None},
            {"tenant": label("second"), "connectors": 0, "scenario": None},
        ],
        "total": 2,
    }
    assert "first" not in json.dumps(listing).replace(label("first"), "")


def test_a_look_makes_no_tenant(directory: TenantDirectory) -> None:
    directory.roster.seen("only-looked")
    assert directory.find(label("only-looked")) is not None
    assert directory.find(label("never-seen")) is None
    assert directory.backend.tenant_count == 0


def test_an_imported_tenant_is_found_before_its_key_comes(
    make_backend: BackendFactory, spec: Spec, clock: VirtualClock
) -> None:
    source = make_backend(clock=clock)
    source.tenant("exported").create_connector(**s3("Kept"))
    imported = read_snapshot(export_state(source, clock.now()), spec)
    backend = make_backend(clock=clock)
    imported.apply(backend)
    directory = TenantDirectory(TenantRoster(), backend, ScenarioLibrary(clock), backend.shared.flows)
    assert directory.listing()["tenants"] == [{"tenant": label("exported"), "connectors": 1, "scenario": None}]
    found = directory.find(label("exported"))
    assert found is not None
    assert [c["name"] for c in directory.view(label("exported"), found)["connectors"]] == ["Kept"]


def test_a_view_shows_the_newest_connectors_and_no_credentials(directory: TenantDirectory) -> None:
    directory.roster.seen("busy")
    tenant = directory.backend.tenant("busy")
    for index in range(MAX_CONNECTORS_SHOWN + 5):
        tenant.create_connector(**s3(f"Docs {index}"))
    view = directory.view(label("busy"), tenant)
    assert view["connectorCount"] == MAX_CONNECTORS_SHOWN + 5
    assert len(view["connectors"]) == MAX_CONNECTORS_SHOWN
    assert view["connectors"][0]["name"] == "Docs 5"
    assert view["connectors"][-1]["name"] == f"Docs {MAX_CONNECTORS_SHOWN + 4}"
    text = json.dumps(view)
    assert "AKIA-SECRET" not in text
    assert "very-secret" not in text
    assert "busy" not in text.replace(label("busy"), "")


def test_jobs_show_their_progress_size_and_end(directory: TenantDirectory, clock: VirtualClock) -> None:
    tenant = directory.backend.tenant("syncing")
    connector = tenant.create_connector(**s3("Docs"))
    stuck = tenant.create_connector(**s3("Stuck"))
    job = tenant.trigger_sync(connector.id, "full", None, lambda request, rng: SyncScript(total=100))
    tenant.trigger_sync(stuck.id, "full", None, lambda request, rng: SyncScript(total=10, stuck_at=0.5))
    clock.advance(2.5)
    jobs = {each["jobId"]: each for each in directory.view(label("syncing"), tenant)["jobs"]}
    running = jobs.pop(job.id)
    [never] = jobs.values()
    assert (running["status"], running["total"]) == ("running", 100)
    assert 0 < running["progress"]["collected"] < 100
    assert running["endsAt"] == "2025-01-01T00:00:04Z"
    assert running["connectorName"] == "Docs"
    assert never["endsAt"] is None
    clock.advance(10)
    done = directory.view(label("syncing"), tenant)
    assert [each["status"] for each in done["jobs"]] == ["running", "completed"]
    assert done["connectors"][0]["status"] == "active"
    assert done["connectors"][0]["lastSync"] == "2025-01-01T00:00:04Z"


def test_only_the_latest_ended_jobs_are_shown(directory: TenantDirectory, clock: VirtualClock) -> None:
    tenant = directory.backend.tenant("many-jobs")
    connector = tenant.create_connector(**s3("Docs"))
    for _ in range(RECENT_JOBS_SHOWN + 3):
        tenant.trigger_sync(connector.id, "full", None, lambda request, rng: SyncScript(total=1))
        clock.advance(10)
    jobs = directory.view(label("many-jobs"), tenant)["jobs"]
    assert len(jobs) == RECENT_JOBS_SHOWN
    assert jobs[0]["startedAt"] > jobs[-1]["startedAt"]


def test_pending_oauth_flows_link_their_consent_page_without_their_code(directory: TenantDirectory) -> None:
    tenant = directory.backend.tenant("oauth")
    flow = tenant.authorize_oauth(
        "google_drive", collection="col_a", name="Team Drive", redirect_uri="http://localhost/callback"
    )
    [shown] = directory.view(label("oauth"), tenant)["oauthFlows"]
    assert shown["consentUrl"] == f"/_mock/oauth/google_drive/consent?state={flow.state}"
    assert (shown["provider"], shown["name"]) == ("Google Drive", "Team Drive")
    assert flow.code not in json.dumps(shown)
    directory.flows.decide("google_drive", flow.state, approve=True)
    assert directory.view(label("oauth"), tenant)["oauthFlows"] == []


def test_a_binding_is_shown(directory: TenantDirectory, spec: Spec) -> None:
    from connectors_mock.scenarios.loader import load_text  # noqa: PLC0415

    directory.library.load(load_text(b"name: calm\n", "test", spec), activate=False)
    directory.roster.seen("bound")
    directory.library.bind("bound", "calm")
    assert directory.listing()["tenants"][0]["scenario"] == "calm"
    assert directory.view(label("bound"), directory.backend.peek("bound"))["scenario"] == "calm"


def test_seed_data_is_not_needed(make_backend: BackendFactory) -> None:
    backend = make_backend(seed_data=SeedData(collections=("col_a",), connectors=()))
    directory = TenantDirectory(TenantRoster(), backend, ScenarioLibrary(manual_clock()), backend.shared.flows)
    assert directory.listing() == {"tenants": [], "total": 0}
