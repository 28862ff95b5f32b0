"""The app as a whole: routes from the spec, the envelope, request ids, HTTP-level errors."""

from __future__ import annotations

import pytest
from httpx2 import Response
from starlette.testclient import TestClient

from connectors_mock.app import Settings, build_app
from connectors_mock.handlers import HANDLERS, Call, Reply
from connectors_mock.spec import Spec, SpecMismatch
from tests.conftest import ClientFactory


def test_every_operation_in_the_spec_has_a_route(client: TestClient, spec: Spec) -> None:
    routes = {route.path: route for route in client.app.routes}  # type: ignore[attr-defined]
    for operation in spec.operations.values():
        assert operation.method in routes[operation.path].methods


def test_an_operation_without_a_handler_stops_start_up(spec: Spec) -> None:
    handlers = {k: v for k, v in HANDLERS.items() if k != "getSyncStatus"}
    with pytest.raises(SpecMismatch, match=r"operation 'getSyncStatus' in openapi\.yaml has no handler"):
        build_app(Settings(handlers=handlers), spec)


def test_a_handler_without_an_operation_stops_start_up(spec: Spec) -> None:
    handlers = {**HANDLERS, "listCollections": HANDLERS["listConnectors"]}
    with pytest.raises(SpecMismatch, match="handler 'listCollections' has no operation"):
        build_app(Settings(handlers=handlers), spec)


def test_every_response_carries_a_request_id_and_timestamp(client: TestClient) -> None:
    first = client.get("/v1/connectors").json()["meta"]
    second = client.get("/v1/connectors").json()["meta"]
    assert first["requestId"].startswith("req_")
    assert first["requestId"] != second["requestId"]
    assert first["timestamp"] == "2025-01-01T00:00:00Z"


def test_under_a_seed_a_tenants_request_ids_repeat_whatever_others_do(make_client: ClientFactory) -> None:
    def ids(noise: bool) -> list[str]:
        worker = make_client("key-a")
        other = make_client("key-b", app=worker.app)
        seen = []
        for _ in range(3):
            if noise:  # another tenant, and /_mock, in between
                other.get("/v1/connectors")
                worker.get("/_mock/clock")
            seen.append(worker.get("/v1/connectors").headers["x-request-id"])
        return seen

    assert ids(noise=False) == ids(noise=True)


def test_an_incoming_request_id_is_reused(client: TestClient) -> None:
    response = client.get("/v1/connectors/conn_nope", headers={"X-Request-ID": "trace-42.abc"})
    assert response.headers["X-Request-ID"] == "trace-42.abc"
    assert response.json()["meta"]["requestId"] == "trace-42.abc"


def test_a_malformed_request_id_is_refused_and_not_echoed(client: TestClient) -> None:
    response = client.get("/v1/connectors", headers={"X-Request-ID": "has spaces <script>"})
    assert response.status_code == 422
    assert response.json()["error"]["details"]["errors"][0] == {
        "location": "header",
        "path": "x-request-id",
        "message": '"has spaces <script>" does not match ^[A-Za-z0-9_.:-]{1,128}$',
    }
    assert response.headers["X-Request-ID"].startswith("req_")


def test_a_malformed_path_id_names_the_parameter(client: TestClient) -> None:
    response = client.get("/v1/connectors/not-a-connector-id")
    assert response.status_code == 422
    assert response.json()["error"]["details"]["errors"][0]["location"] == "path"
    assert response.json()["error"]["details"]["errors"][0]["path"] == "id"


def test_query_parameters_are_validated(client: TestClient) -> None:
    response = client.get(
        "/v1/connectors/oauth/notion/authorize", params={"redirect_uri": "not a uri", "collection": "x"}
    )
    assert response.status_code == 422
    errors = {(e["location"], e["path"]) for e in response.json()["error"]["details"]["errors"]}
    assert errors == {("query", "collection"), ("query", "redirect_uri")}


def test_an_unknown_path_is_a_404_envelope(client: TestClient) -> None:
    response = client.get("/v1/collections")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert "/v1/collections" in response.json()["error"]["message"]


def test_a_wrong_method_is_a_405_envelope_with_allow(client: TestClient) -> None:
    response = client.patch("/v1/connectors/conn_abc123", json={"name": "x"})
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "invalid_request"
    assert response.headers["Allow"] == "DELETE, GET, HEAD, PUT"
    assert "PATCH" in response.json()["error"]["message"]


def test_an_unexpected_failure_is_a_500_envelope_a_browser_can_read(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(call: Call) -> Reply:
        raise RuntimeError("boom")

    client = make_client(handlers={**HANDLERS, "listConnectors": broken})
    response = client.get("/v1/connectors", headers={"Origin": "http://localhost:3000"})
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "internal_error"
    assert response.headers["X-Request-ID"] in error["message"]
    assert "boom" not in response.text
    assert response.headers["access-control-allow-origin"] == "*"
    assert "RuntimeError: boom" in caplog.text
    assert response.headers["X-Request-ID"] in caplog.text


def test_a_trailing_slash_is_not_found_not_redirected(client: TestClient) -> None:
    for path in ("/v1/connectors/", "/v1/connectors/conn_abc123/"):
        response = client.get(path, headers={"Host": "evil.example"}, follow_redirects=False)
        assert response.status_code == 404
        assert "location" not in response.headers


def test_a_path_id_with_a_trailing_newline_is_malformed(client: TestClient) -> None:
    assert client.get("/v1/connectors/conn_abc123%0A").status_code == 422


def preflight(client: TestClient, method: str, origin: str = "http://localhost:3000", **headers: str) -> Response:
    request_headers = {"Origin": origin, "Access-Control-Request-Method": method}
    request_headers.update({name.replace("_", "-"): value for name, value in headers.items()})
    return client.options("/v1/connectors", headers=request_headers)


def test_browsers_on_another_origin_may_call_it(client: TestClient) -> None:
    allowed = preflight(client, "POST", Access_Control_Request_Headers="authorization,content-type")
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "*"
    response = client.get("/v1/connectors", headers={"Origin": "http://localhost:3000"})
    assert "x-request-id" in response.headers["access-control-expose-headers"].lower()


def test_preflights_offer_only_the_methods_the_api_has(client: TestClient) -> None:
    assert preflight(client, "PATCH").status_code == 400
    assert preflight(client, "PUT").headers["access-control-allow-methods"] == "DELETE, GET, POST, PUT"


def test_a_public_page_may_call_the_fake_on_localhost(client: TestClient) -> None:
    allowed = preflight(client, "GET", "https://app.example.com", Access_Control_Request_Private_Network="true")
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-private-network"] == "true"


def test_the_same_seed_gives_the_same_ids_data_and_timestamps(make_client: ClientFactory) -> None:
    def session(client: TestClient) -> list[object]:
        created = client.post(
            "/v1/connectors",
            json={
                "name": "Seeded",
                "type": "github",
                "collection": "col_xyz",
                "config": {"repos": ["acme/site"]},
                "credentials": {"token": "ghp_x"},
            },
        ).json()
        return [created["data"], created["meta"], client.get("/v1/connectors").json()]

    assert session(make_client(seed=7)) == session(make_client(seed=7))
    assert session(make_client(seed=7)) != session(make_client(seed=8))
