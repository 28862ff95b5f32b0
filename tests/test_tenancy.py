"""How many tenants the fake remembers: past `--max-tenants`, the least recently seen one is
forgotten everywhere at once, and the journal says so."""

from __future__ import annotations

from connectors_mock.auth import tenant_label
from connectors_mock.tenancy import TenantRoster
from tests.conftest import S3_CREATE, ClientFactory


def test_past_the_limit_the_least_recently_seen_is_forgotten() -> None:
    forgotten: list[str] = []
    roster = TenantRoster(3, [forgotten.append])
    for tenant in ("a", "b", "c", "a", "d", "e"):
        roster.seen(tenant)
    assert forgotten == ["b", "c"]
    assert len(roster) == 3
    assert "a" in roster
    assert "b" not in roster


def test_a_tenant_forgotten_on_request_is_not_reported_as_evicted() -> None:
    forgotten: list[str] = []
    evicted: list[str] = []
    roster = TenantRoster(2, [forgotten.append], [evicted.append])
    roster.seen("a")
    roster.forget("a")
    roster.forget("never-seen")
    assert (forgotten, evicted, len(roster)) == (["a", "never-seen"], [], 0)
    for tenant in ("b", "c", "d"):
        roster.seen(tenant)
    assert (forgotten[-1], evicted) == ("b", ["b"])


def test_an_evicted_tenant_is_journaled_and_starts_afresh_while_busy_ones_keep_their_state(
    make_client: ClientFactory,
) -> None:
    busy = make_client(token="busy", max_tenants=3)
    created = busy.post("/v1/connectors", json=S3_CREATE).json()["data"]["id"]
    idle = make_client(token="idle", app=busy.app)
    idle.post("/v1/connectors", json=S3_CREATE)
    for key in ("reader-1", "reader-2"):
        make_client(token=key, app=busy.app).get("/v1/connectors")
        busy.get(f"/v1/connectors/{created}")
    events = busy.get("/_mock/journal", params={"kind": "event"}).json()["data"]["entries"]
    assert [(event["event"], event["tenant"]) for event in events] == [("tenant_evicted", tenant_label("idle"))]
    assert "--max-tenants 3" in events[0]["detail"]
    assert busy.get(f"/v1/connectors/{created}").status_code == 200
    # Its key comes back to the fixtures: what it created is gone.
    names = [connector["name"] for connector in idle.get("/v1/connectors").json()["data"]]
    assert S3_CREATE["name"] not in names
    assert busy.app.state.backend.tenant_count == 3  # type: ignore[attr-defined]


def test_events_are_left_out_by_filters_only_a_request_can_meet(make_client: ClientFactory) -> None:
    client = make_client(token="one", max_tenants=1)
    client.get("/v1/connectors")
    make_client(token="two", app=client.app).get("/v1/connectors")
    everything = client.get("/_mock/journal").json()["data"]["entries"]
    assert [entry.get("event") for entry in everything] == [None, "tenant_evicted", None]
    found = client.get("/_mock/journal", params={"status": "200"}).json()["data"]["entries"]
    assert all("event" not in entry for entry in found)
    requests = client.get("/_mock/journal", params={"kind": "request"}).json()["data"]["entries"]
    assert len(requests) == 2
