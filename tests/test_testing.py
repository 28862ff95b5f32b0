"""`FakeServer` and `ConnectorsApi` without pytest's plugin: a tenant per name, its helpers,
and the scenarios it loads once."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from connectors_mock.testing import ControlError, FakeOptions, FakeServer
from tests.conftest import S3_CREATE


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeServer]:
    with FakeServer(FakeOptions(seed=4)) as server:
        yield server


def test_a_name_gives_the_same_key_once_and_a_new_one_when_asked_again(fake: FakeServer) -> None:
    first, second = fake.tenant("test_a"), fake.tenant("test_a")
    other_fake_first = FakeServer().tenant("test_a")
    assert first.api_key != second.api_key, "a test run twice must not read its first run's journal"
    assert first.api_key == other_fake_first.api_key, "the same test gets the same key (and ids) every run"
    assert first.api_key not in repr(first)


def test_a_tenant_sees_its_own_state_and_journal_and_starts_afresh_when_forgotten(fake: FakeServer) -> None:
    api, neighbour = fake.tenant("mine"), fake.tenant("neighbour")
    client = httpx.Client(base_url=api.url, headers=api.headers)
    made = client.post("/v1/connectors", json=S3_CREATE).json()["data"]
    assert client.get("/v1/connectors/conn_nope").status_code == 404
    httpx.get(f"{api.url}/v1/connectors", headers=neighbour.headers)

    assert made["id"] in [connector["id"] for connector in api.state()["connectors"]]
    assert [entry["operationId"] for entry in api.journal()] == ["createConnector", "getConnector"]
    assert [entry["status"] for entry in api.journal(status="4xx")] == [404]
    assert all(entry["tenant"] == api.label for entry in api.journal())

    api.forget()
    assert made["id"] not in [connector["id"] for connector in api.state()["connectors"]]
    assert len(api.state()["connectors"]) == 8


def test_the_clock_is_the_fakes_and_moves_when_advanced(fake: FakeServer) -> None:
    api = fake.tenant("clock")
    before = api.now()
    assert (api.advance(90) - before).total_seconds() == 90
    assert fake.now() == api.now()


def test_a_scenario_file_is_loaded_once_and_again_when_it_changes(fake: FakeServer, tmp_path: Path) -> None:
    path = tmp_path / "down.yaml"
    path.write_text("name: down\nfaults:\n  - error: {status: 503}\n")
    api = fake.tenant("scenario")
    assert api.use_scenario(path) == "down"
    assert httpx.get(f"{api.url}/v1/connectors", headers=api.headers).status_code == 503
    assert fake.tenant("unbound").state()["connectors"], "bound to one tenant only"
    loads = len(fake.call("GET", "/_mock/scenarios"))
    assert fake.tenant("again").use_scenario(path) == "down"
    assert len(fake.call("GET", "/_mock/scenarios")) == loads

    path.write_text("name: down\nfaults:\n  - error: {status: 502}\n")
    assert api.use_scenario(path) == "down"
    assert httpx.get(f"{api.url}/v1/connectors", headers=api.headers).status_code == 502, "the edit took"


def test_a_refusal_says_what_the_fake_said(fake: FakeServer, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: broken\nfaults:\n  - error: {status: 99}\n  - drop: sideways\n")
    with pytest.raises(ControlError) as refused:
        fake.tenant("t").use_scenario(broken)
    assert str(refused.value).startswith("422 validation_failed: Scenario not loaded: $.faults[0].error.status: 99 is")
    assert str(refused.value).count("$.faults[0].error.status") == 1
    assert "$.faults[1].drop" in str(refused.value)
    with pytest.raises(ControlError) as refused:
        fake.advance(-1)
    assert refused.value.status == 422
    assert "$.seconds" in str(refused.value)


def test_a_stale_connection_to_the_control_api_is_replaced(fake: FakeServer) -> None:
    fake.now()
    assert fake._connection is not None
    # As the server's keep-alive timeout leaves an idle one: nothing more goes through it.
    fake._connection.sock.shutdown(socket.SHUT_RDWR)
    assert fake.now() is not None
