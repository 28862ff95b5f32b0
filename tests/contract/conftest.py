"""The contract suite, run as its users run it: a pytest process of its own, judging a server
that this test process serves on a real socket (`server.running`)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest

from connectors_mock import contract
from tests.contract.mutants import API_KEYS

SUITE_KEYS = API_KEYS
PREFIX = "cmk-contract-"
# The schema tests build and send every operation's cases (the connector configs' take about
# 5 s of CPU alone); runs that test something else leave them out.
WITHOUT_SCHEMA_TESTS = ("--ignore", str(Path(contract.__file__).with_name("test_schema.py")))


@dataclass(frozen=True)
class SuiteRun:
    returncode: int
    output: str
    seconds: float

    @property
    def first_failure(self) -> str:
        """The test that failed first, as pytest's summary names it."""
        for line in self.output.splitlines():
            if line.startswith(("FAILED ", "ERROR ")):
                return line.split(" - ")[0].split(" ", 1)[1]
        return ""


def suite_command(url: str | None, *args: str) -> list[str]:
    command = [sys.executable, "-m", "pytest", "--pyargs", "connectors_mock.contract", "-p", "no:cacheprovider"]
    if url is not None:
        command += ["--base-url", url, "--api-key", SUITE_KEYS[0], "--api-key-b", SUITE_KEYS[1]]
    return [*command, "-q", *args]


def suite_environment() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith("CONNECTORS_")}


@pytest.fixture
def run_suite(tmp_path: Path) -> Callable[..., SuiteRun]:
    """Run the suite against `url` (None: the in-process fake) from an empty directory."""

    def run(url: str | None, *args: str, timeout: float = 900) -> SuiteRun:
        started = time.monotonic()
        done = subprocess.run(
            suite_command(url, *args),
            cwd=tmp_path,
            env=suite_environment(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return SuiteRun(done.returncode, done.stdout + done.stderr, time.monotonic() - started)

    return run


def connectors_of(url: str, key: str) -> list[dict[str, Any]]:
    answer = httpx2.get(f"{url}/v1/connectors", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200
    connectors: list[dict[str, Any]] = answer.json()["data"]
    return connectors


def left_behind(url: str) -> list[str]:
    """Connectors the suite created (by their prefix) still on the server, for either key."""
    return [c["name"] for key in SUITE_KEYS for c in connectors_of(url, key) if c["name"].startswith(PREFIX)]
