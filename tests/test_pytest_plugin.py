"""The `connectors_api` fixture, run as its users run it: pytest in a project of theirs, with
the plugin found through its entry point (`pytester`, each run a process of its own)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# A complete test file in the docs starts with a comment naming it: `# test_x.py...`.
TEST_FILE = re.compile(r"^```python\n(# (test_\w+\.py).*?)^```\n", re.MULTILINE | re.DOTALL)

# Each test writes down what it met: its fake, its key, whether its tenant was fresh, the id
# of the connector it made and the fake's time.
RECORDING = """
import json, os, httpx, pytest

S3 = {"name": "Mine", "type": "s3", "collection": "col_abc123",
      "config": {"bucket": "mine-bucket", "region": "us-east-1"},
      "credentials": {"accessKeyId": "AKIA...", "secretAccessKey": "..."}}


def record(connectors_api, request):
    api = httpx.Client(base_url=connectors_api.url, headers=connectors_api.headers)
    names = [c["name"] for c in api.get("/v1/connectors").json()["data"]]
    created = api.post("/v1/connectors", json=S3).json()["data"]["id"]
    facts = {"test": request.node.name, "url": connectors_api.url, "key": connectors_api.api_key,
             "fresh": "Mine" not in names and len(names) == 8, "created": created,
             "now": connectors_api.now().isoformat(), "worker": os.environ.get("PYTEST_XDIST_WORKER")}
    with open(os.environ["RECORD"], "a") as out:
        out.write(json.dumps(facts) + "\\n")
"""


@pytest.fixture
def recorded(pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the tests of a run write what they met (`RECORDING`)."""
    path = tmp_path / "record.jsonl"
    monkeypatch.setenv("RECORD", str(path))
    pytester.makepyfile(recording=RECORDING)
    return path


def read(path: Path) -> dict[str, dict[str, object]]:
    facts = [json.loads(line) for line in path.read_text().splitlines()]
    path.unlink()
    return {fact["test"]: fact for fact in facts}


def documented_test_files() -> list[tuple[str, str]]:
    texts = [(ROOT / "README.md").read_text(), (ROOT / "docs" / "testing-sdks.md").read_text()]
    return [(match.group(2), match.group(1)) for text in texts for match in TEST_FILE.finditer(text)]


def test_the_documented_test_files_pass_as_written(pytester: pytest.Pytester) -> None:
    files = documented_test_files()
    assert {name for name, _ in files} == {"test_my_sdk.py", "test_connectors.py", "test_in_process.py"}
    for name, source in files:
        pytester.makepyfile(**{name.removesuffix(".py"): source})
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=6)


def test_every_test_has_a_tenant_of_its_own_and_leaves_nothing_behind(
    pytester: pytest.Pytester, recorded: Path
) -> None:
    pytester.makepyfile(
        test_tenants="""
import json, os, pytest
from recording import record

@pytest.mark.parametrize("n", range(3))
def test_makes_a_connector(connectors_api, request, n):
    record(connectors_api, request)

def test_what_they_made_is_gone(connectors_mock_server):
    for line in open(os.environ["RECORD"]):
        key = json.loads(line)["key"]
        held = connectors_mock_server.call("GET", "/_mock/tenant", key=key)
        assert "Mine" not in [c["name"] for c in held["connectors"]]
"""
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=4)
    facts = list(read(recorded).values())
    assert all(fact["fresh"] for fact in facts)
    assert len({fact["key"] for fact in facts}) == 3
    assert len({fact["url"] for fact in facts}) == 1, "one fake for the session"


