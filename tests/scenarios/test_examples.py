"""Each example in `scenarios/` does what its description says, as a client sees it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from connectors_mock import resources
from connectors_mock.clock import manual_clock
from connectors_mock.scenarios.engine import RequestFacts, ScenarioLibrary
from connectors_mock.scenarios.loader import load_file
from connectors_mock.scenarios.model import Scenario
from connectors_mock.spec import Spec
from tests.conftest import ClientFactory

CONNECTOR = "/v1/connectors/conn_abc123"
Example = Callable[[str], Scenario]
Serve = Callable[[str], TestClient]


@pytest.fixture
def example(spec: Spec) -> Example:
    return lambda name: load_file(resources.scenarios_dir() / f"{name}.yaml", spec)


@pytest.fixture
def serve(make_client: ClientFactory, example: Example) -> Serve:
    """The fake with one example active, as `serve --seed ... --scenario scenarios/NAME.yaml`."""
    return lambda name: make_client(scenarios=(example(name),))


def advance(client: TestClient, seconds: float) -> None:
    assert client.post("/_mock/clock/advance", json={"seconds": seconds}).status_code == 200


def sync(client: TestClient) -> tuple[str, Callable[[], dict[str, Any]]]:
    job = client.post(f"{CONNECTOR}/sync").json()["data"]
    url = f"{CONNECTOR}/sync/{job['jobId']}"
    return url, lambda: client.get(url).json()["data"]


def test_flaky_network_slows_every_request_and_fails_about_five_percent(example: Example, serve: Serve) -> None:
    library = ScenarioLibrary(manual_clock(), seed=5)
    library.load(example("flaky-network"), activate=True)
    view = library.view_for("key-a")
    request = RequestFacts("GET", CONNECTOR, "getConnector", "/v1/connectors/{id}", "key-a", {})
    decisions = [library.decide(view, request) for _ in range(2000)]
    assert all(50 <= decision.latency_ms <= 300 for decision in decisions)
    failures = [d.outcome.error for d in decisions if d.outcome and d.outcome.error]
    assert 60 <= len(failures) <= 140, f"{len(failures)} of 2000 is not about 5%"
    assert {(error.status, error.retry_after) for error in failures} == {(503, 1)}

    # Over HTTP every request is slowed, by an amount the journal reports.
    client = serve("flaky-network")
    for _ in range(5):
        client.get(CONNECTOR)
    entries = client.get("/_mock/journal").json()["data"]["entries"]
    assert all(re.fullmatch(r"latency \d+ ms \(slow-network\).*", entry["fault"]) for entry in entries)
    assert all(50 <= int(entry["fault"].split()[1]) <= 300 for entry in entries)


def test_rate_limited_allows_sixty_a_minute_then_answers_429_until_the_window_resets(serve: Serve) -> None:
    client = serve("rate-limited")
    remaining = [client.get("/v1/connectors").headers["x-ratelimit-remaining"] for _ in range(60)]
    assert remaining == [str(n) for n in range(59, -1, -1)]
    refused = client.get("/v1/connectors")
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "60"
    assert refused.json()["error"] == {
        "code": "rate_limit_exceeded",
        "message": "Rate limit of 60 requests per 60 s exceeded; retry after 60 seconds",
        "retryAfter": 60,
    }
    advance(client, 60)
    assert client.get("/v1/connectors").headers["x-ratelimit-remaining"] == "59"


def test_sync_fails_midway_collects_half_then_fails_with_its_code(serve: Serve) -> None:
    client = serve("sync-fails-midway")
    _, read = sync(client)
    advance(client, 60)
    job = read()
    assert job["status"] == "failed"
    assert job["progress"]["collected"] == 500
    assert job["error"]["code"] == "source_unavailable"
    connector = client.get(CONNECTOR).json()["data"]
    assert connector["status"] == "error"
    assert connector["lastError"]["message"] == "The source stopped answering (HTTP 503 from the storage API)"


def test_slow_sync_queues_thirty_seconds_then_runs_at_a_hundred_documents_a_second(serve: Serve) -> None:
    client = serve("slow-sync")
    _, read = sync(client)
    advance(client, 29.5)
    assert read()["status"] == "queued"
    advance(client, 0.5 + 100)
    running = read()
    assert running["status"] == "running"
    assert running["progress"]["collected"] == pytest.approx(100 * 100 / 0.7, rel=0.01)
    advance(client, 400)
    assert read()["status"] == "completed"
    assert read()["progress"]["indexed"] == 50_000


def test_stuck_sync_stops_at_forty_percent_and_never_finishes(serve: Serve) -> None:
    client = serve("stuck-sync")
    _, read = sync(client)
    advance(client, 7 * 24 * 3600)
    job = read()
    assert (job["status"], job["progress"]["collected"], job["completedAt"]) == ("running", 400, None)
    again = client.post(f"{CONNECTOR}/sync")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "sync_in_progress"


def test_oauth_denied_denies_on_the_consent_page_and_complete_oauth_says_so(serve: Serve) -> None:
    client = serve("oauth-denied")
    query = {"collection": "col_abc123", "redirect_uri": "https://app.example/callback"}
    auth = client.get("/v1/connectors/oauth/google_drive/authorize", params=query).json()["data"]
    answer = client.get(auth["authUrl"] + "&decision=approve", follow_redirects=False)
    assert answer.status_code == 303
    returned = parse_qs(urlsplit(answer.headers["location"]).query)
    assert returned == {"error": ["access_denied"], "state": [auth["state"]]}
    completed = client.post(
        "/v1/connectors/oauth/google_drive/callback", json={"code": "anything", "state": auth["state"]}
    )
    assert (completed.status_code, completed.json()["error"]["code"]) == (400, "access_denied")


def test_outage_answers_503_for_thirty_seconds_then_recovers(serve: Serve) -> None:
    client = serve("outage")
    for step in (0, 29):  # at 0 s and at 29 s after loading
        advance(client, step)
        down = client.get(CONNECTOR)
        assert (down.status_code, down.headers["retry-after"]) == (503, "10")
        assert down.json()["error"]["code"] == "service_unavailable"
        assert client.post("/v1/connectors", json={}).status_code == 503, "every request, even an invalid one"
    advance(client, 1)
    assert client.get(CONNECTOR).status_code == 200
