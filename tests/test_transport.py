"""The httpx transports that serve the fake in-process: the same app, state and journal as
behind its socket, sync and async, and a hang-up raised as httpx raises one."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from connectors_mock.testing import ConnectorsApi, FakeServer
from tests.conftest import S3_CREATE

HANG_UP = """
name: hang-up
faults:
  - match: {operation: listConnectors}
    drop: close
  - match: {operation: getConnector}
    body: truncated
"""


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeServer]:
    with FakeServer() as server:
        yield server


@pytest.fixture
def api(fake: FakeServer, request: pytest.FixtureRequest) -> Iterator[ConnectorsApi]:
    tenant = fake.tenant(request.node.nodeid)
    yield tenant
    tenant.forget()


def test_what_goes_through_the_transport_is_there_behind_the_socket(api: ConnectorsApi) -> None:
    with httpx.Client(transport=api.transport, base_url=api.url, headers=api.headers) as client:
        created = client.post("/v1/connectors", json=S3_CREATE)
    assert created.status_code == 201
    assert created.headers["x-ratelimit-limit"] == "3000"
    over_the_socket = httpx.get(f"{api.url}/v1/connectors/{created.json()['data']['id']}", headers=api.headers)
    assert over_the_socket.json()["data"]["name"] == S3_CREATE["name"]
    assert [entry["operationId"] for entry in api.journal()] == ["createConnector", "getConnector"]


def test_an_async_client_is_served_from_its_own_event_loop(api: ConnectorsApi) -> None:
    async def list_twice_at_once() -> list[int]:
        async with httpx.AsyncClient(transport=api.async_transport, base_url=api.url, headers=api.headers) as client:
            answers = await asyncio.gather(client.get("/v1/connectors"), client.post("/v1/connectors", json=S3_CREATE))
        return [answer.status_code for answer in answers]

    assert asyncio.run(list_twice_at_once()) == [200, 201]


def test_a_dropped_connection_and_a_cut_body_raise_what_httpx_raises(api: ConnectorsApi, tmp_path: object) -> None:
    api.server.call("POST", "/_mock/scenarios", body=HANG_UP.encode(), media_type="application/yaml")
    api.use_scenario("hang-up")
    with httpx.Client(transport=api.transport, base_url=api.url, headers=api.headers) as client:
        with pytest.raises(httpx.RemoteProtocolError, match="the fake ended the connection"):
            client.get("/v1/connectors")
        with pytest.raises(httpx.RemoteProtocolError, match="cut the response body short"):
            client.get("/v1/connectors/conn_abc123")
    assert [entry["fault"] for entry in api.journal()] == ["drop close (hang-up#0)", "body truncated (hang-up#1)"]
