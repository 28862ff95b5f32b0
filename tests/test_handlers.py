"""Every operation's behaviour, through the ASGI app, as an SDK or a front end sees it."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from connectors_mock.clock import ManualClock
from tests.conftest import S3_CREATE, ClientFactory


def test_list_shows_the_fixture_connectors_in_the_reference_shape(client: TestClient) -> None:
    response = client.get("/v1/connectors")
    assert response.status_code == 200
    by_id = {c["id"]: c for c in response.json()["data"]}
    assert by_id["conn_abc123"] == {
        "id": "conn_abc123",
        "name": "Engineering Confluence",
        "type": "confluence",
        "status": "active",
        "collection": "col_xyz",
        "config": {"instanceUrl": "https://acme.atlassian.net/wiki", "spaceKeys": ["ENG", "PLATFORM"]},
        "lastSync": "2024-01-20T14:00:00Z",
        "lastError": None,
        "createdAt": "2024-01-15T10:00:00Z",
        "updatedAt": "2024-01-15T10:00:00Z",
    }
    assert {c["status"] for c in by_id.values()} == {"active", "error"}
    assert len({c["type"] for c in by_id.values()}) == 8


def test_create_answers_the_new_connector_without_credentials(client: TestClient) -> None:
    response = client.post("/v1/connectors", json=S3_CREATE)
    assert response.status_code == 201
    data = response.json()["data"]
    assert data["id"].startswith("conn_")
    assert data["status"] == "active"
    assert data["lastSync"] is None
    assert data["createdAt"] == data["updatedAt"] == response.json()["meta"]["timestamp"]
    assert {k: data[k] for k in ("name", "type", "collection", "config")} == {
        k: S3_CREATE[k] for k in ("name", "type", "collection", "config")
    }
    assert "credentials" not in data


def test_created_connector_can_be_read_back_and_is_listed(client: TestClient, created: dict[str, Any]) -> None:
    assert client.get(f"/v1/connectors/{created['id']}").json()["data"] == created
    assert created in client.get("/v1/connectors").json()["data"]


def test_credentials_never_come_back_from_any_operation(client: TestClient) -> None:
    secret = {"accessKeyId": "AKIAUNIQUE7Q2XSECRET", "secretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRET"}
    created = client.post("/v1/connectors", json={**S3_CREATE, "credentials": secret})
    connector_id = created.json()["data"]["id"]
    responses = [
        created,
        client.get(f"/v1/connectors/{connector_id}"),
        client.get("/v1/connectors"),
        client.put(f"/v1/connectors/{connector_id}", json={"name": "Renamed"}),
        client.post("/v1/connectors", json={**S3_CREATE, "name": "Renamed", "credentials": secret}),
    ]
    for response in responses:
        assert "SECRET" not in response.text
        assert '"credentials"' not in response.text


def test_an_invalid_credential_is_not_echoed_in_the_error(client: TestClient) -> None:
    body = {
        "name": "Support Slack",
        "type": "slack",
        "collection": "col_support",
        "config": {"channels": ["#support"]},
        "credentials": {"botToken": "xoxq-TOPSECRET-123"},
    }
    response = client.post("/v1/connectors", json=body)
    assert response.status_code == 422
    [error] = response.json()["error"]["details"]["errors"]
    assert error["path"] == "$.credentials.botToken"
    assert error["message"].startswith("the value does not match ^xox[abp]-")
    assert "TOPSECRET" not in response.text
    wrong_shape = client.post("/v1/connectors", json={**body, "credentials": "TOPSECRET"})
    assert wrong_shape.status_code == 422
    assert "TOPSECRET" not in wrong_shape.text


def test_get_of_an_unknown_id_is_not_found(client: TestClient) -> None:
    response = client.get("/v1/connectors/conn_doesnotexist")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert "conn_doesnotexist" in response.json()["error"]["message"]


def test_update_replaces_the_name_and_merges_config_key_by_key(make_client: ClientFactory) -> None:
    clock = ManualClock()
    client = make_client(clock=clock)
    created = client.post("/v1/connectors", json=S3_CREATE).json()["data"]
    clock.advance(90)
    response = client.put(
        f"/v1/connectors/{created['id']}", json={"name": "Updated Name", "config": {"prefix": "/new-prefix/"}}
    )
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["name"] == "Updated Name"
    assert data["config"] == {"bucket": "my-documents", "region": "us-east-1", "prefix": "/new-prefix/"}
    assert data["createdAt"] == created["createdAt"]
    assert data["updatedAt"] == "2025-01-01T00:01:30Z"
    assert client.get(f"/v1/connectors/{created['id']}").json()["data"] == data


def test_update_with_null_removes_an_optional_config_key(client: TestClient, created: dict[str, Any]) -> None:
    response = client.put(f"/v1/connectors/{created['id']}", json={"config": {"prefix": None}})
    assert response.status_code == 200
    assert response.json()["data"]["config"] == {"bucket": "my-documents", "region": "us-east-1"}


def test_update_revalidates_the_merged_config(client: TestClient, created: dict[str, Any]) -> None:
    response = client.put(
        f"/v1/connectors/{created['id']}", json={"config": {"bucket": None, "region": "Mars", "port": 5432}}
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert {e["path"] for e in error["details"]["errors"]} == {"$.config.bucket", "$.config.region", "$.config.port"}
    assert client.get(f"/v1/connectors/{created['id']}").json()["data"] == created


def test_update_checks_the_config_of_the_connectors_own_type(client: TestClient) -> None:
    response = client.put("/v1/connectors/conn_abc123", json={"config": {"instanceUrl": "not a url"}})
    assert response.status_code == 422
    assert response.json()["error"]["details"]["errors"][0]["path"] == "$.config.instanceUrl"


def test_update_refuses_to_change_type_or_collection(client: TestClient, created: dict[str, Any]) -> None:
    response = client.put(f"/v1/connectors/{created['id']}", json={"type": "github", "collection": "col_xyz"})
    assert response.status_code == 422
    errors = response.json()["error"]["details"]["errors"]
    assert [e["path"] for e in errors] == ["$.type", "$.collection"]
    assert "type cannot change" in response.json()["error"]["message"]


def test_update_accepts_type_and_collection_sent_back_unchanged(client: TestClient, created: dict[str, Any]) -> None:
    echo = {"name": "Same Again", "type": "s3", "collection": "col_abc123", "config": created["config"]}
    response = client.put(f"/v1/connectors/{created['id']}", json=echo)
    assert response.status_code == 200
    assert response.json()["data"]["name"] == "Same Again"


def test_update_to_a_name_taken_in_the_collection_conflicts(client: TestClient, created: dict[str, Any]) -> None:
    response = client.put(f"/v1/connectors/{created['id']}", json={"name": "Marketing Assets"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "already_exists"
    assert client.get(f"/v1/connectors/{created['id']}").json()["data"]["name"] == "Document Storage"


def test_update_of_an_unknown_id_is_not_found(client: TestClient) -> None:
    response = client.put("/v1/connectors/conn_doesnotexist", json={"name": "x"})
    assert response.status_code == 404


def test_update_with_nothing_to_change_is_invalid(client: TestClient, created: dict[str, Any]) -> None:
    response = client.put(f"/v1/connectors/{created['id']}", json={})
    assert response.status_code == 422


def test_delete_removes_the_connector(client: TestClient, created: dict[str, Any]) -> None:
    path = f"/v1/connectors/{created['id']}"
    response = client.delete(path)
    assert response.status_code == 204
    assert response.content == b""
    assert client.get(path).status_code == 404
    assert client.delete(path).status_code == 404
    assert created["id"] not in {c["id"] for c in client.get("/v1/connectors").json()["data"]}


def test_a_deleted_connectors_name_can_be_used_again(client: TestClient, created: dict[str, Any]) -> None:
    client.delete(f"/v1/connectors/{created['id']}")
    assert client.post("/v1/connectors", json=S3_CREATE).status_code == 201


def test_a_second_connector_with_the_same_name_in_a_collection_conflicts(
    client: TestClient, created: dict[str, Any]
) -> None:
    response = client.post("/v1/connectors", json=S3_CREATE)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "already_exists"
    assert "Document Storage" in error["message"]
    assert "col_abc123" in error["message"]
    assert client.post("/v1/connectors", json={**S3_CREATE, "collection": "col_xyz"}).status_code == 201


def test_create_in_an_unknown_collection_names_it(client: TestClient) -> None:
    response = client.post("/v1/connectors", json={**S3_CREATE, "collection": "col_nowhere"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert "col_nowhere" in error["message"]
    assert error["details"]["errors"][0]["path"] == "$.collection"


def test_create_of_an_oauth_type_is_refused_at_type(client: TestClient) -> None:
    body = {"name": "Drive", "type": "google_drive", "collection": "col_abc123", "config": {}}
    response = client.post("/v1/connectors", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["details"]["errors"][0]["path"] == "$.type"


def test_create_lists_every_failing_field(client: TestClient) -> None:
    body = {
        "name": " padded ",
        "type": "postgresql",
        "collection": "col_abc123",
        "config": {"host": "db.internal", "port": 70000, "sslmode": "require"},
    }
    response = client.post("/v1/connectors", json=body)
    assert response.status_code == 422
    errors = {e["path"]: e["message"] for e in response.json()["error"]["details"]["errors"]}
    assert set(errors) == {"$.name", "$.config.port", "$.config.database", "$.config.sslmode", "$.credentials"}
    assert "65535" in errors["$.config.port"]
    assert errors["$.credentials"] == "is required"


def test_each_type_checks_its_own_config_fields(client: TestClient) -> None:
    bad = {
        "confluence": ({"instanceUrl": "acme wiki"}, {"email": "a@b.example", "apiToken": "t"}, "$.config.instanceUrl"),
        "github": ({"repos": ["just-a-name"]}, {"token": "t"}, "$.config.repos[0]"),
        "slack": ({"channels": ["general"]}, {"botToken": "xoxb-1"}, "$.config.channels[0]"),
        "salesforce": ({"objects": []}, {"username": "u", "password": "p"}, "$.config.objects"),
        "postgresql": (
            {"host": "h", "database": "d", "port": "5432"},
            {"username": "u", "password": "p"},
            "$.config.port",
        ),
        "s3": ({"bucket": "B", "region": "us-east-1"}, {"accessKeyId": "a", "secretAccessKey": "s"}, "$.config.bucket"),
    }
    for connector_type, (config, credentials, path) in bad.items():
        body = {"name": f"Bad {connector_type}", "type": connector_type, "collection": "col_abc123"}
        response = client.post("/v1/connectors", json={**body, "config": config, "credentials": credentials})
        assert response.status_code == 422, connector_type
        assert [e["path"] for e in response.json()["error"]["details"]["errors"]] == [path], connector_type


def test_credentials_must_fit_the_type(client: TestClient) -> None:
    response = client.post("/v1/connectors", json={**S3_CREATE, "credentials": {"token": "ghp_x"}})
    assert response.status_code == 422
    paths = {e["path"] for e in response.json()["error"]["details"]["errors"]}
    # The unknown key is not named: a secret may have been sent as a key.
    assert paths == {"$.credentials.accessKeyId", "$.credentials.secretAccessKey", "$.credentials"}
    assert "token" not in response.text


def test_non_ascii_names_round_trip(client: TestClient) -> None:
    name = "Données partagées 東京 📁"
    created = client.post("/v1/connectors", json={**S3_CREATE, "name": name})
    assert created.status_code == 201
    assert client.get(f"/v1/connectors/{created.json()['data']['id']}").json()["data"]["name"] == name


def test_sync_and_oauth_operations_say_they_are_not_implemented(client: TestClient) -> None:
    calls = [
        client.post("/v1/connectors/conn_abc123/sync"),
        client.get("/v1/connectors/conn_abc123/sync/job_abc123"),
        client.get("/v1/connectors/oauth/google_drive/authorize"),
        client.post("/v1/connectors/oauth/notion/callback", json={"code": "c", "state": "s"}),
    ]
    for response in calls:
        assert response.status_code == 501
        assert response.json()["error"]["code"] == "not_implemented"


def test_sync_of_an_unknown_connector_is_not_found_first(client: TestClient) -> None:
    assert client.post("/v1/connectors/conn_doesnotexist/sync").status_code == 404
