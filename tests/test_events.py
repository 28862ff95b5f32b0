"""`GET /_mock/events`, on a real socket (a stream never ends for the test client): what a
viewer is sent, that it follows the API and `/_mock` as they change, who may watch, and that a
viewer who stops reading, goes away or outlives the server costs the fake nothing. Every event
read is judged against the schema the control document gives it."""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from starlette.testclient import TestClient
from starlette.types import Message

from connectors_mock.app import Settings, build_app
from connectors_mock.clock import VirtualClock
from connectors_mock.control import ADMIN_HEADER
from connectors_mock.events import EventStream, Viewers
from connectors_mock.server import serving
from connectors_mock.spec import Spec
from tests.conftest import S3_CREATE, SECRET_VALUES, ClientFactory, control_schema

KEY = "watched-key"
LABEL = "key_" + hashlib.sha256(KEY.encode()).hexdigest()[:12]
SCHEMAS = {
    "clock": "/components/schemas/ClockState",
    "tenants": "/components/schemas/TenantListing",
    "tenant": "/components/schemas/TenantView",
    "journal": "/components/schemas/JournalBatch",
    "bye": "/components/schemas/StreamEnd",
}
Event = tuple[str, Any]


def check_event(name: str, data: Any) -> None:
    if name == "scenarios":
        items: list[Any] = data
        pointer = "/components/schemas/ScenarioSummary"
    elif name == "tenant" and data is None:
        return
    else:
        items, pointer = [data], SCHEMAS[name]
    for item in items:
        errors = [error.message for error in control_schema(pointer).iter_errors(item)]
        assert not errors, f"{name}: {errors}"


class Watcher:
    """A viewer of `/_mock/events` that reads with a socket timeout, so no test waits for ever."""

    def __init__(self, url: str, query: str = "", headers: dict[str, str] | None = None) -> None:
        parts = urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
        self.connection.request("GET", f"/_mock/events{query}", headers=headers or {})
        self.response = self.connection.getresponse()
        self.raw = b""

    def next(self) -> Event:
        name, data = "message", list[str]()
        while True:
            line = self.response.readline()
            if not line:
                raise EOFError("the stream ended")
            self.raw += line
            text = line.decode("utf-8").rstrip("\n")
            if not text:
                if data:
                    event = (name, json.loads("\n".join(data)))
                    check_event(*event)
                    return event
                continue
            if text.startswith(":"):
                continue
            field, _, value = text.partition(": ")
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)

    def until(self, wanted: Callable[[str, Any], bool]) -> Event:
        while True:
            event = self.next()
            if wanted(*event):
                return event

    def collect(self, names: set[str]) -> dict[str, Any]:
        """The next event of each of `names` (the last, if one comes twice first)."""
        seen: dict[str, Any] = {}
        while not names <= set(seen):
            name, data = self.next()
            seen[name] = data
        return seen

    def first_picture(self) -> dict[str, Any]:
        """The events sent on connecting, by name."""
        return self.collect({"clock", "scenarios", "tenants", "tenant", "journal"})

    def close(self) -> None:
        self.connection.close()


@pytest.fixture
def served(spec: Spec) -> Iterator[tuple[str, Any]]:
    app = build_app(Settings(seed=7), spec)
    with serving(app) as running:
        yield running.url, app


def api(url: str, method: str, path: str, body: Any = None, key: str = KEY) -> tuple[int, Any]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    return response.status, json.loads(payload) if payload else None


def test_a_stream_opens_with_the_whole_picture_and_no_secret(served: tuple[str, Any]) -> None:
    url, _ = served
    assert api(url, "POST", "/v1/connectors", S3_CREATE)[0] == 201
    watcher = Watcher(url, f"?tenant={LABEL}")
    assert watcher.response.status == 200
    assert watcher.response.getheader("content-type") == "text/event-stream; charset=utf-8"
    assert watcher.response.getheader("x-request-id")
    picture = watcher.first_picture()
    assert set(picture) == {"clock", "scenarios", "tenants", "tenant", "journal"}
    assert picture["clock"] == {"mode": "manual", "speed": 1.0, "now": "2025-01-01T00:00:00Z"}
    assert [t["tenant"] for t in picture["tenants"]["tenants"]] == [LABEL]
    assert picture["tenant"]["connectors"][-1]["name"] == S3_CREATE["name"]
    [entry] = picture["journal"]["entries"]
    assert (entry["operationId"], entry["tenant"], entry["status"]) == ("createConnector", LABEL, 201)
    assert entry["requestBody"]["credentials"] == {"accessKeyId": "********", "secretAccessKey": "********"}
    text = watcher.raw.decode()
    assert KEY not in text
    assert not any(f'"{secret}"' in text for secret in SECRET_VALUES)
    watcher.close()


def test_the_api_and_mock_changes_reach_a_viewer_as_they_happen(served: tuple[str, Any]) -> None:
    url, _ = served
    api(url, "GET", "/v1/connectors")
    watcher = Watcher(url, f"?tenant={LABEL}")
    watcher.first_picture()
    status, created = api(url, "POST", "/v1/connectors", {**S3_CREATE, "name": "Arrives live"})
    assert status == 201
    news = watcher.collect({"tenant", "journal"})
    assert news["tenant"]["connectors"][-1]["id"] == created["data"]["id"]
    assert news["journal"]["replace"] is False
    assert [(e["method"], e["path"]) for e in news["journal"]["entries"]] == [("POST", "/v1/connectors")]
    # A sync, then the clock moved through /_mock: the job's progress comes with the move.
    status, job = api(url, "POST", f"/v1/connectors/{created['data']['id']}/sync")
    assert status == 202
    api(url, "POST", "/_mock/clock/advance", {"seconds": 600})
    _, clock = watcher.until(lambda name, data: name == "clock" and data["now"] != "2025-01-01T00:00:00Z")
    assert clock["now"] == "2025-01-01T00:10:00Z"
    _, view = watcher.until(lambda name, data: name == "tenant" and data["jobs"][0]["status"] == "completed")
    [ended] = [each for each in view["jobs"] if each["jobId"] == job["data"]["jobId"]]
    assert ended["progress"]["indexed"] == ended["total"]
    assert ended["connectorName"] == "Arrives live"
    watcher.close()


