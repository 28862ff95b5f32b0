"""Every operation's behaviour, through the ASGI app, as an SDK or a front end sees it."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
from starlette.testclient import TestClient

from connectors_mock.clock import manual_clock
from connectors_mock.jobs import SyncFailure, SyncScript
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
    clock = manual_clock()
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


def test_sync_of_an_unknown_connector_is_not_found_first(client: TestClient) -> None:
    assert client.post("/v1/connectors/conn_doesnotexist/sync").status_code == 404


OTHER_TENANT = {"Authorization": "Bearer key-b"}


def advance(client: TestClient, seconds: float) -> None:
    assert client.post("/_mock/clock/advance", json={"seconds": seconds}).status_code == 200


def test_a_sync_is_queued_then_runs_then_completes_on_the_clock(client: TestClient) -> None:
    triggered = client.post("/v1/connectors/conn_mktassets01/sync")
    assert triggered.status_code == 202
    job = triggered.json()["data"]
    assert job["jobId"].startswith("job_")
    assert (job["status"], job["startedAt"], job["syncMode"]) == ("queued", "2025-01-01T00:00:00Z", "auto")
    status_url = f"/v1/connectors/conn_mktassets01/sync/{job['jobId']}"
    seen = []
    for _ in range(12):
        reading = client.get(status_url).json()["data"]
        seen.append((reading["status"], *reading["progress"].values()))
        advance(client, 0.5)
    assert [s[0] for s in seen] == ["queued"] + ["running"] * 8 + ["completed"] * 3
    assert len(set(seen)) >= 10
    final = client.get(status_url).json()["data"]
    assert final["completedAt"] == "2025-01-01T00:00:04Z"
    assert final["progress"]["collected"] == final["progress"]["indexed"] > 0
    connector = client.get("/v1/connectors/conn_mktassets01").json()["data"]
    assert (connector["status"], connector["lastSync"]) == ("active", final["completedAt"])


def test_the_connector_shows_syncing_and_a_second_trigger_is_refused(client: TestClient) -> None:
    job = client.post("/v1/connectors/conn_abc123/sync").json()["data"]
    assert client.get("/v1/connectors/conn_abc123").json()["data"]["status"] == "syncing"
    listed = {c["id"]: c["status"] for c in client.get("/v1/connectors").json()["data"]}
    assert listed["conn_abc123"] == "syncing"
    again = client.post("/v1/connectors/conn_abc123/sync", json={"sync_mode": "full"})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "sync_in_progress"
    assert job["jobId"] in again.json()["error"]["message"]


def test_the_trigger_body_is_validated_and_kept_on_the_job(client: TestClient) -> None:
    kept = client.post(
        "/v1/connectors/conn_mktassets01/sync", json={"sync_mode": "incremental", "file_filter": ["/a.pdf", "/b.md"]}
    )
    assert kept.status_code == 202
    assert (kept.json()["data"]["syncMode"], kept.json()["data"]["fileFilter"]) == ("incremental", ["/a.pdf", "/b.md"])
    full = client.post("/v1/connectors/conn_abc123/sync", json={"force_full_sync": True})
    assert full.json()["data"]["syncMode"] == "full"
    for body, message in (
        ({"sync_mode": "sometimes"}, '$.sync_mode: "sometimes" is not one of ["full", "incremental", "auto"]'),
        ({"file_filter": ["/a.pdf"]}, '$.sync_mode: is required (as "incremental"), because file_filter is sent'),
        ({"sync_mode": "full", "file_filter": ["/a"]}, '$.sync_mode: "full" is not "incremental", because file_filter'),
        ({"sync_mode": "auto", "force_full_sync": True}, '$.sync_mode: "auto" is not "full", because force_full_sync'),
        ({"sync_mode": "incremental", "file_filter": []}, "$.file_filter: [] has fewer than 1 items"),
        ({"sync_mode": "incremental", "file_filter": ["/a", "/a"]}, '$.file_filter: ["/a", "/a"] has repeated items'),
    ):
        refused = client.post("/v1/connectors/conn_shareddrive1/sync", json=body)
        assert refused.status_code == 422, body
        assert message in refused.json()["error"]["message"]
    # Refused triggers start nothing.
    assert client.get("/v1/connectors/conn_shareddrive1").json()["data"]["status"] == "active"


def test_a_deleted_connectors_jobs_are_gone(client: TestClient, created: dict[str, Any]) -> None:
    job = client.post(f"/v1/connectors/{created['id']}/sync").json()["data"]
    assert client.delete(f"/v1/connectors/{created['id']}").status_code == 204
    gone = client.get(f"/v1/connectors/{created['id']}/sync/{job['jobId']}")
    assert gone.status_code == 404


def test_another_connectors_or_tenants_job_is_not_found(client: TestClient) -> None:
    job = client.post("/v1/connectors/conn_abc123/sync").json()["data"]
    elsewhere = client.get(f"/v1/connectors/conn_mktassets01/sync/{job['jobId']}")
    assert elsewhere.status_code == 404
    assert job["jobId"] in elsewhere.json()["error"]["message"]
    status_url = f"/v1/connectors/conn_abc123/sync/{job['jobId']}"
    assert client.get(status_url, headers=OTHER_TENANT).status_code == 404
    assert client.get(status_url).status_code == 200


def authorize(client: TestClient, connector_type: str = "google_drive", **query: str) -> dict[str, Any]:
    response = client.get(f"/v1/connectors/oauth/{connector_type}/authorize", params=query)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def approve(client: TestClient, auth_url: str) -> dict[str, str]:
    """The headless way through consent: the `decision` flag answers at once."""
    redirect = client.get(f"{auth_url}&decision=approve", follow_redirects=False)
    assert redirect.status_code == 303
    return dict(parse_qsl(urlsplit(redirect.headers["location"]).query))


def test_authorize_points_at_the_fakes_consent_page(client: TestClient) -> None:
    auth = authorize(client, collection="col_abc123", redirect_uri="http://localhost:3000/oauth/callback")
    url = urlsplit(auth["authUrl"])
    assert (url.scheme, url.netloc, url.path) == ("http", "testserver", "/_mock/oauth/google_drive/consent")
    assert parse_qs(url.query) == {"state": [auth["state"]]}
    assert auth["expiresAt"] == "2025-01-01T00:10:00Z"


def test_oauth_from_authorize_to_an_active_connector(client: TestClient) -> None:
    auth = authorize(client, "notion", collection="col_abc123", name="Team Wiki", redirect_uri="myapp://done")
    returned = approve(client, auth["authUrl"])
    assert returned["state"] == auth["state"]
    completed = client.post("/v1/connectors/oauth/notion/callback", json=returned)
    assert completed.status_code == 201
    connector = completed.json()["data"]
    assert (connector["type"], connector["name"], connector["collection"], connector["status"]) == (
        "notion",
        "Team Wiki",
        "col_abc123",
        "active",
    )
    assert client.get(f"/v1/connectors/{connector['id']}").json()["data"] == connector
    replayed = client.post("/v1/connectors/oauth/notion/callback", json=returned)
    assert (replayed.status_code, replayed.json()["error"]["code"]) == (400, "state_already_used")


def test_oauth_is_refused_for_types_that_take_credentials(client: TestClient) -> None:
    refused = client.get("/v1/connectors/oauth/slack/authorize")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "invalid_parameter"
    assert "google_drive, notion" in refused.json()["error"]["message"]


def test_oauth_completion_failures_have_distinct_codes(client: TestClient) -> None:
    auth = authorize(client, collection="col_abc123")
    returned = approve(client, auth["authUrl"])

    def complete(
        body: dict[str, str], headers: dict[str, str] | None = None, kind: str = "google_drive"
    ) -> tuple[int, str]:
        response = client.post(f"/v1/connectors/oauth/{kind}/callback", json=body, headers=headers)
        return response.status_code, response.json()["error"]["code"]

    assert complete({"code": returned["code"], "state": "st_unknown"}) == (400, "invalid_state")
    assert complete(returned, headers=OTHER_TENANT) == (400, "state_mismatch")
    assert complete(returned, kind="notion") == (400, "state_mismatch")
    assert complete({**returned, "code": "code_forged"}) == (400, "invalid_grant")
    denied = authorize(client, collection="col_abc123")
    assert client.get(f"{denied['authUrl']}&decision=deny", follow_redirects=False).status_code == 303
    assert complete({"code": "anything", "state": denied["state"]}) == (400, "access_denied")
    advance(client, 600)
    assert complete(returned) == (400, "state_expired")


def test_oauth_without_a_collection_anywhere_is_refused_and_can_be_retried(client: TestClient) -> None:
    returned = approve(client, authorize(client)["authUrl"])
    refused = client.post("/v1/connectors/oauth/google_drive/callback", json=returned)
    assert refused.status_code == 422
    assert refused.json()["error"]["details"]["errors"][0]["path"] == "$.collection"
    retried = client.post("/v1/connectors/oauth/google_drive/callback", json={**returned, "collection": "col_xyz"})
    assert retried.status_code == 201
    assert retried.json()["data"]["name"] == "Google Drive"


def test_an_unknown_oauth_type_lists_every_type(client: TestClient) -> None:
    refused = client.get("/v1/connectors/oauth/dropbox/authorize")
    assert refused.status_code == 422
    assert '"salesforce", "postgresql"]' in refused.json()["error"]["message"]


def test_a_public_url_is_where_the_consent_page_is_sent(make_client: ClientFactory) -> None:
    client = make_client(public_url="http://localhost:9999")
    auth = authorize(client)
    assert auth["authUrl"].startswith("http://localhost:9999/_mock/oauth/google_drive/consent?state=st_")


def test_a_failed_sync_shows_on_the_job_and_the_connector(make_client: ClientFactory) -> None:
    failure = SyncFailure(0.25, "credentials_rejected", "S3 answered 403 Forbidden")
    client = make_client(sync_scripts=lambda request, rng: SyncScript(total=400, failure=failure))
    job = client.post("/v1/connectors/conn_mktassets01/sync").json()["data"]
    advance(client, 60)
    failed = client.get(f"/v1/connectors/conn_mktassets01/sync/{job['jobId']}").json()["data"]
    assert failed["status"] == "failed"
    assert failed["progress"] == {"collected": 142, "parsed": 57, "indexed": 0}
    assert failed["error"] == {
        "code": "credentials_rejected",
        "message": "S3 answered 403 Forbidden",
        "occurredAt": "2025-01-01T00:00:01Z",
    }
    connector = client.get("/v1/connectors/conn_mktassets01").json()["data"]
    assert (connector["status"], connector["lastError"]) == ("error", failed["error"])


def test_oauth_tokens_never_appear_in_a_response(client: TestClient) -> None:
    returned = approve(client, authorize(client, collection="col_abc123")["authUrl"])
    created = client.post("/v1/connectors/oauth/google_drive/callback", json=returned)
    tenant = client.app.state.backend.tenant("key-a")  # type: ignore[attr-defined]
    tokens = tenant.connectors[created.json()["data"]["id"]].credentials
    assert tokens["accessToken"].startswith("mock_at_")
    responses = [created, client.get(f"/v1/connectors/{created.json()['data']['id']}"), client.get("/v1/connectors")]
    for response in responses:
        assert not [token for token in tokens.values() if token in response.text]


@pytest.mark.parametrize(
    ("name", "found"),
    [
        ("invoice\u202etxt.exe", "U+202E RIGHT-TO-LEFT OVERRIDE (it changes the direction of text"),
        ("Two\u2066Faced", "U+2066 LEFT-TO-RIGHT ISOLATE"),
        ("Tab\there", "U+0009 (a control character"),
        ("Next\u0085Line", "U+0085 (a control character"),
    ],
)
def test_a_name_that_would_not_read_as_it_is_is_refused_saying_why(client: TestClient, name: str, found: str) -> None:
    response = client.post("/v1/connectors", json={**S3_CREATE, "name": name})
    assert response.status_code == 422
    [error] = response.json()["error"]["details"]["errors"]
    assert error["path"] == "$.name"
    assert found in error["message"]
    # The character itself is not sent back: escaped, it cannot turn the message around.
    assert name not in response.text
