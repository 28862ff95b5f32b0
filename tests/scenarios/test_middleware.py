"""Scenarios as a client meets them over HTTP: injected errors, rate-limit headers and 429s,
per-request and per-tenant selection, and (on a real socket) dropped connections, cut bodies
and latency."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import httpx2
import pytest

from connectors_mock.app import Settings, build_app
from connectors_mock.server import running
from connectors_mock.spec import Spec
from tests.conftest import ClientFactory
from tests.scenarios.conftest import Load

CONNECTOR = "/v1/connectors/conn_abc123"


def test_an_injected_error_is_the_error_envelope_with_its_code_and_retry_after(
    make_client: ClientFactory, load: Load
) -> None:
    client = make_client(scenarios=(load("name: down\nfaults:\n  - error: {status: 503, retry_after: 7}\n"),))
    response = client.get(CONNECTOR)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "7"
    error = response.json()["error"]
    assert error["code"] == "service_unavailable"
    assert "temporarily unavailable" in error["message"]
    # /_mock is never faulted: the way out of a scenario must stay open.
    assert client.get("/_mock/clock").status_code == 200


def test_a_custom_body_is_sent_as_written(make_client: ClientFactory, load: Load) -> None:
    scenario = load(
        "name: gw\nfaults:\n  - match: {operation: listConnectors}\n"
        "    error: {status: 502, body: {message: Bad Gateway}, headers: {Server: nginx}}\n"
    )
    client = make_client(scenarios=(scenario,))
    client.event_hooks = {"response": []}  # a gateway's body is not the contract's
    response = client.get("/v1/connectors")
    assert (response.status_code, response.json(), response.headers["server"]) == (
        502,
        {"message": "Bad Gateway"},
        "nginx",
    )
    assert client.get(CONNECTOR).status_code == 200


def test_every_response_carries_the_rate_limit_and_the_one_over_it_is_a_429(
    make_client: ClientFactory, load: Load
) -> None:
    client = make_client(scenarios=(load("name: tight\nrate_limit: {limit: 2, window_seconds: 30}\n"),))
    first, missing = client.get(CONNECTOR), client.get("/v1/connectors/conn_nope")
    assert (first.headers["x-ratelimit-limit"], first.headers["x-ratelimit-remaining"]) == ("2", "1")
    assert missing.status_code == 404
    assert missing.headers["x-ratelimit-remaining"] == "0", "errors count and carry the headers too"
    over = client.get(CONNECTOR)
    assert over.status_code == 429
    assert over.headers["retry-after"] == "30"
    assert over.json()["error"]["retryAfter"] == 30
    assert over.json()["error"]["code"] == "rate_limit_exceeded"
    assert over.headers["x-ratelimit-reset"] == first.headers["x-ratelimit-reset"]
    client.post("/_mock/clock/advance", json={"seconds": 30})
    assert client.get(CONNECTOR).status_code == 200


def test_the_header_selects_a_loaded_scenario_for_one_request(make_client: ClientFactory, load: Load) -> None:
    client = make_client()
    loaded = client.post("/_mock/scenarios", content="name: teapot\nfaults:\n  - error: {status: 500}\n")
    assert loaded.status_code == 201
    assert loaded.json()["data"]["active"] is False
    assert client.get(CONNECTOR).status_code == 200
    assert client.get(CONNECTOR, headers={"X-Mock-Scenario": "teapot"}).status_code == 500
    unknown = client.get(CONNECTOR, headers={"X-Mock-Scenario": "nope"})
    assert unknown.status_code == 400
    assert unknown.json()["error"]["message"] == (
        'X-Mock-Scenario: no scenario named "nope" is loaded (loaded: teapot)'
    )


def test_two_tenants_bound_to_two_scenarios_never_see_each_others_faults(make_client: ClientFactory) -> None:
    worker_a = make_client("key-a")
    worker_b = make_client("key-b", app=worker_a.app)
    for body in ("name: fails\nfaults:\n  - error: {status: 500}\n", "name: limited\nrate_limit: {limit: 1}\n"):
        assert worker_a.post("/_mock/scenarios", content=body).status_code == 201
    assert worker_a.put("/_mock/binding", json={"scenario": "fails"}).json()["data"]["scenario"] == "fails"
    assert worker_b.put("/_mock/binding", json={"scenario": "limited"}).status_code == 200
    assert worker_a.get(CONNECTOR).status_code == 500
    assert worker_b.get(CONNECTOR).status_code == 200
    assert worker_b.get(CONNECTOR).status_code == 429
    assert worker_a.get(CONNECTOR).status_code == 500, "b's rate limit is not a's"
    assert worker_a.delete("/_mock/binding").status_code == 204
    assert worker_a.get(CONNECTOR).status_code == 200


def test_a_scenario_scripts_the_sync_jobs_its_tenant_triggers(make_client: ClientFactory, load: Load) -> None:
    scenario = load("name: broken\nsyncs:\n  - total: 100\n    fail: {at: 0.5, code: source_unavailable}\n")
    client = make_client(scenarios=(scenario,))
    job = client.post(f"{CONNECTOR}/sync").json()["data"]
    client.post("/_mock/clock/advance", json={"seconds": 60})
    ended = client.get(f"{CONNECTOR}/sync/{job['jobId']}").json()["data"]
    assert (ended["status"], ended["progress"]["collected"], ended["error"]["code"]) == (
        "failed",
        50,
        "source_unavailable",
    )
    connector = client.get(CONNECTOR).json()["data"]
    assert (connector["status"], connector["lastError"]["code"]) == ("error", "source_unavailable")


def test_the_journal_names_the_fault_and_masks_credentials(make_client: ClientFactory, load: Load) -> None:
    scenario = load(
        "name: second\nfaults:\n  - match: {operation: createConnector}\n    when: {calls: [2]}\n"
        "    error: {status: 503}\n"
    )
    client = make_client(scenarios=(scenario,))
    body = {
        "name": "Docs",
        "type": "s3",
        "collection": "col_abc123",
        "config": {"bucket": "docs", "region": "us-east-1"},
        "credentials": {"accessKeyId": "AKIASECRET", "secretAccessKey": "very-secret"},
    }
    assert client.post("/v1/connectors", json=body).status_code == 201
    assert client.post("/v1/connectors", json={**body, "name": "Docs 2"}).status_code == 503
    page = client.get("/_mock/journal", params={"operation": "createConnector"}).json()["data"]
    assert "SECRET" not in json.dumps(page)
    assert "very-secret" not in json.dumps(page)
    assert "key-a" not in json.dumps(page), "the API key is a secret too"
    first, second = page["entries"]
    assert first["requestBody"]["credentials"] == {"accessKeyId": "********", "secretAccessKey": "********"}
    assert (first["status"], first["fault"]) == (201, None)
    assert (second["status"], second["errorCode"], second["scenario"]) == (503, "service_unavailable", "second")
    assert second["fault"] == "error 503 (second#0)"
    faulted = client.get("/_mock/journal", params={"fault": "true"}).json()["data"]["entries"]
    assert [entry["id"] for entry in faulted] == [second["id"]]


@pytest.fixture
def served(spec: Spec, load: Load) -> Iterator[str]:
    scenario = load("""
