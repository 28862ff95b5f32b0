"""`proxy --record FILE`: what the upstream showed becomes a fixtures file that `serve --fixtures`
loads, ids and all, with no credential in it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import yaml

from connectors_mock.app import Settings, build_app
from connectors_mock.server import running
from tests.conftest import S3_CREATE, proxying
from tests.contract.mutants import API_KEYS, unbroken

SECRET = "wJalrXUtnFEMI-K7MDENG-never-recorded"
AUTH = {"Authorization": f"Bearer {API_KEYS[0]}"}


def test_a_recording_round_trips_through_serve_fixtures(tmp_path: Path) -> None:
    recording = tmp_path / "staging.yaml"
    with running(unbroken()) as upstream, proxying(upstream, "--record", str(recording), log=tmp_path / "log") as proxy:
        api = httpx.Client(base_url=proxy.url, headers=AUTH)
        kept = api.post(
            "/v1/connectors",
            json={**S3_CREATE, "name": "Kept", "credentials": {"accessKeyId": "AKIAKEPT", "secretAccessKey": SECRET}},
        ).json()["data"]
        gone = api.post("/v1/connectors", json={**S3_CREATE, "name": "Gone"}).json()["data"]
        renamed = api.put(f"/v1/connectors/{kept['id']}", json={"name": "Kept and renamed"}).json()["data"]
        assert api.delete(f"/v1/connectors/{gone['id']}").status_code == 204
        upstream_list = api.get("/v1/connectors").json()["data"]
        assert proxy.stop() == 0
    assert f"recorded {len(upstream_list)} connectors in {recording}" in proxy.output
    text = recording.read_text(encoding="utf-8")
    assert SECRET not in text
    assert "credentials:" not in text
    document = yaml.safe_load(text)
    assert {c["id"] for c in document["connectors"]} == {c["id"] for c in upstream_list}

    with running(build_app(Settings(fixtures=recording))) as served:
        served_list: list[dict[str, Any]] = httpx.get(f"{served}/v1/connectors", headers=AUTH).json()["data"]
    by_id = {c["id"]: c for c in served_list}
    assert set(by_id) == {c["id"] for c in upstream_list}
    assert gone["id"] not in by_id
    for connector in upstream_list:
        served_one = by_id[connector["id"]]
        for field in ("name", "type", "collection", "config", "createdAt", "lastSync"):
            assert served_one[field] == connector[field], (connector["id"], field)
    assert by_id[kept["id"]]["name"] == renamed["name"] == "Kept and renamed"


def test_nothing_seen_writes_no_file(tmp_path: Path) -> None:
    recording = tmp_path / "empty.yaml"
    with running(unbroken()) as upstream, proxying(upstream, "--record", str(recording), log=tmp_path / "log") as proxy:
        assert httpx.get(f"{proxy.url}/v1/connectors").status_code == 401
        assert proxy.stop() == 0
    assert not recording.exists()
    assert "not written" in proxy.output