def test_a_seed_repeats_every_id_whatever_the_order_or_the_worker(pytester: pytest.Pytester, recorded: Path) -> None:
    pytester.makepyfile(
        test_seeded="""
import pytest
from recording import record

@pytest.mark.parametrize("n", range(6))
def test_makes_a_connector(connectors_api, request, n):
    record(connectors_api, request)
"""
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "--connectors-mock-seed", "5").assert_outcomes(passed=6)
    alone = read(recorded)
    pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--connectors-mock-seed", "5", "-n", "2", "-p", "no:randomly"
    ).assert_outcomes(passed=6)
    parallel = read(recorded)
    assert {fact["worker"] for fact in parallel.values()} == {"gw0", "gw1"}
    assert len({fact["url"] for fact in parallel.values()}) == 2, "a fake for each worker"
    assert all(fact["fresh"] for fact in parallel.values())
    assert {test: fact["created"] for test, fact in parallel.items()} == {
        test: fact["created"] for test, fact in alone.items()
    }
    assert {fact["now"] for fact in alone.values()} == {"2025-01-01T00:00:00+00:00"}, "a seeded clock stands still"

    pytester.makepyprojecttoml('[tool.pytest.ini_options]\nconnectors_mock_seed = "5"\n')
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=6)
    assert {test: fact["created"] for test, fact in read(recorded).items()} == {
        test: fact["created"] for test, fact in alone.items()
    }, "the ini setting is the option"


def test_a_marker_chooses_the_fake_and_binds_a_scenario_to_one_test(pytester: pytest.Pytester, recorded: Path) -> None:
    pytester.makefile(
        ".yaml",
        **{"scenarios/hang-up": "name: hang-up\nfaults:\n  - match: {operation: listConnectors}\n    drop: close\n"},
    )
    pytester.makepyfile(
        test_marked="""
import httpx, pytest
from recording import record

def test_unmarked(connectors_api, request):
    record(connectors_api, request)

@pytest.mark.connectors_mock(seed=9)
def test_seeded(connectors_api, request):
    record(connectors_api, request)

@pytest.mark.connectors_mock(scenario="outage")
def test_in_an_outage(connectors_api):
    assert httpx.get(connectors_api.url + "/v1/connectors", headers=connectors_api.headers).status_code == 503

def test_after_the_outage(connectors_api):
    assert httpx.get(connectors_api.url + "/v1/connectors", headers=connectors_api.headers).status_code == 200

@pytest.mark.connectors_mock(scenario="scenarios/hang-up.yaml")
def test_hung_up_on(connectors_api):
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(connectors_api.url + "/v1/connectors", headers=connectors_api.headers)
    assert connectors_api.journal()[0]["fault"] == "drop close (hang-up#0)"
"""
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=5)
    facts = read(recorded)
    assert facts["test_unmarked"]["url"] != facts["test_seeded"]["url"], "other options, another fake"
    assert facts["test_seeded"]["now"] == "2025-01-01T00:00:00+00:00"
    assert str(facts["test_unmarked"]["now"]) > "2026", "unseeded, the clock is real"


def test_mistakes_stop_the_test_saying_what_would_do(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_wrong="""
import pytest

@pytest.mark.connectors_mock(sede=1)
def test_misspelt(connectors_api):
    pass

@pytest.mark.connectors_mock(scenario="outages")
def test_no_such_example(connectors_api):
    pass

@pytest.mark.connectors_mock(scenario="missing.yaml")
def test_no_such_file(connectors_api):
    pass

@pytest.mark.connectors_mock(clock="sundial")
def test_no_such_clock(connectors_api):
    pass
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=4)
    result.stdout.fnmatch_lines_random(
        [
            "*@pytest.mark.connectors_mock takes keyword arguments among fixtures, seed, clock, speed, scenario, "
            "not sede",
            "*scenario 'outages': 404 not_found: No example scenario \"outages\" (examples: flaky-network, *outage, *",
            "*scenario 'missing.yaml': no scenario file 'missing.yaml' (looked for */missing.yaml)",
            "*connectors-mock: clock 'sundial' is neither real nor manual",
        ]
    )


def test_a_run_that_does_not_ask_for_it_starts_and_imports_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_plain="""
import sys, threading

def test_nothing_of_the_fake_is_here():
    assert "connectors_mock.app" not in sys.modules
    assert [thread.name for thread in threading.enumerate()] == ["MainThread"]
"""
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