name: sockets
faults:
  - match: {operation: updateConnector}
    drop: close
  - match: {operation: getConnector}
    when: {calls: [1]}
    drop: reset
  - match: {operation: getConnector}
    when: {calls: [2]}
    body: truncated
  - match: {operation: getConnector}
    when: {calls: [3]}
    body: malformed
  - match: {operation: listConnectors}
    latency: {ms: 300}
""")
    with running(build_app(Settings(seed=1, scenarios=(scenario,)), spec)) as url:
        yield url


def raw_exchange(url: str, method: bytes, body: bytes = b"") -> bytes:
    """Send one request on a bare socket and read until the server ends the connection."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        head = b"%s %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\nContent-Type: application/json\r\n" % (
            method,
            CONNECTOR.encode(),
        )
        sock.sendall(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received


def test_on_a_real_socket_connections_drop_and_bodies_break(served: str) -> None:
    with httpx2.Client(base_url=served, headers={"Authorization": "Bearer k"}) as client:
        assert raw_exchange(served, b"PUT", b"x" * 200_000) == b"", "closed, not reset, with a large body unread"
        with pytest.raises(ConnectionResetError):
            raw_exchange(served, b"GET")
        with pytest.raises(httpx2.RemoteProtocolError, match="without sending complete message body"):
            client.get(CONNECTOR)
        malformed = client.get(CONNECTOR)
        assert malformed.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            malformed.json()
        assert client.get(CONNECTOR).json()["data"]["id"] == "conn_abc123", "the fourth call is clean"
        began = time.perf_counter()
        assert client.get("/v1/connectors").status_code == 200
        waited = time.perf_counter() - began
        journal = client.get("/_mock/journal").json()["data"]["entries"]
    assert waited >= 0.3
    assert [entry["status"] for entry in journal] == [None, None, 200, 200, 200, 200]
    assert journal[0]["requestBody"] == "<200000 bytes, not kept>"
    assert journal[-1]["fault"] == "latency 300 ms (sockets#4)"
    assert journal[0]["fault"] == "drop close (sockets#0)"


def test_a_drop_in_process_still_reaches_the_journal(make_client: ClientFactory, load: Load) -> None:
    """Without a socket (TestClient) a drop cannot close anything: it fails the request, and
    the journal still says which call it was."""
    client = make_client(scenarios=(load("name: gone\nfaults:\n  - drop: close\n"),))
    assert client.get(CONNECTOR).status_code == 500
    client.event_hooks = {"response": []}
    [entry] = client.get("/_mock/journal").json()["data"]["entries"]
    assert (entry["operationId"], entry["fault"]) == ("getConnector", "drop close (gone#0)")


def test_a_gateway_page_keeps_its_type_and_retry_after(make_client: ClientFactory, load: Load) -> None:
    scenario = load(
        "name: gw\nfaults:\n  - error:\n      status: 502\n      retry_after: 30\n"
        "      body: '<html><h1>502 Bad Gateway</h1></html>'\n      headers: {Content-Type: text/html}\n"
    )
    client = make_client(scenarios=(scenario,))
    client.event_hooks = {"response": []}  # a gateway's page is not the contract's
    page = client.get(CONNECTOR)
    assert (page.status_code, page.headers["content-type"], page.headers["retry-after"]) == (502, "text/html", "30")
    assert page.text == "<html><h1>502 Bad Gateway</h1></html>"
    assert page.headers["x-request-id"]


def test_a_head_request_is_matched_as_the_get_it_stands_for(make_client: ClientFactory, load: Load) -> None:
    client = make_client(scenarios=(load("name: gets\nfaults:\n  - match: {method: GET}\n    error: {status: 503}\n"),))
    assert client.head(CONNECTOR).status_code == 503
    assert client.delete(CONNECTOR).status_code == 204


def test_loading_again_restarts_the_counts_and_activating_applies_the_clock(make_client: ClientFactory) -> None:
    client = make_client()
    text = "name: second\nclock: {mode: real, speed: 60}\nfaults:\n  - when: {calls: [2]}\n    error: {status: 500}\n"
    assert client.post("/_mock/scenarios", content=text).status_code == 201
    assert client.get("/_mock/clock").json()["data"]["mode"] == "manual", "loaded, not active: the clock is as it was"
    asked = {"X-Mock-Scenario": "second"}
    assert [client.get(CONNECTOR, headers=asked).status_code for _ in range(3)] == [200, 500, 200]
    assert client.post("/_mock/scenarios?activate=true", content=text).status_code == 201
    assert client.get("/_mock/clock").json()["data"]["mode"] == "real"
    assert client.get("/_mock/clock").json()["data"]["speed"] == 60.0
    assert [client.get(CONNECTOR).status_code for _ in range(2)] == [200, 500], "the count started again"
    assert client.post("/_mock/reset").status_code == 200
    assert [client.get(CONNECTOR).status_code for _ in range(2)] == [200, 500], "and again after a reset"


def test_whole_numbers_written_as_floats_are_sent_as_integers(make_client: ClientFactory, load: Load) -> None:
    scenario = load(
        "name: floats\nrate_limit: {limit: 1e1}\nfaults:\n"
        "  - error: {status: 5.03e2, retry_after: 1e1, headers: {x-kind: float}}\n"
    )
    response = make_client(scenarios=(scenario,)).get(CONNECTOR)
    assert (response.status_code, response.headers["x-ratelimit-limit"]) == (503, "10")
    assert response.headers["retry-after"] == "10"


def test_a_retry_after_in_headers_is_not_sent_twice(make_client: ClientFactory, load: Load) -> None:
    scenario = load("name: twice\nfaults:\n  - error: {status: 503, retry_after: 5, headers: {retry-after: '7'}}\n")
    response = make_client(scenarios=(scenario,)).get(CONNECTOR)
    assert response.headers.get_list("retry-after") == ["7"]


def test_a_stop_ends_a_request_waiting_in_latency_without_a_bare_500(spec: Spec, load: Load) -> None:
    scenario = load("name: slow\nfaults:\n  - latency: {ms: 60000}\n")
    outcome: list[object] = []
    with running(build_app(Settings(seed=1, scenarios=(scenario,)), spec)) as url:

        def wait() -> None:
            try:
                outcome.append(httpx2.get(f"{url}{CONNECTOR}", headers={"Authorization": "Bearer k"}, timeout=30))
            except httpx2.HTTPError as error:
                outcome.append(error)

        waiting = threading.Thread(target=wait)
        waiting.start()
        time.sleep(0.3)  # let the request reach its latency
    waiting.join(30)
    [ended] = outcome
    assert isinstance(ended, httpx2.RemoteProtocolError), f"the connection closes, not {ended!r}"


def refused_get(url: str) -> None:
    """A GET the server ends without an answer (it stops while the request waits)."""
    with pytest.raises(httpx2.RemoteProtocolError):
        httpx2.get(url, headers={"Authorization": "Bearer k"}, timeout=30)


def test_a_client_that_goes_away_mid_body_is_journaled_as_such(spec: Spec, capfd: pytest.CaptureFixture[str]) -> None:
    """It was journaled as a 500, with a traceback in the log."""
    app = build_app(Settings(seed=1), spec)
    with running(app) as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            head = b"POST /v1/connectors HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n"
            sock.sendall(head + b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n" + b'{"name": ')
        for _ in range(100):
            if len(app.state.journal):
                break
            time.sleep(0.02)
    [entry] = [entry.to_json() for entry in app.state.journal.entries()]
    assert (entry["status"], entry["note"], entry["errorCode"]) == (None, "client disconnected", None)
    assert "Traceback" not in capfd.readouterr().err


def test_a_request_a_stop_cut_short_is_journaled_without_a_traceback(
    spec: Spec, load: Load, capfd: pytest.CaptureFixture[str]
) -> None:
    scenario = load("name: slow\nfaults:\n  - latency: {ms: 60000}\n")
    app = build_app(Settings(seed=1, scenarios=(scenario,)), spec)
    with running(app) as url:
        waiting = threading.Thread(target=refused_get, args=(f"{url}{CONNECTOR}",))
        waiting.start()
        time.sleep(0.3)
    waiting.join(30)
    [entry] = [entry.to_json() for entry in app.state.journal.entries()]
    assert (entry["status"], entry["note"]) == (None, "server stopping")
    printed = capfd.readouterr().err
    assert "Traceback" not in printed
    assert "CancelledError" not in printed
