"""Each mutant really has its defect: the same few requests, sent to the mutant and to the
unbroken fake, give the broken answer on one and the right answer on the other.

Plain clients on purpose: the project's `make_client` checks every response against the
contract, which a mutant exists to break.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from httpx2 import Response
from starlette.testclient import TestClient
from starlette.types import ASGIApp

from connectors_mock.clock import VirtualClock
from tests.conftest import S3_CREATE
from tests.contract.mutants import API_KEYS, CLOCK_SPEED, MUTANTS, Mutant, fake_settings, unbroken

KEY_A, KEY_B = API_KEYS
SECRET = "wJalrXUtnFEMI-K7MDENG-recognisable"
COUNTERS = ("collected", "parsed", "indexed")


class Session:
    """Clients of one app; `client(None)` sends no Authorization header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._clients: list[TestClient] = []
        self.api = self.client(KEY_A)

    def client(self, key: str | None) -> TestClient:
        client = TestClient(self.app, raise_server_exceptions=False)
        if key is not None:
            client.headers["Authorization"] = f"Bearer {key}"
        self._clients.append(client)
        return client

    def close(self) -> None:
        for client in self._clients:
            client.close()


@pytest.fixture
def serve() -> Iterator[Callable[[ASGIApp], Session]]:
    """Clients for an app, closed after the test."""
    sessions: list[Session] = []

    def open_session(app: ASGIApp) -> Session:
        sessions.append(Session(app))
        return sessions[-1]

    yield open_session
    for opened in sessions:
        opened.close()


def outcome(response: Response) -> tuple[int, str | None]:
    """The status, and the error code when it is an error."""
    if response.status_code < 400:
        return response.status_code, None
    return response.status_code, response.json()["error"]["code"]


def create(api: TestClient, **changes: Any) -> dict[str, Any]:
    response = api.post("/v1/connectors", json={**S3_CREATE, **changes})
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def trigger_full_sync(api: TestClient, connector_id: str) -> str:
    # Always full: an `auto` sync after the first is incremental, a few dozen documents.
    response = api.post(f"/v1/connectors/{connector_id}/sync", json={"sync_mode": "full"})
    assert response.status_code == 202, response.text
    job_id: str = response.json()["data"]["jobId"]
    return job_id


def advance_clock(api: TestClient, seconds: float) -> None:
    response = api.post("/_mock/clock/advance", json={"seconds": seconds})
    assert response.status_code == 200, response.text


def job(api: TestClient, connector_id: str, job_id: str) -> dict[str, Any]:
    response = api.get(f"/v1/connectors/{connector_id}/sync/{job_id}")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def follow_job(api: TestClient, connector_id: str, deadline: float = 5.0) -> list[dict[str, Any]]:
    """Every poll of a new full sync, as fast as the client goes, until the job ends."""
    job_id = trigger_full_sync(api, connector_id)
    polls: list[dict[str, Any]] = []
    give_up = time.monotonic() + deadline
    while time.monotonic() < give_up:
        polls.append(job(api, connector_id, job_id))
        if polls[-1]["status"] in ("completed", "failed"):
            return polls
    raise AssertionError(f"job {job_id} did not end within {deadline} s: {polls[-1]}")


Progress = dict[str, int]


def watch_running_jobs(
    api: TestClient, shows_defect: Callable[[list[Progress]], bool], evidence: int = 12, attempts: int = 20
) -> tuple[bool, list[Progress]]:
    """Full syncs one after another, each polled as fast as the client goes, until one job's
    running polls show the defect or `evidence` running polls in all have not; whether it
    showed, and every running poll's counters. A job runs for 0.2 s of real time, which on a
    busy machine may be only a few polls, so one job is not always enough to tell."""
    connector = create(api)
    seen: list[Progress] = []
    for _ in range(attempts):
        progress = [polled["progress"] for polled in follow_job(api, connector["id"]) if polled["status"] == "running"]
        seen += progress
        if shows_defect(progress):
            return True, seen
        if len(seen) >= evidence:
            return False, seen
    pytest.fail(f"{attempts} jobs gave only {len(seen)} polls while running: too few to tell")


def ordered(progress: Progress) -> bool:
    return progress["collected"] >= progress["parsed"] >= progress["indexed"]


# One function per mutant: what the requests showed, to compare with `broken` and `correct`.


def leaks_credentials(s: Session) -> object:
    connector = create(s.api, credentials={"accessKeyId": "AKIAMUTANT", "secretAccessKey": SECRET})
    read = s.api.get(f"/v1/connectors/{connector['id']}")
    listed = s.api.get("/v1/connectors")
    return SECRET in read.text, SECRET in listed.text


def keeps_deleted(s: Session) -> object:
    connector = create(s.api)
    deleted = s.api.delete(f"/v1/connectors/{connector['id']}")
    return deleted.status_code, s.api.get(f"/v1/connectors/{connector['id']}").status_code


