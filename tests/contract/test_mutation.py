"""Proof that the suite has teeth: it passes the fake and fails each broken server, each the
fake with one realistic defect (`mutants.py`). Prints the mutation score."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from connectors_mock.server import running
from tests.contract.conftest import WITHOUT_SCHEMA_TESTS, SuiteRun, left_behind
from tests.contract.mutants import MUTANTS, Mutant, unbroken

# Small and stopping at the first failure: enough to catch each defect, quick enough for CI.
MUTANT_RUN = ("--max-examples", "10", "--job-timeout", "5", "-x")


def test_the_suite_passes_the_fake_and_leaves_nothing_behind(run_suite: Callable[..., SuiteRun]) -> None:
    with running(unbroken()) as url:
        run = run_suite(url, "--max-examples", "10")
        assert run.returncode == 0, run.output
        assert "created " in run.output
        assert left_behind(url) == []


def test_the_suite_fails_every_broken_server(
    run_suite: Callable[..., SuiteRun], capsys: pytest.CaptureFixture[str]
) -> None:
    def judge(mutant: Mutant) -> SuiteRun:
        # The property tests first, as they are quick to build; only a server they pass meets
        # the schema tests too, so the score is the whole suite's.
        with running(mutant.build()) as url:
            run = run_suite(url, *WITHOUT_SCHEMA_TESTS, *MUTANT_RUN)
        if run.returncode != 0:
            return run
        with running(mutant.build()) as url:
            return run_suite(url, *MUTANT_RUN)

    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = dict(zip(MUTANTS, pool.map(judge, MUTANTS), strict=True))
    killed = [mutant for mutant, run in runs.items() if run.returncode == 1]
    with capsys.disabled():
        print(f"\nmutation score: {len(killed)}/{len(MUTANTS)} broken servers caught")
        for mutant, run in runs.items():
            verdict = f"caught by {run.first_failure}" if mutant in killed else f"SURVIVED (exit {run.returncode})"
            print(f"  {mutant.name:<28} {run.seconds:5.1f} s  {verdict}")
    survivors = {mutant.name: run.output[-3000:] for mutant, run in runs.items() if mutant not in killed}
    assert not survivors, survivors
