"""The bearer token is the tenant; tenants never see each other's connectors."""

from __future__ import annotations

from starlette.testclient import TestClient

from connectors_mock.auth import MAX_KEY_LENGTH, TEAM_PATTERN
from connectors_mock.spec import Spec
from tests.conftest import S3_CREATE, ClientFactory


def test_a_missing_authorization_header_is_refused(make_client: ClientFactory) -> None:
    response = make_client(token=None).get("/v1/connectors")
    assert response.status_code == 401
    assert response.json()["error"] == {"code": "unauthorized", "message": "Authorization header required"}


def test_a_header_that_is_not_a_bearer_key_is_refused(client: TestClient) -> None:
    for value in ("Basic dXNlcjpwYXNz", "Bearer", "Bearer    "):
        response = client.get("/v1/connectors", headers={"Authorization": value})
        assert response.status_code == 401, value
        assert response.json()["error"]["code"] == "invalid_token"


def test_any_key_works_unless_keys_are_restricted(make_client: ClientFactory) -> None:
    assert make_client(token="anything-at-all").get("/v1/connectors").status_code == 200
    restricted = {"api_keys": frozenset({"sk_live_1", "sk_live_2"})}
    assert make_client(token="sk_live_2", **restricted).get("/v1/connectors").status_code == 200
    refused = make_client(token="sk_other", **restricted).get("/v1/connectors")
    assert refused.status_code == 401
    assert refused.json()["error"] == {"code": "unauthorized", "message": "Invalid API key"}


def test_auth_is_checked_before_the_body(make_client: ClientFactory) -> None:
    response = make_client(token=None).post("/v1/connectors", content=b"{not json")
    assert response.status_code == 401


def test_a_refused_request_leaves_no_tenant_behind(client: TestClient) -> None:
    for team in ("bad team 1", "bad team 2"):
        assert client.get("/v1/connectors", headers={"X-Team-ID": team}).status_code == 422
    malformed = {"Authorization": "Bearer newcomer", "Content-Type": "application/json"}
    assert client.post("/v1/connectors", content=b"{", headers=malformed).status_code == 400
    assert client.app.state.backend.tenant_count == 0  # type: ignore[attr-defined]
    client.get("/v1/connectors")
    assert client.app.state.backend.tenant_count == 1  # type: ignore[attr-defined]


def test_two_tenants_cannot_see_or_touch_each_others_connectors(client: TestClient) -> None:
    mine = client.post("/v1/connectors", json=S3_CREATE).json()["data"]
    other = {"Authorization": "Bearer key-b"}
    path = f"/v1/connectors/{mine['id']}"

    assert mine["id"] not in {c["id"] for c in client.get("/v1/connectors", headers=other).json()["data"]}
    assert client.get(path, headers=other).status_code == 404
    assert client.put(path, json={"name": "Hijacked"}, headers=other).status_code == 404
    assert client.delete(path, headers=other).status_code == 404
    assert client.get(path).json()["data"] == mine
    # The other tenant has its own copy of the fixtures, so the name is free there too.
    assert client.post("/v1/connectors", json=S3_CREATE, headers=other).status_code == 201


def test_one_tenants_changes_to_fixtures_do_not_reach_another(client: TestClient) -> None:
    assert client.delete("/v1/connectors/conn_abc123").status_code == 204
    assert client.get("/v1/connectors/conn_abc123").status_code == 404
    other = {"Authorization": "Bearer key-b"}
    assert client.get("/v1/connectors/conn_abc123", headers=other).json()["data"]["name"] == "Engineering Confluence"


def test_a_team_header_selects_a_separate_space_of_the_same_key(client: TestClient) -> None:
    research = {"X-Team-ID": "team_research"}
    created = client.post("/v1/connectors", json=S3_CREATE, headers=research).json()["data"]
    assert client.get(f"/v1/connectors/{created['id']}", headers=research).status_code == 200
    assert client.get(f"/v1/connectors/{created['id']}").status_code == 404
    assert client.get("/v1/connectors", headers={"X-Team-ID": "bad team!"}).status_code == 422


def test_a_key_one_character_over_its_limit_is_refused_and_not_kept(make_client: ClientFactory) -> None:
    """10 MiB keys once survived in caches and journal labels after the request was refused."""
    longest = make_client(token="k" * MAX_KEY_LENGTH)
    assert longest.get("/v1/connectors").status_code == 200
    too_long = make_client(token="k" * (MAX_KEY_LENGTH + 1), app=longest.app)
    response = too_long.get("/v1/connectors")
    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "invalid_token",
        "message": f"API key is longer than {MAX_KEY_LENGTH} characters",
    }
    [entry] = longest.get("/_mock/journal", params={"status": "401"}).json()["data"]["entries"]
    assert entry["tenant"] is None
    assert longest.app.state.backend.tenant_count == 1  # type: ignore[attr-defined]


def test_a_team_past_its_pattern_is_refused_before_it_names_a_tenant(client: TestClient) -> None:
    response = client.get("/v1/connectors", headers={"X-Team-ID": "t" * 65})
    assert response.status_code == 422
    [error] = response.json()["error"]["details"]["errors"]
    assert (error["location"], error["path"]) == ("header", "x-team-id")
    assert client.get("/v1/connectors", headers={"X-Team-ID": "t" * 64}).status_code == 200
    [entry, _] = client.get("/_mock/journal").json()["data"]["entries"]
    assert entry["tenant"] is None


def test_the_team_pattern_is_the_contracts(spec: Spec) -> None:
    parameter = spec.document["components"]["parameters"]["TeamId"]
    assert parameter["schema"]["pattern"] == TEAM_PATTERN