def progress_goes_backwards(s: Session) -> object:
    def went_down(progress: list[Progress]) -> bool:
        pairs = itertools.pairwise(progress)
        return any(later[counter] < earlier[counter] for earlier, later in pairs for counter in COUNTERS)

    shown, seen = watch_running_jobs(s.api, went_down)
    return shown, all(ordered(p) for p in seen)


def counters_out_of_order(s: Session) -> object:
    shown, seen = watch_running_jobs(s.api, lambda progress: any(p["indexed"] > p["parsed"] for p in progress))
    return shown, all(p["collected"] >= p["indexed"] for p in seen)


def create_returns_200(s: Session) -> object:
    response = s.api.post("/v1/connectors", json=S3_CREATE)
    return response.status_code, response.json()["data"]["name"]


def accepts_invalid_bodies(s: Session) -> object:
    config: dict[str, Any] = S3_CREATE["config"]
    no_bucket = {key: value for key, value in config.items() if key != "bucket"}
    return [
        outcome(s.api.post("/v1/connectors", json={**S3_CREATE, "name": "No Bucket", "config": no_bucket})),
        outcome(
            s.api.post("/v1/connectors", json={**S3_CREATE, "name": "Bad Region", "config": {**config, "region": 5}})
        ),
    ]


def ignores_auth(s: Session) -> object:
    return outcome(s.client(None).get("/v1/connectors"))


def non_ascii_500(s: Session) -> object:
    connector = create(s.api)
    return [
        outcome(s.api.post("/v1/connectors", json={**S3_CREATE, "name": "Café Dokumente"})),
        outcome(s.api.put(f"/v1/connectors/{connector['id']}", json={"name": "Zürich Ablage"})),
    ]


def wrong_content_type(s: Session) -> object:
    listed = s.api.get("/v1/connectors")
    assert isinstance(listed.json()["data"], list)
    missing = s.api.get("/v1/connectors/conn_nope")
    return listed.headers["content-type"], missing.headers["content-type"]


def put_not_applied(s: Session) -> object:
    connector = create(s.api)
    path = f"/v1/connectors/{connector['id']}"
    put = s.api.put(path, json={"name": "Renamed Storage", "config": {"prefix": "/new/"}})
    read = s.api.get(path).json()["data"]
    return put.status_code, put.json()["data"]["name"], read["name"], read["config"]["prefix"]


def update_drops_config(s: Session) -> object:
    connector = create(s.api)
    path = f"/v1/connectors/{connector['id']}"
    put = s.api.put(path, json={"config": {"region": "eu-west-1"}})
    return put.status_code, s.api.get(path).json()["data"]["config"]


def jobs_never_finish(s: Session) -> object:
    connector = create(s.api)
    job_id = trigger_full_sync(s.api, connector["id"])
    advance_clock(s.api, 3600)
    read = s.api.get(f"/v1/connectors/{connector['id']}").json()["data"]
    return job(s.api, connector["id"], job_id)["status"], read["status"]


def last_sync_not_set(s: Session) -> object:
    connector = create(s.api)
    job_id = trigger_full_sync(s.api, connector["id"])
    advance_clock(s.api, 60)
    status = job(s.api, connector["id"], job_id)["status"]
    read = s.api.get(f"/v1/connectors/{connector['id']}").json()["data"]
    return status, read["status"], read["lastSync"] is None


def tenants_see_each_other(s: Session) -> object:
    connector = create(s.api)
    other = s.client(KEY_B)
    listed = other.get("/v1/connectors").json()["data"]
    return other.get(f"/v1/connectors/{connector['id']}").status_code, connector["id"] in {c["id"] for c in listed}


def no_request_id(s: Session) -> object:
    missing = s.api.get("/v1/connectors/conn_nope")
    listed = s.api.get("/v1/connectors")
    return missing.status_code, sorted(missing.json()["meta"]), sorted(listed.json()["meta"])


def undocumented_error_code(s: Session) -> object:
    return outcome(s.api.get("/v1/connectors/conn_nope"))


def authorize_accepts_any_type(s: Session) -> object:
    return outcome(s.api.get("/v1/connectors/oauth/s3/authorize", params={"collection": "col_abc123"}))


def oauth_accepts_unknown_state(s: Session) -> object:
    body = {"code": "code_forged", "state": "st_neverissued", "collection": "col_abc123", "name": "Forged Drive"}
    return outcome(s.api.post("/v1/connectors/oauth/google_drive/callback", json=body))


def sync_not_exclusive(s: Session) -> object:
    connector = create(s.api)
    path = f"/v1/connectors/{connector['id']}/sync"
    for _ in range(10):
        first, second = s.api.post(path), s.api.post(path)
        # Telling only if the first job was still active when the second trigger came: a 409
        # says so, and so does the job if it still is now. A job runs for 0.2 s of real time,
        # and a busy machine can take longer than that for two requests.
        first_job = first.json()["data"]["jobId"]
        if second.status_code == 409 or job(s.api, connector["id"], first_job)["status"] in ("queued", "running"):
            return first.status_code, second.status_code
        advance_clock(s.api, 60)
    pytest.fail("the first job ended before the second trigger every time")


