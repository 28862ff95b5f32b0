"""What a fresh fake costs a test: the `connectors_api` fixture next to a server per test.

    python benchmarks/fixture_cost.py [--tests 500] [--per-test-server-tests 50]

Writes a throwaway test suite into a temporary directory and runs it with pytest in a process
of its own, twice:
- **connectors_api**: `--tests` tests, each asking for the fixture (a tenant of its own on the
  session's fake, forgotten at the end) and sending one `GET /v1/connectors`;
- **a server per test**, the way the guide showed before the fixture: `build_app(Settings())`
  and `server.running(app)` in a function-scoped fixture, and the same request.

A small plugin records pytest's own durations of each test's set-up, call and tear-down. The
first test's set-up also starts the session's fake, so it is shown apart. Prints medians and
90th percentiles, in milliseconds: set-up plus tear-down is what the fixture costs a test; the
call is the test's first request, which makes the new key's tenant on the server.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REQUEST = """
    request = urllib.request.Request(f"{url}/v1/connectors", headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request) as response:
        assert len(json.load(response)["data"]) == 8
"""

FIXTURE_SUITE = (
    """
import json
import urllib.request

import pytest


@pytest.mark.parametrize("n", range({tests}))
def test_with_the_fixture(connectors_api, n):
    url, key = connectors_api.url, connectors_api.api_key
"""
    + REQUEST
)

SERVER_PER_TEST_SUITE = (
    """
import json
import urllib.request

import pytest

from connectors_mock.app import Settings, build_app
from connectors_mock.server import running


@pytest.fixture
def fake_url():
    with running(build_app(Settings())) as url:
        yield url


@pytest.mark.parametrize("n", range({tests}))
def test_with_a_server_of_its_own(fake_url, n):
    url, key = fake_url, "test-key"
"""
    + REQUEST
)

TIMING_PLUGIN = """
import json
import os

DURATIONS = {}


def pytest_runtest_logreport(report):
    DURATIONS.setdefault(report.nodeid, {})[report.when] = report.duration


def pytest_sessionfinish(session):
    with open(os.environ["FIXTURE_COST_OUT"], "w") as out:
        json.dump(DURATIONS, out)
"""


def run_suite(directory: Path, name: str, source: str) -> tuple[dict[str, dict[str, float]], float]:
    (directory / f"test_{name}.py").write_text(textwrap.dedent(source))
    out = directory / f"{name}.json"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "timing_plugin"]
    command += ["-p", "no:connectors_mock", f"test_{name}.py"]
    started = time.perf_counter()
    environment = {**os.environ, "FIXTURE_COST_OUT": str(out), "PYTHONPATH": str(directory)}
    finished = subprocess.run(command, cwd=directory, env=environment, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if finished.returncode != 0:
        sys.exit(f"the {name} suite failed:\n{finished.stdout[-3000:]}\n{finished.stderr[-3000:]}")
    durations: dict[str, dict[str, float]] = json.loads(out.read_text())
    return durations, wall


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(label: str, durations: dict[str, dict[str, float]], wall: float) -> str:
    tests = list(durations.values())
    first, rest = tests[0], tests[1:]
    overhead = [1000 * (t["setup"] + t["teardown"]) for t in rest]
    calls = [1000 * t["call"] for t in rest]
    return (
        f"| {label} | {len(tests)} | {statistics.median(overhead):.2f} | {percentile(overhead, 0.9):.2f} "
        f"| {statistics.median(calls):.2f} | {1000 * first['setup']:.0f} | {wall:.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tests", type=int, default=500, help="tests using the fixture (default 500)")
    parser.add_argument(
        "--per-test-server-tests", type=int, default=50, help="tests starting a server each (default 50)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="connectors-mock-fixture-cost-") as workdir:
        directory = Path(workdir)
        (directory / "timing_plugin.py").write_text(TIMING_PLUGIN)
        fixture = run_suite(directory, "fixture", FIXTURE_SUITE.replace("{tests}", str(args.tests)))
        per_test = run_suite(
            directory, "server_per_test", SERVER_PER_TEST_SUITE.replace("{tests}", str(args.per_test_server_tests))
        )
    print(
        "| per test, ms | tests | set-up + tear-down, median | p90 | first request (call), median "
        "| first test's set-up | pytest wall time, s |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    print(report("`connectors_api`", *fixture))
    print(report("a server per test (`running(build_app())`)", *per_test))


if __name__ == "__main__":
    main()
