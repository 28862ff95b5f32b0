"""`serve --watch`: a scenario or fixture file edited on disk takes effect while the server runs;
a broken edit keeps the last good version and says what is wrong, as `check-scenario` does."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from tests.conftest import S3_CREATE
from tests.test_cli import call, get, serving

GOOD_503 = "name: down\nfaults:\n  - error: {status: 503}\n"
GOOD_502 = "name: down\nfaults:\n  - error: {status: 502}\n"
BROKEN = "name: down\nfaults:\n  - error: {status: 99}\n"
FIXTURES = """
collections: [col_one]
connectors:
  - {id: conn_first, name: First, type: s3, collection: col_one, config: {bucket: first-bucket, region: us-east-1}}
"""


def until(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    """Poll until `condition` holds: the watcher works in its own time (about 0.2 s)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def status_of(url: str) -> int:
    return get(f"{url}/v1/connectors")[0]


def events(url: str) -> list[tuple[str, str]]:
    entries = get(f"{url}/_mock/journal?kind=event")[1]["data"]["entries"]
    return [(entry["event"], entry["detail"]) for entry in entries]


def test_a_scenario_edited_good_then_broken_then_good_again(tmp_path: Path) -> None:
    scenario = tmp_path / "down.yaml"
    scenario.write_text(GOOD_503)
    with serving("--watch", "--scenario", str(scenario)) as (process, url):
        assert status_of(url) == 503
        scenario.write_text(GOOD_502)
        assert until(lambda: status_of(url) == 502)

        scenario.write_text(BROKEN)
        assert until(lambda: any(event == "reload_refused" for event, _ in events(url)))
        assert status_of(url) == 502, "the last good version stays"
        refused = next(detail for event, detail in events(url) if event == "reload_refused")
        assert refused == f"{scenario.resolve()}:3: $.faults[0].error.status: 99 is less than the minimum of 400"

        # Saved the way many editors save: a new file renamed over the old.
        replacement = tmp_path / ".down.yaml.swp"
        replacement.write_text(GOOD_503)
        replacement.replace(scenario)
        assert until(lambda: status_of(url) == 503)
        assert [event for event, _ in events(url)] == ["file_reloaded", "reload_refused", "file_reloaded"]
        listed = get(f"{url}/_mock/scenarios")[1]["data"]
        assert [(s["name"], s["active"]) for s in listed] == [("down", True)]
        process.terminate()
        _, err = process.communicate(timeout=10)
    assert f"{scenario.resolve()} not reloaded; the last good version stays" in err
    assert f"{scenario.resolve()}:3: $.faults[0].error.status: 99 is less than the minimum of 400" in err


def test_edited_fixtures_reach_every_key_that_changed_nothing(tmp_path: Path) -> None:
    fixtures = tmp_path / "fixtures.yaml"
    fixtures.write_text(FIXTURES)
    with serving("--watch", "--fixtures", str(fixtures), "--seed", "1") as (_, url):
        assert call("POST", f"{url}/v1/connectors", "builder", {**S3_CREATE, "collection": "col_one"})[0] == 201
        assert [c["name"] for c in get(f"{url}/v1/connectors", "reader")[1]["data"]] == ["First"]
        fixtures.write_text(FIXTURES.replace("First", "Renamed"))
        assert until(lambda: [c["name"] for c in get(f"{url}/v1/connectors", "reader")[1]["data"]] == ["Renamed"])
        assert [c["name"] for c in get(f"{url}/v1/connectors", "newcomer")[1]["data"]] == ["Renamed"]
        kept = [c["name"] for c in get(f"{url}/v1/connectors", "builder")[1]["data"]]
        assert kept == ["First", S3_CREATE["name"]], "a key that made something keeps what it holds"
        fixtures.write_text("collections: [col_one]\nconnectors:\n  - {type: nosuchtype}\n")
        assert until(lambda: "reload_refused" in [event for event, _ in events(url)])
        assert [c["name"] for c in get(f"{url}/v1/connectors", "reader")[1]["data"]] == ["Renamed"]
