"""What a web page may do with the fake: call the API from any origin; read `/_mock` or change
the fake's state only from its own origin, or one given with `--cors-origin`."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.conftest import S3_CREATE, ClientFactory

EVIL = "http://evil.example"
FRONT_END = "http://localhost:3000"


def test_the_api_stays_open_to_every_origin(client: TestClient) -> None:
    response = client.get("/v1/connectors", headers={"Origin": EVIL})
    assert response.headers["access-control-allow-origin"] == "*"


def test_an_api_answer_says_it_varies_by_origin_with_or_without_one(client: TestClient) -> None:
    """A cache between a page and the fake must not give a page the answer made for curl,
    which has no `Access-Control-Allow-Origin`."""
    for headers in ({}, {"Origin": EVIL}):
        response = client.get("/v1/connectors", headers=headers)
        assert response.headers.get_list("vary") == ["Origin"], headers
        assert ("access-control-allow-origin" in response.headers) == bool(headers)


def test_a_page_on_another_origin_cannot_read_mock(client: TestClient) -> None:
    """With no admin token, `Access-Control-Allow-Origin: *` once let any page read every tenant's state."""
    response = client.get("/_mock/state", headers={"Origin": EVIL})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    preflight = client.options("/_mock/reset", headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in preflight.headers


def test_a_cross_site_request_cannot_change_the_fakes_state(client: TestClient) -> None:
    created = client.post("/v1/connectors", json=S3_CREATE).json()["data"]["id"]
    refused = client.post("/_mock/reset", headers={"Origin": EVIL})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    assert EVIL in refused.json()["error"]["message"]
    outage = client.post("/_mock/scenarios?example=outage&activate=true", headers={"Origin": "null"})
    assert outage.status_code == 403
    assert client.get(f"/v1/connectors/{created}").status_code == 200


def test_a_body_any_page_can_send_unasked_is_refused(client: TestClient) -> None:
    """A "simple" cross-site POST needs no preflight: a form or text/plain body."""
    for media_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        response = client.post(
            "/_mock/scenarios?activate=true", content=b"name: outage\n", headers={"Content-Type": media_type}
        )
        assert response.status_code == 415, media_type
        assert "application/yaml" in response.json()["error"]["message"]
    assert client.get("/_mock/scenarios").json()["data"] == []


def test_the_fakes_own_origin_and_allowed_ones_keep_working(make_client: ClientFactory) -> None:
    client = make_client(cors_origins=(FRONT_END,))
    own = client.post("/_mock/clock/advance", json={"seconds": 1}, headers={"Origin": "http://testserver"})
    assert own.status_code == 200
    allowed = client.post("/_mock/reset", headers={"Origin": FRONT_END})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == FRONT_END
    yaml = client.post("/_mock/scenarios", content=b"name: calm\n", headers={"Content-Type": "application/yaml"})
    assert yaml.status_code == 201


def test_the_consent_form_works_from_its_own_page_only(client: TestClient) -> None:
    query = {"collection": "col_abc123"}
    auth_url = client.get("/v1/connectors/oauth/google_drive/authorize", params=query).json()["data"]["authUrl"]
    path, _, state = auth_url.partition("?state=")
    form = {"state": state, "decision": "approve"}
    path = path.removeprefix("http://testserver")
    assert client.post(path, data=form, headers={"Origin": EVIL}, follow_redirects=False).status_code == 403
    approved = client.post(path, data=form, headers={"Origin": "http://testserver"}, follow_redirects=False)
    assert approved.status_code == 303
