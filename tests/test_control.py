"""The control API under `/_mock`: the clock, scenarios and bindings, reset, the journal,
state export and import, and the admin token that guards them."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from connectors_mock import resources
from connectors_mock.control import MAX_LOADED_SCENARIOS
from tests.conftest import S3_CREATE, ClientFactory
from tests.test_handlers import authorize

OUTAGE = (resources.scenarios_dir() / "outage.yaml").read_bytes()


def test_the_clock_reads_and_advances(client: TestClient) -> None:
    assert client.get("/_mock/clock").json()["data"] == {"mode": "manual", "speed": 1.0, "now": "2025-01-01T00:00:00Z"}
    advanced = client.post("/_mock/clock/advance", json={"seconds": 90.5})
    assert advanced.status_code == 200
    assert advanced.json()["data"]["now"] == "2025-01-01T00:01:30Z"
    assert client.get("/v1/connectors/conn_abc123").json()["meta"]["timestamp"] == "2025-01-01T00:01:30Z"


@pytest.mark.parametrize(
    ("body", "status", "mentions"),
    [
        ({"seconds": -1}, 422, "$.seconds"),
        ({"seconds": "10"}, 422, "$.seconds"),
        ({}, 422, "seconds"),
        ({"seconds": 1, "minutes": 2}, 422, "minutes"),
        ({"seconds": 10**12}, 422, "$.seconds"),
        (None, 400, "required"),
    ],
)
def test_a_bad_advance_is_refused_and_moves_nothing(
    client: TestClient, body: dict[str, Any] | None, status: int, mentions: str
) -> None:
    refused = (
        client.post("/_mock/clock/advance", json=body) if body is not None else client.post("/_mock/clock/advance")
    )
    assert refused.status_code == status
    assert mentions in refused.json()["error"]["message"]
    assert client.get("/_mock/clock").json()["data"]["now"] == "2025-01-01T00:00:00Z"


def test_mock_routes_need_no_api_key_and_do_not_touch_tenants(make_client: Any) -> None:
    anonymous = make_client(token=None)
    assert anonymous.get("/_mock/clock").status_code == 200
    assert anonymous.app.state.backend.tenant_count == 0
    assert anonymous.post("/v1/connectors", json=S3_CREATE).status_code == 401


def test_the_clock_stops_short_of_the_end_of_the_calendar(client: TestClient) -> None:
    century = 100 * 365 * 24 * 3600
    while client.post("/_mock/clock/advance", json={"seconds": century}).status_code == 200:
        pass
    refused = client.post("/_mock/clock/advance", json={"seconds": century})
    assert refused.status_code == 422
    assert "past 9000-01-01T00:00:00Z" in refused.json()["error"]["message"]
    # Everything still answers, OAuth expiry included.
    assert client.get("/v1/connectors").status_code == 200
    assert authorize(client)["expiresAt"].startswith("89")


def test_scenarios_load_list_read_and_go(client: TestClient) -> None:
    loaded = client.post("/_mock/scenarios?activate=true", content=OUTAGE, headers={"Content-Type": "application/yaml"})
    assert loaded.status_code == 201
    summary = loaded.json()["data"]
    assert (summary["name"], summary["active"], summary["faults"], summary["source"]) == (
        "outage",
        True,
        1,
        "request body",
    )
    assert client.get("/v1/connectors").status_code == 503
    assert [s["name"] for s in client.get("/_mock/scenarios").json()["data"]] == ["outage"]
    detail = client.get("/_mock/scenarios/outage").json()["data"]
    assert detail["document"]["faults"][0]["error"]["retry_after"] == 10
    assert client.delete("/_mock/scenarios/outage").status_code == 204
    assert client.get("/v1/connectors").status_code == 200
    missing = client.get("/_mock/scenarios/outage")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    as_json = json.dumps({"name": "j", "faults": [{"error": {"status": 500}}]})
    assert (
        client.post("/_mock/scenarios", content=as_json, headers={"Content-Type": "application/json"}).status_code
        == 201
    )
    assert client.delete("/_mock/scenarios").status_code == 204
    assert client.get("/_mock/scenarios").json()["data"] == []


def test_a_bad_scenario_is_refused_with_every_problem_and_its_line(client: TestClient) -> None:
    refused = client.post("/_mock/scenarios", content="name: x\nfaults:\n  - error: {status: 99}\n    drop: sideways\n")
    assert refused.status_code == 422
    errors = refused.json()["error"]["details"]["errors"]
    assert {"$.faults[0].error.status", "$.faults[0].drop"} <= {e["path"] for e in errors}
    assert all(e["message"].endswith(("(line 3)", "(line 4)")) for e in errors)
    assert client.get("/_mock/scenarios").json()["data"] == [], "a refused scenario loads nothing"
    assert client.post("/_mock/scenarios?activate=maybe", content=OUTAGE).status_code == 422
    assert client.post("/_mock/scenarios").status_code == 400


def test_a_binding_belongs_to_the_key_and_team_that_made_it(make_client: ClientFactory) -> None:
    client = make_client("key-a")
    assert client.post("/_mock/scenarios", content=OUTAGE).status_code == 201
    assert client.get("/_mock/binding").json()["data"]["scenario"] is None
    bound = client.put("/_mock/binding", json={"scenario": "outage"}).json()["data"]
    assert bound["scenario"] == "outage"
    assert "key-a" not in bound["tenant"], "the key is a secret: the binding names a fingerprint"
    assert client.get("/v1/connectors").status_code == 503
    assert client.get("/v1/connectors", headers={"X-Team-ID": "blue"}).status_code == 200
    unknown = client.put("/_mock/binding", json={"scenario": "nope"})
    assert (unknown.status_code, unknown.json()["error"]["details"]["errors"][0]["path"]) == (422, "$.scenario")
    anonymous = client.put("/_mock/binding", json={"scenario": "outage"}, headers={"Authorization": ""})
    assert anonymous.status_code == 401


def test_a_tenant_reads_its_own_data_and_forgets_only_itself(make_client: ClientFactory) -> None:
    client = make_client("key-a")
    other = make_client("key-b", app=client.app)
    made = client.post("/v1/connectors", json=S3_CREATE).json()["data"]
    job = client.post(f"/v1/connectors/{made['id']}/sync", json={}).json()["data"]
    assert client.post("/_mock/scenarios", content=OUTAGE).status_code == 201
    assert client.put("/_mock/binding", json={"scenario": "outage"}).status_code == 200
    assert other.post("/v1/connectors", json=S3_CREATE).status_code == 201

    held = client.get("/_mock/tenant").json()["data"]
    assert held["tenant"] == client.get("/_mock/binding").json()["data"]["tenant"]
    assert made["id"] in [c["id"] for c in held["connectors"]]
    assert job["jobId"] in [j["jobId"] for j in held["jobs"]]
    assert "AKIA" not in str(held), "no credentials"
    assert "key-a" not in str(held), "tenants are named by label, not by key"

    assert client.delete("/_mock/tenant").status_code == 204
    assert client.get("/_mock/binding").json()["data"]["scenario"] is None, "the binding went with it"
    names = [c["name"] for c in client.get("/v1/connectors").json()["data"]]
    assert len(names) == 8, "it starts afresh from the fixtures"
    assert S3_CREATE["name"] not in names
    assert client.get(f"/v1/connectors/{made['id']}/sync/{job['jobId']}").status_code == 404
    assert S3_CREATE["name"] in [c["name"] for c in other.get("/v1/connectors").json()["data"]], "others keep theirs"
    assert client.delete("/_mock/tenant").status_code == 204, "forgetting twice is no error"
    assert client.get("/_mock/journal?operation=createConnector").json()["data"]["entries"], "the journal keeps all"


def test_reset_returns_every_tenant_to_the_fixtures_with_the_same_ids(make_client: ClientFactory) -> None:
    client = make_client()
    first = client.post("/v1/connectors", json=S3_CREATE).json()["data"]["id"]
    assert client.delete("/v1/connectors/conn_abc123").status_code == 204
    reset = client.post("/_mock/reset")
    assert reset.status_code == 200
    assert client.get("/v1/connectors/conn_abc123").status_code == 200
    assert client.post("/v1/connectors", json=S3_CREATE).json()["data"]["id"] == first, "a seeded run restarts"
    assert reset.json()["data"]["clock"]["now"] == "2025-01-01T00:00:00Z"


def test_the_journal_filters_pages_and_clears(client: TestClient) -> None:
    client.get("/v1/connectors")
    client.get("/v1/connectors/conn_nope")
    client.post("/v1/connectors", json=S3_CREATE)
    journal = client.get("/_mock/journal").json()["data"]
    assert [(e["operationId"], e["status"]) for e in journal["entries"]] == [
        ("listConnectors", 200),
        ("getConnector", 404),
        ("createConnector", 201),
    ]
    assert journal["entries"][1]["errorCode"] == "not_found"
    assert "AKIA" not in json.dumps(journal)
    errors = client.get("/_mock/journal", params={"status": "4xx"}).json()["data"]["entries"]
    assert [e["path"] for e in errors] == ["/v1/connectors/conn_nope"]
    after = client.get("/_mock/journal", params={"since": journal["entries"][0]["id"], "limit": 1}).json()["data"]
    assert [e["operationId"] for e in after["entries"]] == ["getConnector"]
    refused = client.get("/_mock/journal", params={"limit": "lots", "colour": "red"})
    assert refused.status_code == 422
    assert {e["path"] for e in refused.json()["error"]["details"]["errors"]} == {"limit", "colour"}
    assert client.delete("/_mock/journal").status_code == 204
    assert client.get("/_mock/journal").json()["data"]["entries"] == []


def test_state_exports_without_secrets_and_imports_into_another_fake(make_client: ClientFactory) -> None:
    source = make_client("key-a")
    created = source.post("/v1/connectors", json=S3_CREATE).json()["data"]
    source.post(f"/v1/connectors/{created['id']}/sync")
    exported = source.get("/_mock/state").json()["data"]
    text = json.dumps(exported)
    assert "key-a" not in text
    assert "AKIA" not in text
    target = make_client("key-a", seed=99)
    assert target.put("/_mock/state", json=exported).json()["data"] == {"tenants": 1}
    assert (
        target.get(f"/v1/connectors/{created['id']}").json()["data"]
        == source.get(f"/v1/connectors/{created['id']}").json()["data"]
    )
    assert make_client("key-b").get(f"/v1/connectors/{created['id']}").status_code == 404
    refused = target.put("/_mock/state", json={"version": 1, "tenants": [{"tenant": "x"}]})
    assert refused.status_code == 422
    assert target.get(f"/v1/connectors/{created['id']}").status_code == 200, "a refused import loses nothing"


def test_an_admin_token_guards_the_control_api_but_not_the_pages_a_browser_opens(make_client: ClientFactory) -> None:
    client = make_client(admin_token="s3cret")
    missing = client.get("/_mock/clock")
    assert (missing.status_code, missing.json()["error"]["message"]) == (
        401,
        "X-Mock-Admin-Token header required: /_mock is protected",
    )
    assert client.get("/_mock/clock", headers={"X-Mock-Admin-Token": "wrong"}).status_code == 401
    assert client.get("/_mock/clock", headers={"X-Mock-Admin-Token": "s3cret"}).status_code == 200
    assert client.post("/_mock/reset").status_code == 401
    assert client.get("/_mock/openapi.json").status_code == 200
    auth = authorize(client, collection="col_abc123")
    assert client.get(auth["authUrl"]).status_code == 200, "the consent page is for browsers"


def test_an_api_key_in_a_scenario_is_shown_as_its_fingerprint(client: TestClient) -> None:
    text = "name: one-key\nfaults:\n  - match: {tenant: sk_live_abc}\n    error: {status: 500}\n"
    assert client.post("/_mock/scenarios", content=text).status_code == 201
    shown = client.get("/_mock/scenarios/one-key").json()["data"]["document"]
    assert "sk_live_abc" not in json.dumps(shown)
    assert shown["faults"][0]["match"]["tenant"].startswith("key_")
    assert client.get("/v1/connectors", headers={"X-Mock-Scenario": "one-key"}).status_code == 200
    as_that_key = {"X-Mock-Scenario": "one-key", "Authorization": "Bearer sk_live_abc"}
    assert client.get("/v1/connectors", headers=as_that_key).status_code == 500


def test_a_shipped_example_loads_by_name_and_a_stray_parameter_is_refused(client: TestClient) -> None:
    loaded = client.post("/_mock/scenarios?example=outage&activate=true")
    assert (loaded.status_code, loaded.json()["data"]["source"]) == (201, "example outage")
    assert client.get("/v1/connectors").status_code == 503
    missing = client.post("/_mock/scenarios?example=nope")
    assert missing.status_code == 404
    assert "outage" in missing.json()["error"]["message"], "the message lists the examples"
    both = client.post("/_mock/scenarios?example=outage", content=OUTAGE)
    assert both.status_code == 400
    stray = client.post("/_mock/scenarios?active=true", content=OUTAGE)
    assert (stray.status_code, stray.json()["error"]["details"]["errors"][0]["path"]) == (422, "active")


def test_a_journal_filter_that_could_only_match_nothing_is_refused(client: TestClient) -> None:
    by_key = client.get("/_mock/journal", params={"tenant": "key-a"})
    assert by_key.status_code == 422
    assert "key-a" not in by_key.text, "what was sent may be an API key: it is not quoted back"
    by_typo = client.get("/_mock/journal", params={"operation": "getConnectors"})
    assert by_typo.status_code == 422
    assert "getConnector" in by_typo.json()["error"]["details"]["errors"][0]["message"]
    label = client.get("/_mock/binding").json()["data"]["tenant"]
    client.get("/v1/connectors")
    assert len(client.get("/_mock/journal", params={"tenant": label}).json()["data"]["entries"]) == 1


def test_at_most_fifty_scenarios_are_loaded_at_once(client: TestClient) -> None:
    yaml = {"Content-Type": "application/yaml"}
    for index in range(MAX_LOADED_SCENARIOS):
        assert client.post("/_mock/scenarios", content=f"name: s{index}\n", headers=yaml).status_code == 201
    refused = client.post("/_mock/scenarios", content=b"name: one-more\n", headers=yaml)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "quota_exceeded"
    assert client.post("/_mock/scenarios", content=b"name: s0\n", headers=yaml).status_code == 201


def label_of(key: str) -> str:
    return "key_" + hashlib.sha256(key.encode()).hexdigest()[:12]


def test_tenants_are_listed_and_read_by_label_never_by_key(make_client: ClientFactory) -> None:
    client = make_client(token="dashboard-key")
    client.post("/v1/connectors", json=S3_CREATE)
    client.get("/v1/connectors", headers={"X-Team-ID": "research"})
    listing = client.get("/_mock/tenants").json()["data"]
    labels = [tenant["tenant"] for tenant in listing["tenants"]]
    assert labels == [f"{label_of('dashboard-key')}/research", label_of("dashboard-key")]
    assert [tenant["connectors"] for tenant in listing["tenants"]] == [8, 9]
    view = client.get(f"/_mock/tenants/{label_of('dashboard-key')}").json()["data"]
    assert view["connectors"][-1]["name"] == S3_CREATE["name"]
    assert "credentials" not in view["connectors"][-1]
    team = client.get(f"/_mock/tenants/{label_of('dashboard-key')}%2Fresearch")
    assert team.json()["data"]["tenant"] == f"{label_of('dashboard-key')}/research"
    assert "dashboard-key" not in client.get("/_mock/tenants").text


def test_a_tenant_that_is_not_known_or_not_a_label_is_refused(client: TestClient) -> None:
    unknown = client.get("/_mock/tenants/key_000000000000")
    assert unknown.status_code == 404
    assert "GET /_mock/tenants" in unknown.json()["error"]["message"]
    malformed = client.get("/_mock/tenants/my-secret-key")
    assert malformed.status_code == 422
    assert "my-secret-key" not in malformed.text


def test_a_tenant_is_bound_by_its_label(make_client: ClientFactory) -> None:
    client = make_client(token="bound-by-label")
    client.post("/_mock/scenarios?example=outage")
    assert client.get("/v1/connectors").status_code == 200
    anonymous = make_client(token=None, app=client.app)
    where = f"/_mock/binding?tenant={label_of('bound-by-label')}"
    bound = anonymous.put(where, json={"scenario": "outage"})
    assert bound.json()["data"] == {"tenant": label_of("bound-by-label"), "scenario": "outage"}
    assert client.get("/v1/connectors").status_code == 503
    assert anonymous.get(where).json()["data"]["scenario"] == "outage"
    assert anonymous.delete(where).status_code == 204
    assert client.get("/v1/connectors").status_code == 200
    assert anonymous.put("/_mock/binding?tenant=key_000000000000", json={"scenario": "outage"}).status_code == 404
    refused = anonymous.put("/_mock/binding?tenant=bound-by-label", json={"scenario": "outage"})
    assert refused.status_code == 422
    assert "bound-by-label" not in refused.text


def test_a_loaded_scenario_is_activated_and_deactivated_in_place(client: TestClient) -> None:
    client.post("/_mock/scenarios?example=outage")
    assert client.get("/v1/connectors").status_code == 200
    active = client.put("/_mock/scenarios/outage/active")
    assert active.json()["data"]["active"] is True
    assert client.get("/v1/connectors").status_code == 503
    inactive = client.delete("/_mock/scenarios/outage/active")
    assert inactive.json()["data"]["active"] is False
    assert client.get("/v1/connectors").status_code == 200
    assert [s["name"] for s in client.get("/_mock/scenarios").json()["data"]] == ["outage"]
    assert client.put("/_mock/scenarios/nope/active").status_code == 404


def test_activating_a_scenario_applies_its_clock(client: TestClient) -> None:
    client.post("/_mock/scenarios", content=b"name: fast\nclock:\n  mode: real\n  speed: 60\n")
    assert client.get("/_mock/clock").json()["data"]["mode"] == "manual"
    client.put("/_mock/scenarios/fast/active")
    assert client.get("/_mock/clock").json()["data"]["speed"] == 60