def list_newest_first(s: Session) -> object:
    create(s.api)
    created = [connector["createdAt"] for connector in s.api.get("/v1/connectors").json()["data"]]
    assert len(set(created)) > 1
    return created == sorted(created)


@dataclass(frozen=True)
class Demo:
    observe: Callable[[Session], object]
    broken: object
    correct: object


S3_CONFIG: dict[str, Any] = S3_CREATE["config"]


def rate_limit_header(session: Session) -> str | None:
    return session.api.get("/v1/connectors").headers.get("x-ratelimit-limit")


DEMOS: dict[str, Demo] = {
    "leaks-credentials": Demo(leaks_credentials, (True, True), (False, False)),
    "keeps-deleted": Demo(keeps_deleted, (204, 200), (204, 404)),
    "progress-goes-backwards": Demo(progress_goes_backwards, (True, True), (False, True)),
    "counters-out-of-order": Demo(counters_out_of_order, (True, True), (False, True)),
    "create-returns-200": Demo(create_returns_200, (200, "Document Storage"), (201, "Document Storage")),
    "accepts-invalid-bodies": Demo(
        accepts_invalid_bodies, [(201, None), (201, None)], [(422, "validation_failed"), (422, "validation_failed")]
    ),
    "ignores-auth": Demo(ignores_auth, (200, None), (401, "unauthorized")),
    "non-ascii-500": Demo(
        non_ascii_500, [(500, "internal_error"), (500, "internal_error")], [(201, None), (200, None)]
    ),
    "wrong-content-type": Demo(
        wrong_content_type, ("text/plain", "application/json"), ("application/json", "application/json")
    ),
    "put-not-applied": Demo(
        put_not_applied,
        (200, "Renamed Storage", "Document Storage", "/documents/"),
        (200, "Renamed Storage", "Renamed Storage", "/new/"),
    ),
    "update-drops-config": Demo(
        update_drops_config,
        (200, {"bucket": "my-documents", "region": "eu-west-1"}),
        (200, {**S3_CONFIG, "region": "eu-west-1"}),
    ),
    "jobs-never-finish": Demo(jobs_never_finish, ("running", "syncing"), ("completed", "active")),
    "last-sync-not-set": Demo(last_sync_not_set, ("completed", "active", True), ("completed", "active", False)),
    "tenants-see-each-other": Demo(tenants_see_each_other, (200, True), (404, False)),
    "no-request-id": Demo(
        no_request_id,
        (404, ["timestamp"], ["requestId", "timestamp"]),
        (404, ["requestId", "timestamp"], ["requestId", "timestamp"]),
    ),
    "undocumented-error-code": Demo(undocumented_error_code, (404, "connector_not_found"), (404, "not_found")),
    "authorize-accepts-any-type": Demo(authorize_accepts_any_type, (200, None), (400, "invalid_parameter")),
    "oauth-accepts-unknown-state": Demo(oauth_accepts_unknown_state, (201, None), (400, "invalid_state")),
    "sync-not-exclusive": Demo(sync_not_exclusive, (202, 202), (202, 409)),
    "list-newest-first": Demo(list_newest_first, False, True),
    "no-rate-limit-headers": Demo(rate_limit_header, None, "3000"),
}


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda mutant: mutant.name)
def test_the_mutant_has_its_defect(mutant: Mutant, serve: Callable[[ASGIApp], Session]) -> None:
    demo = DEMOS[mutant.name]
    assert demo.observe(serve(mutant.build())) == demo.broken


@pytest.mark.parametrize("name", list(DEMOS))
def test_the_unbroken_fake_does_not(name: str, serve: Callable[[ASGIApp], Session]) -> None:
    demo = DEMOS[name]
    assert demo.observe(serve(unbroken())) == demo.correct


def test_every_mutant_is_named_described_and_demonstrated() -> None:
    names = [mutant.name for mutant in MUTANTS]
    assert len(set(names)) == len(names)
    assert set(names) == set(DEMOS)
    for mutant in MUTANTS:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", mutant.name), mutant.name
        assert mutant.defect.endswith("."), mutant.name


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda mutant: mutant.name)
def test_each_build_is_a_fresh_server(mutant: Mutant, serve: Callable[[ASGIApp], Session]) -> None:
    first, second = serve(mutant.build()), serve(mutant.build())
    made = first.api.post("/v1/connectors", json=S3_CREATE)
    assert made.status_code in (200, 201)
    assert second.api.get(f"/v1/connectors/{made.json()['data']['id']}").status_code == 404


def test_the_fake_settings_run_a_fast_real_clock_and_take_overrides() -> None:
    settings = fake_settings()
    assert isinstance(settings.clock, VirtualClock)
    assert (settings.clock.mode, settings.clock.speed) == ("real", CLOCK_SPEED)
    assert settings.api_keys == frozenset(API_KEYS)
    assert settings.fixtures is None
    assert fake_settings(seed=7).seed == 7
    assert fake_settings().clock is not settings.clock