def test_a_running_job_moves_on_its_own_under_a_real_clock(spec: Spec) -> None:
    """No request and no `/_mock` change: the job's counters still come, as the clock runs."""
    app = build_app(Settings(seed=7, clock=VirtualClock("real", 1.5)), spec)
    with serving(app) as running:
        _, created = api(running.url, "POST", "/v1/connectors", S3_CREATE)
        api(running.url, "POST", f"/v1/connectors/{created['data']['id']}/sync")
        watcher = Watcher(running.url, f"?tenant={LABEL}")
        seen: list[tuple[str, int]] = []
        while not seen or seen[-1][0] != "completed":
            _, view = watcher.until(lambda name, data: name == "tenant" and data["jobs"])
            job = view["jobs"][0]
            seen.append((job["status"], job["progress"]["collected"]))
        watcher.close()
    collected = [count for _, count in seen]
    assert collected == sorted(collected)
    assert len(set(collected)) >= 3, seen


def test_filters_choose_the_journal_entries(served: tuple[str, Any]) -> None:
    url, _ = served
    api(url, "GET", "/v1/connectors/conn_nope")
    api(url, "GET", "/v1/connectors/conn_nope", key="someone-else")
    api(url, "GET", "/v1/connectors")
    watcher = Watcher(url, f"?tenant={LABEL}&status=4xx&only_tenant=true")
    entries = watcher.first_picture()["journal"]["entries"]
    assert [(e["status"], e["tenant"]) for e in entries] == [(404, LABEL)]
    watcher.close()


def test_who_may_watch(make_client: ClientFactory) -> None:
    client = make_client(token=None, admin_token="s3cret")
    assert client.get("/_mock/events").status_code == 401
    refused = client.get("/_mock/events", headers={ADMIN_HEADER: "s3cret", "Origin": "http://evil.example"})
    assert refused.status_code == 403
    assert "may not watch this fake" in refused.json()["error"]["message"]
    bad = client.get(
        "/_mock/events?tenant=my-api-key&status=40&only_tenant=true&colour=red", headers={ADMIN_HEADER: "s3cret"}
    )
    assert bad.status_code == 422
    assert [e["path"] for e in bad.json()["error"]["details"]["errors"]] == ["colour", "status", "tenant"]
    assert "my-api-key" not in bad.text


def test_at_most_so_many_watch(make_client: ClientFactory) -> None:
    client = make_client(token=None)
    viewers = client.app.state.viewers  # type: ignore[attr-defined]
    viewers.limit = 0
    full = client.get("/_mock/events")
    assert full.status_code == 503
    assert full.json()["error"]["code"] == "service_unavailable"


def test_a_viewer_that_goes_away_frees_its_place(served: tuple[str, Any]) -> None:
    url, app = served
    watcher = Watcher(url)
    watcher.first_picture()
    assert len(app.state.viewers) == 1
    watcher.close()
    deadline = time.monotonic() + 10
    while len(app.state.viewers) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(app.state.viewers) == 0


def test_a_viewer_that_stops_reading_is_dropped(make_client: ClientFactory) -> None:
    """Its writes wait on a socket nobody reads: after the stall time, it is let go."""
    client = make_client(token=None)
    control_route = next(r for r in client.app.routes if getattr(r, "path", "") == "/_mock/events")  # type: ignore[attr-defined]
    stream = control_route.app
    assert isinstance(stream, EventStream)
    slow = EventStream(
        stream.sources,
        Viewers(),
        envelope=stream.envelope,
        operations=stream.operations,
        check=stream.check,
        stall_seconds=0.01,
    )
    sent: list[Message] = []
    never = asyncio.Event()

    async def receive() -> Message:
        await never.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)
        if message["type"] == "http.response.body":
            await never.wait()

    scope = {"type": "http", "method": "GET", "path": "/_mock/events", "query_string": b"", "headers": []}
    asyncio.run(slow(scope, receive, send))
    assert len(slow.viewers) == 0
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]


def test_the_server_stops_with_viewers_attached(spec: Spec) -> None:
    app = build_app(Settings(seed=7), spec)
    ended: list[Event] = []
    with serving(app) as running:
        watcher = Watcher(running.url)
        watcher.first_picture()

        def read_to_the_end() -> None:
            try:
                while True:
                    ended.append(watcher.next())
            except EOFError:
                ended.append(("end", None))

        reader = threading.Thread(target=read_to_the_end)
        reader.start()
    reader.join(10)
    assert ended[-2:] == [("bye", {"reason": "the server is stopping"}), ("end", None)]


def test_head_answers_without_streaming(make_client: ClientFactory) -> None:
    client: TestClient = make_client(token=None)
    response = client.head("/_mock/events")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"


def test_at_most_the_limit_watch_and_a_place_frees_when_one_leaves() -> None:
    viewers = Viewers(limit=2)
    first, second = viewers.join(), viewers.join()
    assert first is not None
    assert second is not None
    assert viewers.join() is None
    viewers.leave(first)
    assert viewers.join() is not None
    assert len(viewers) == 2


def test_a_poke_wakes_every_viewer() -> None:
    viewers = Viewers()
    watching = [viewers.join() for _ in range(3)]
    viewers.poke()
    assert all(viewer is not None and viewer.poked and viewer.wake.is_set() for viewer in watching)
