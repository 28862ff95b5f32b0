"""The proxy judged by the contract suite's own yardsticks: the whole suite, run through the
proxy in front of the fake, shows no violation on the service's side; in front of each of the
suite's broken servers (`tests/contract/mutants.py`), the proxy sees the defect itself, as the
violation it exists for, and `--fail-on-violation` makes it exit 1."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors_mock.proxy.violations import counted
from connectors_mock.server import running
from tests.conftest import proxying
from tests.contract.conftest import WITHOUT_SCHEMA_TESTS, suite_command, suite_environment
from tests.contract.mutants import MUTANTS, Mutant, unbroken

# Each defect, and the checks of the proxy that name it (contract/checks.py, proxy/judge.py,
# proxy/memory.py).
DEFECTS: dict[str, set[str]] = {
    "no-rate-limit-headers": {"rate_limit_reported"},
    "leaks-credentials": {"credentials_never_returned", "response_schema"},
    "keeps-deleted": {"deleted_stays_deleted"},
    "progress-goes-backwards": {"sync_progress_never_goes_back"},
    "counters-out-of-order": {"sync_progress_ordered"},
    "create-returns-200": {"status_documented"},
    "accepts-invalid-bodies": {"refuses_invalid_requests"},
    "ignores-auth": {"requires_auth", "refuses_invalid_requests"},
    "non-ascii-500": {"not_a_server_error"},
    "wrong-content-type": {"content_type"},
    "put-not-applied": {"reads_back_as_written"},
    "update-drops-config": {"updated_as_sent"},
    "jobs-never-finish": {"jobs_end"},
    "last-sync-not-set": {"connector_shows_its_last_sync"},
    "tenants-see-each-other": {"teams_see_only_their_own"},
    "no-request-id": {"request_id_in_meta"},
    "undocumented-error-code": {"error_envelope", "response_schema"},
    "authorize-accepts-any-type": {"contract_rules"},
    "sync-not-exclusive": {"one_sync_at_a_time"},
    "list-newest-first": {"contract_rules"},
}
# Only the suite's own reasoning tells these: a state the proxy never saw issued may have been
# issued before it started (or be a standing consent of the fake), so traffic alone cannot say.
NOT_PASSIVE = {"oauth-accepts-unknown-state"}
MUTANT_RUN = ("--max-examples", "10", "--job-timeout", "5")
PROXY_OPTIONS = ("--job-timeout", "5", "--max-violations", "100000")


def run_suite(url: str, workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        suite_command(url, *args),
        cwd=workdir,
        env=suite_environment(),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def violations(url: str) -> dict[str, Any]:
    answer = httpx.get(f"{url}/_mock/violations")
    assert answer.status_code == 200
    report: dict[str, Any] = answer.json()["data"]
    return report


def test_the_whole_suite_through_the_proxy_in_front_of_the_fake_finds_the_service_blameless(tmp_path: Path) -> None:
    with running(unbroken()) as upstream, proxying(upstream, *PROXY_OPTIONS, log=tmp_path / "proxy.log") as proxy:
        suite = run_suite(proxy.url, tmp_path, "--max-examples", "10")
        assert suite.returncode == 0, suite.stdout[-3000:]
        report = violations(proxy.url)
        assert proxy.stop() == 0
    assert report["exchanges"] > 1000
    assert report["bySide"]["response"] == 0, [v for v in report["violations"] if v["side"] == "response"][:5]
    assert report["bySide"]["invariant"] == 0, [v for v in report["violations"] if v["side"] == "invariant"][:5]
    # The suite breaks the contract on purpose (negative tests): each such request is the
    # client's violation, and the fake refused every one.
    assert report["bySide"]["request"] > 0
    assert report["dropped"] == 0
    assert {v["status"] // 100 for v in report["violations"]} == {4}
    judged, found = counted(report["exchanges"], "exchange"), counted(report["total"], "contract violation")
    assert f"{judged} judged, {found}" in proxy.output


def judge_mutant(mutant: Mutant, workdir: Path) -> tuple[dict[str, Any], int, str]:
    """The property tests through the proxy (stopping at the suite's first failure); the schema
    tests too if the proxy has not seen the defect yet. The report, the exit status, the log."""
    workdir.mkdir()
    with (
        running(mutant.build()) as upstream,
        proxying(upstream, "--fail-on-violation", *PROXY_OPTIONS, log=workdir / "proxy.log") as proxy,
    ):
        run_suite(proxy.url, workdir, *WITHOUT_SCHEMA_TESTS, *MUTANT_RUN, "-x")
        report = violations(proxy.url)
        if not DEFECTS.get(mutant.name, set()) & set(checks_of(report)):
            run_suite(proxy.url, workdir, *MUTANT_RUN, "-x")
            report = violations(proxy.url)
        return report, proxy.stop(), proxy.output


def checks_of(report: dict[str, Any]) -> dict[str, int]:
    """The service's violations (response and invariant sides), counted by check."""
    counts: dict[str, int] = {}
    for violation in report["violations"]:
        if violation["side"] != "request":
            counts[violation["check"]] = counts.get(violation["check"], 0) + 1
    return counts


def test_every_defect_of_the_suites_broken_servers_shows_as_a_violation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mutants = [mutant for mutant in MUTANTS if mutant.name not in NOT_PASSIVE]
    judge: Callable[[Mutant], tuple[dict[str, Any], int, str]] = lambda m: judge_mutant(m, tmp_path / m.name)  # noqa: E731
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(mutants, pool.map(judge, mutants), strict=True))
    missed = {}
    with capsys.disabled():
        print(f"\nproxy in front of {len(mutants)} broken servers:")
        for mutant, (report, returncode, output) in results.items():
            seen = DEFECTS[mutant.name] & set(checks_of(report))
            print(f"  {mutant.name:<28} exit {returncode}  {', '.join(sorted(seen)) or 'NOT SEEN'}")
            if not seen or returncode != 1 or "contract violation" not in output:
                missed[mutant.name] = (returncode, checks_of(report))
    assert not missed, missed


def test_every_mutant_is_accounted_for() -> None:
    assert set(DEFECTS) | NOT_PASSIVE == {mutant.name for mutant in MUTANTS}
