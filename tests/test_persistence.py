"""`serve --state-file`: a restart keeps everything, a `kill -9` at any moment leaves a file
that loads, and a file that cannot be used stops the start and is left as it was."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from connectors_mock.app import Settings, build_app
from connectors_mock.persistence import StateFileError, read_state_file, write_atomically
from connectors_mock.spec import Spec
from tests.conftest import S3_CREATE
from tests.test_cli import call, get, serve_once, serving


def consent(url: str, state: str) -> str:
    """Approve on the consent page, as a browser would; the code it sends back."""
    request = urllib.request.Request(f"{url}/_mock/oauth/notion/consent?state={state}&decision=approve")

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    try:
        urllib.request.build_opener(NoRedirect).open(request, timeout=5)
    except urllib.error.HTTPError as redirect:
        location = redirect.headers["Location"]
    return location.split("code=", 1)[1].split("&", 1)[0]


def test_a_restart_keeps_connectors_jobs_oauth_flows_and_the_clock(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with serving("--seed", "1", "--state-file", str(state)) as (process, url):
        status, made = call("POST", f"{url}/v1/connectors", body=S3_CREATE)
        assert status == 201
        connector = made["data"]["id"]
        job = call("POST", f"{url}/v1/connectors/{connector}/sync")[1]["data"]["jobId"]
        flow = get(f"{url}/v1/connectors/oauth/notion/authorize?collection=col_abc123&redirect_uri=http://app.test/cb")
        approved_state = flow[1]["data"]["state"]
        code = consent(url, approved_state)
        pending_state = get(f"{url}/v1/connectors/oauth/notion/authorize?collection=col_abc123")[1]["data"]["state"]
        call("POST", f"{url}/_mock/clock/advance", body={"seconds": 2})
        before = get(f"{url}/v1/connectors/{connector}/sync/{job}")[1]["data"]
        assert before["status"] == "running"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0

    saved = json.loads(state.read_text())
    assert saved["version"] == 2
    assert code not in state.read_text(), "an OAuth code is kept as its digest only"
    assert "Bearer" not in state.read_text()
    assert "secretAccessKey" not in state.read_text(), "credentials never reach the disk"

    with serving("--seed", "1", "--state-file", str(state)) as (_, url):
        assert get(f"{url}/_mock/clock")[1]["data"]["now"] == "2025-01-01T00:00:02Z", "the clock went on from there"
        assert get(f"{url}/v1/connectors/{connector}")[1]["data"]["name"] == S3_CREATE["name"]
        after = get(f"{url}/v1/connectors/{connector}/sync/{job}")[1]["data"]
        assert after["progress"] == before["progress"], "the job is where it was"
        call("POST", f"{url}/_mock/clock/advance", body={"seconds": 60})
        assert get(f"{url}/v1/connectors/{connector}/sync/{job}")[1]["data"]["status"] == "completed"
        completed = call(
            "POST",
            f"{url}/v1/connectors/oauth/notion/callback",
            body={"code": code, "state": approved_state, "name": "Wiki"},
        )
        assert completed[0] == 201, completed
        new_code = consent(url, pending_state)
        assert new_code, "a flow that was waiting for consent still gets one"
        other_key = call(
            "POST", f"{url}/v1/connectors/oauth/notion/callback", "other", {"code": new_code, "state": pending_state}
        )
        assert other_key[1]["error"]["code"] == "state_mismatch", "a flow still belongs to its key"


def burst(url: str, stop: threading.Event) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        try:
            call("POST", f"{url}/v1/connectors", body={**S3_CREATE, "name": f"Burst {n}"})
        except OSError:
            return


@pytest.mark.parametrize("after_seconds", [0.6, 1.3, 2.1])
def test_a_kill_9_during_a_burst_of_writes_leaves_a_file_that_loads(
    tmp_path: Path, spec: Spec, after_seconds: float
) -> None:
    state = tmp_path / "state.json"
    with serving("--seed", "1", "--state-file", str(state)) as (process, url):
        stop = threading.Event()
        writers = [threading.Thread(target=burst, args=(url, stop)) for _ in range(4)]
        for writer in writers:
            writer.start()
        time.sleep(after_seconds)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        stop.set()
        for writer in writers:
            writer.join()
    snapshot = read_state_file(state, spec)
    assert snapshot is not None
    kept = [c.name for data in snapshot.tenants.values() for c in data.connectors if c.name.startswith("Burst")]
    assert kept, "writes made in the burst reached the disk"
    assert [path.name for path in tmp_path.iterdir()] == ["state.json"], "no temporary file is left"
    with serving("--seed", "1", "--state-file", str(state)) as (_, url):
        names = [c["name"] for c in get(f"{url}/v1/connectors")[1]["data"]]
        assert set(kept) <= set(names)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'{"version": 2, "tenants": [', "not JSON"),
        (b'{"version": 99, "tenants": []}', "format version 99, not one this connectors-mock reads (1 or 2)"),
        (b'{"version": 2, "tenants": [{"tenant": "sk_live_key"}]}', "$.tenants[0]"),
    ],
    ids=["cut short", "a later version", "invalid"],
)
def test_a_state_file_that_cannot_be_used_stops_the_start_and_is_left_as_it_is(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    state = tmp_path / "state.json"
    state.write_bytes(content)
    result = serve_once("--port", "0", "--state-file", str(state))
    assert result.returncode == 2
    assert f"connectors-mock: cannot start: {state}: " in result.stderr
    assert reason in result.stderr
    assert state.read_bytes() == content


def test_a_write_that_fails_half_way_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state.json"
    write_atomically(state, b'{"old": true}')

    def no_room(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", no_room)
    with pytest.raises(OSError, match="No space"):
        write_atomically(state, b'{"new": true}')
    assert state.read_bytes() == b'{"old": true}'
    assert [path.name for path in tmp_path.iterdir()] == ["state.json"]


def test_ready_says_when_the_state_cannot_be_written(tmp_path: Path) -> None:
    directory = tmp_path / "kept"
    directory.mkdir()
    app = build_app(Settings(seed=1, state_file=directory / "state.json"))
    with TestClient(app) as client:
        client.headers["Authorization"] = "Bearer k"
        assert client.post("/v1/connectors", json=S3_CREATE).status_code == 201
        assert wait_for((directory / "state.json").exists), "written within a second of a change"
        assert client.get("/_mock/ready").json()["data"]["stateFile"] == str(directory / "state.json")
        (directory / "state.json").unlink()
        directory.rmdir()
        client.post("/v1/connectors", json={**S3_CREATE, "name": "Later"})
        assert wait_for(lambda: client.get("/_mock/ready").status_code == 503)
        refused = client.get("/_mock/ready").json()["error"]
        assert refused["code"] == "service_unavailable"
        assert "cannot be written" in refused["message"]
        assert client.get("/_mock/health").json()["data"]["status"] == "alive"


def wait_for(condition: object, seconds: float = 5.0) -> bool:
    """Poll `condition` until it holds; a background write has no event to wait on."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.05)
    return False


def test_an_unreadable_state_file_is_named(tmp_path: Path, spec: Spec) -> None:
    (tmp_path / "s.json").write_text("nope")
    with pytest.raises(StateFileError, match="not JSON"):
        read_state_file(tmp_path / "s.json", spec)
    assert read_state_file(tmp_path / "absent.json", spec) is None
