"""How the suite behaves as a tool: safe on a server it shares with others, patient with rate
limits, bounded in time, and clear about what it needs."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree

import httpx2

from connectors_mock.app import build_app
from connectors_mock.clock import VirtualClock
from connectors_mock.scenarios.loader import load_text
from connectors_mock.server import running
from connectors_mock.spec import default_spec
from tests.contract.conftest import (
    SUITE_KEYS,
    WITHOUT_SCHEMA_TESTS,
    SuiteRun,
    connectors_of,
    left_behind,
    suite_command,
    suite_environment,
)
from tests.contract.mutants import MUTANTS, fake_settings, unbroken


def test_it_never_changes_a_connector_it_did_not_create(run_suite: Callable[..., SuiteRun]) -> None:
    with running(unbroken()) as url:
        before = {key: connectors_of(url, key) for key in SUITE_KEYS}
        run = run_suite(url, "--max-examples", "5", "-k", "schema or connectors")
        assert run.returncode == 0, run.output
        after = {key: connectors_of(url, key) for key in SUITE_KEYS}
    assert after == before


def test_a_failing_run_still_deletes_what_it_created(run_suite: Callable[..., SuiteRun]) -> None:
    no_request_id = next(mutant for mutant in MUTANTS if mutant.name == "no-request-id")
    with running(no_request_id.build()) as url:
        run = run_suite(url, *WITHOUT_SCHEMA_TESTS, "--max-examples", "5", "-k", "connectors")
        assert run.returncode == 1
        assert "created " in run.output
        assert left_behind(url) == []


def test_an_interrupted_run_still_deletes_what_it_created(tmp_path: Path) -> None:
    with running(unbroken()) as url:
        suite = subprocess.Popen(
            suite_command(url, *WITHOUT_SCHEMA_TESTS, "--max-examples", "50"),
            cwd=tmp_path,
            env=suite_environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 60
        while not left_behind(url) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert left_behind(url), "the suite created nothing to interrupt"
        suite.send_signal(signal.SIGTERM)
        output, _ = suite.communicate(timeout=60)
        assert suite.returncode != 0
        assert left_behind(url) == [], output


def test_a_rate_limited_server_is_waited_on_not_failed(run_suite: Callable[..., SuiteRun]) -> None:
    tight = load_text(b"name: tight\nrate_limit: {limit: 20, window_seconds: 1}\n", "tight.yaml", default_spec())
    app = build_app(fake_settings(clock=VirtualClock("real", 1.0), scenarios=(tight,)))
    with running(app) as url:
        run = run_suite(url, *WITHOUT_SCHEMA_TESTS, "--max-examples", "5", "-k", "oauth or delete_is_final")
        refused = httpx2.get(f"{url}/_mock/journal", params={"status": "429"}).json()["data"]["entries"]
    assert run.returncode == 0, run.output
    assert refused, "the server never refused a request: the test proves nothing"


def test_the_time_budget_skips_what_is_left_and_says_so(run_suite: Callable[..., SuiteRun]) -> None:
    with running(unbroken()) as url:
        run = run_suite(url, *WITHOUT_SCHEMA_TESTS, "--time-budget", "0.01", "-k", "oauth")
    assert run.returncode == 0, run.output
    assert "skipped" in run.output
    assert "time budget (0.01 s) spent" in run.output


def test_without_a_second_key_isolation_is_skipped_with_the_reason(tmp_path: Path) -> None:
    with running(unbroken()) as url:
        command = [*suite_command(None, *WITHOUT_SCHEMA_TESTS, "-k", "another_team", "-rs")]
        command += ["--base-url", url, "--api-key", SUITE_KEYS[0]]
        done = subprocess.run(
            command, cwd=tmp_path, env=suite_environment(), capture_output=True, text=True, check=False
        )
    assert done.returncode == 0, done.stdout
    assert "give --api-key-b" in done.stdout


def test_a_server_without_a_key_is_refused_before_any_request(tmp_path: Path) -> None:
    command = [*suite_command(None, *WITHOUT_SCHEMA_TESTS), "--base-url", "http://127.0.0.1:9"]
    done = subprocess.run(command, cwd=tmp_path, env=suite_environment(), capture_output=True, text=True, check=False)
    assert done.returncode == 4, done.stdout + done.stderr
    assert "--api-key" in done.stdout + done.stderr


def test_without_a_base_url_it_judges_the_fake_in_process(run_suite: Callable[..., SuiteRun]) -> None:
    run = run_suite(None, *WITHOUT_SCHEMA_TESTS, "--max-examples", "3", "-k", "oauth")
    assert run.returncode == 0, run.output
    assert "(the fake, in-process)" in run.output


def verify(*args: str, cwd: Path, temporary: Path | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "connectors_mock", "verify", *args]
    environment = suite_environment()
    if temporary is not None:
        environment["TMPDIR"] = str(temporary)
    return subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, check=False)


def test_verify_judges_a_url_and_leaves_no_files_behind(tmp_path: Path) -> None:
    here, temporary = tmp_path / "here", tmp_path / "tmp"
    here.mkdir()
    temporary.mkdir()
    with running(unbroken()) as url:
        keys = ("--api-key", SUITE_KEYS[0], "--api-key-b", SUITE_KEYS[1])
        selection = ("--", *WITHOUT_SCHEMA_TESTS, "-k", "authorize or update_then_get")
        done = verify(url, *keys, "--max-examples", "3", *selection, cwd=here, temporary=temporary)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "9 passed" in done.stdout
    assert SUITE_KEYS[0] not in done.stdout + done.stderr
    # Neither in the working directory (no .hypothesis, no .pytest_cache) nor in the temporary one.
    assert list(here.iterdir()) == []
    assert list(temporary.iterdir()) == []


def test_verify_wants_a_key_for_a_url_before_it_starts(tmp_path: Path) -> None:
    done = verify("http://127.0.0.1:9", cwd=tmp_path)
    assert done.returncode == 4
    assert "needs --api-key KEY" in done.stderr


def test_verify_refuses_a_bad_option_value_itself(tmp_path: Path) -> None:
    done = verify("--max-examples", "0", cwd=tmp_path)
    assert done.returncode == 2
    assert "connectors-mock verify: error: argument --max-examples: '0' is not a whole number" in done.stderr


def test_a_failure_names_its_operation_and_each_cause_is_reported_once(tmp_path: Path) -> None:
    no_request_id = next(mutant for mutant in MUTANTS if mutant.name == "no-request-id")
    report = tmp_path / "contract.xml"
    selection = ("-k", "test_operation and sync or delete_is_final", f"--junitxml={report}")
    with running(no_request_id.build()) as url:
        keys = ("--api-key", SUITE_KEYS[0], "--api-key-b", SUITE_KEYS[1])
        done = verify(url, *keys, "--max-examples", "2", "--", *selection, cwd=tmp_path)
    output = done.stdout
    assert done.returncode == 1, output + done.stderr
    assert "[100%]" in output
    sync_operations = ("POST /v1/connectors/{id}/sync", "GET /v1/connectors/{id}/sync/{jobId}")
    for operation in sync_operations:
        assert f"FAILED test_schema.py::test_operation[{operation}]" in output
    # Five failed tests, one defect: the section says it once, with every operation it hit.
    causes = output.split(" contract failures by cause ")[1].split(" connectors-mock contract suite ")[0]
    assert causes.count("Custom check failed: `request_id_in_meta`: The response has no `meta.requestId`") == 1
    # Each sync operation's two tests, and test_delete_is_final, which fails at its first 404, a
    # get of the deleted connector.
    assert "3 operations, in 5 tests: POST /v1/connectors/{id}/sync," in causes
    assert "GET /v1/connectors/{id}\n" in causes
    assert all(operation in causes for operation in sync_operations)
    testcases = ElementTree.parse(report).iter("testcase")  # noqa: S314 (written by this test's own run)
    named = {case.get("name"): case for case in testcases}
    case = named[f"test_operation[{sync_operations[0]}]"]
    properties = {(p.get("name"), p.get("value")) for p in case.iter("property")}
    assert ("operation", sync_operations[0]) in properties
    assert any(name == "failure" and "request_id_in_meta" in str(value) for name, value in properties)
    assert list(tmp_path.iterdir()) == [report]


def test_verify_shows_why_a_test_was_skipped(tmp_path: Path) -> None:
    with running(unbroken()) as url:
        done = verify(url, "--api-key", SUITE_KEYS[0], "--", *WITHOUT_SCHEMA_TESTS, "-k", "another_team", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SKIPPED [1] " in done.stdout
    assert "give --api-key-b (a key of another team) to check tenant isolation" in done.stdout


def test_two_workers_share_a_server_without_touching_each_others_connectors(
    run_suite: Callable[..., SuiteRun],
) -> None:
    with running(unbroken()) as url:
        before = {key: connectors_of(url, key) for key in SUITE_KEYS}
        run = run_suite(url, "-n", "2", *WITHOUT_SCHEMA_TESTS, "--max-examples", "3", "-k", "connectors or sync")
        assert run.returncode == 0, run.output
        after = {key: connectors_of(url, key) for key in SUITE_KEYS}
    prefixes = set(re.findall(r"cmk-contract-[0-9a-f]+-\*", run.output))
    assert len(prefixes) == 2, run.output
    assert after == before


def test_without_a_url_each_worker_judges_a_fake_of_its_own(tmp_path: Path) -> None:
    here, temporary = tmp_path / "here", tmp_path / "tmp"
    here.mkdir()
    temporary.mkdir()
    done = verify("--workers", "2", "--max-examples", "2", "--", "-k", "oauth", cwd=here, temporary=temporary)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "13 passed" in done.stdout
    [servers] = [line for line in done.stdout.splitlines() if line.startswith("servers, one per xdist worker: ")]
    assert len(set(re.findall(r"http://127\.0\.0\.1:\d+ \(the fake, in-process\)", servers))) == 2
    # Each worker's hypothesis caches, and verify's folder, are gone with the run.
    assert list(here.iterdir()) == []
    assert list(temporary.iterdir()) == []


def test_the_suite_runs_its_longest_tests_first(tmp_path: Path) -> None:
    done = verify("--", "--collect-only", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    names = [line.split("::")[1] for line in done.stdout.splitlines() if "::" in line]
    # The stateful phase, then both tests of every operation, then the property tests: xdist
    # hands tests out in this order, so its processes end together, on short tests.
    assert names[0] == "test_stateful"
    schema_tests = [name.startswith("test_operation") for name in names[1:]]
    assert schema_tests == sorted(schema_tests, reverse=True)
    assert schema_tests.count(True) == 18


def test_workers_build_the_connector_configs_coverage_cases_once(tmp_path: Path) -> None:
    # Their arrays of 500 distinct items take seconds to build, and a process builds them once.
    shared = ("test_operation_coverage[POST /v1/connectors]", "test_operation_coverage[PUT /v1/connectors/{id}]")
    selection = "coverage and (POST or PUT) and not sync and not oauth or test_delete_is_final or oldest_first"
    done = verify("--workers", "2", "--max-examples", "1", "--", "-v", "-k", selection, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    ran = {
        test.split("::")[1]: worker
        for worker, test in re.findall(r"^\[(gw\d+)\] \[ *\d+%\] PASSED (.+?)\s*$", done.stdout, re.MULTILINE)
    }
    assert len(ran) == 4, done.stdout
    assert ran[shared[0]] == ran[shared[1]]
