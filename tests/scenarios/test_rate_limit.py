"""The rate limit every API answer reports: the server's plan (`--rate-limit`, 3,000 a minute
by default, reported and enforced only on request), or a scenario's where one applies."""

from __future__ import annotations

from typing import Any

from connectors_mock.clock import manual_clock
from connectors_mock.scenarios.model import RateLimit
from tests.conftest import S3_CREATE, ClientFactory
from tests.scenarios.conftest import Load

HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")


def plan(response: Any) -> tuple[int, int, int] | None:
    values = [response.headers.get(name) for name in HEADERS]
    return None if None in values else (int(values[0]), int(values[1]), int(values[2]))


def test_every_api_answer_reports_the_plan_but_a_401_and_mock(make_client: ClientFactory) -> None:
    client = make_client()
    answers = [
        client.get("/v1/connectors"),
        client.get("/v1/connectors/conn_nope"),
        client.get("/v1/connectors/not-an-id"),
        client.post("/v1/connectors", json=S3_CREATE),
        client.post("/v1/connectors", json=S3_CREATE),
        client.post("/v1/connectors", content=b"{}", headers={"Content-Type": "text/plain"}),
    ]
    assert [answer.status_code for answer in answers] == [200, 404, 422, 201, 409, 415]
    assert [reported[:2] for answer in answers if (reported := plan(answer))] == [(3000, 2999 - n) for n in range(6)]
    assert plan(make_client(token=None, app=client.app).get("/v1/connectors")) is None
    assert plan(client.get("/_mock/clock")) is None
    assert plan(client.get("/v1/connectors"))[:2] == (3000, 2993)  # type: ignore[index]


def test_each_key_and_team_counts_in_its_own_window_on_the_fakes_clock(make_client: ClientFactory) -> None:
    clock = manual_clock()
    client = make_client(clock=clock, rate_limit=RateLimit(10, 60, enforced=False))
    first = plan(client.get("/v1/connectors"))
    assert first == (10, 9, int(clock.now().timestamp()) + 60)
    assert plan(client.get("/v1/connectors", headers={"X-Team-ID": "research"}))[1] == 9  # type: ignore[index]
    assert plan(make_client(token="other", app=client.app).get("/v1/connectors"))[1] == 9  # type: ignore[index]
    assert plan(client.get("/v1/connectors"))[1] == 8  # type: ignore[index]
    clock.advance(60)
    assert plan(client.get("/v1/connectors")) == (10, 9, int(clock.now().timestamp()) + 60)


def test_by_default_the_plan_is_reported_not_enforced(make_client: ClientFactory) -> None:
    client = make_client(rate_limit=RateLimit(2, 60, enforced=False))
    answers = [client.get("/v1/connectors") for _ in range(4)]
    assert [(answer.status_code, plan(answer)[1]) for answer in answers] == [(200, 1), (200, 0), (200, 0), (200, 0)]  # type: ignore[index]


def test_an_enforced_plan_answers_429_until_its_window_resets(make_client: ClientFactory) -> None:
    clock = manual_clock()
    client = make_client(clock=clock, rate_limit=RateLimit(2, 60))
    assert [client.get("/v1/connectors").status_code for _ in range(2)] == [200, 200]
    clock.advance(15)
    refused = client.get("/v1/connectors")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert refused.json()["error"]["retryAfter"] == 45
    assert refused.headers["retry-after"] == "45"
    assert plan(refused) == (2, 0, int(clock.now().timestamp()) + 45)
    clock.advance(45)
    assert client.get("/v1/connectors").status_code == 200


def test_a_scenarios_limit_takes_over_for_the_requests_it_covers(make_client: ClientFactory, load: Load) -> None:
    scenario = load("name: strict\nrate_limit: {limit: 5, window_seconds: 10}\n")
    client = make_client()
    client.app.state.scenarios.load(scenario, activate=False)  # type: ignore[attr-defined]
    assert plan(client.get("/v1/connectors", headers={"X-Mock-Scenario": "strict"}))[:2] == (5, 4)  # type: ignore[index]
    assert plan(client.get("/v1/connectors"))[:2] == (3000, 2999)  # type: ignore[index]


def test_without_a_plan_no_answer_reports_one(make_client: ClientFactory) -> None:
    assert plan(make_client(rate_limit=None).get("/v1/connectors")) is None
