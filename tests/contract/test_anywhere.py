"""The contract suite runs from anywhere, installed as a user installs it: the built wheel in a
fresh virtual environment, first alone, then with the `contract` extra added by the command
`verify` prints when it is missing. From this checkout (whose tests/conftest.py imports
test-only packages that environment lacks) and from a consumer project whose conftest.py and
pytest configuration would break the suite if they applied, `verify` and
`pytest --pyargs connectors_mock.contract` both pass.

The environment is built once for the module (pip's cache makes it quick after the first run);
each run selects the OAuth tests only, which build no slow cases.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FEW_TESTS = ("--max-examples", "2", "--", "-k", "oauth")

# A project that uses the suite, with what a project has: a pytest configuration of its own
# (other file and function names, options of its own) and conftest.py files that import what
# is not installed here and define hooks and fixtures that would break the suite if they ran.
CONSUMER_PYPROJECT = """\
[tool.pytest.ini_options]
python_files = ["check_*.py"]
python_functions = ["check_*"]
testpaths = ["tests"]
addopts = "--strict-markers -p no:cacheprovider"
"""
CONSUMER_CONFTEST = """\
import pytest

import the_consumers_own_app  # installed in the consumer's environment, not in this one


def pytest_collection_modifyitems(items):
    raise RuntimeError("the consumer's conftest.py was loaded")


@pytest.fixture
def contract_api():
    raise RuntimeError("the consumer's fixture was used")
"""


@dataclass(frozen=True)
class Installed:
    bin: Path
    hint: str
    pytest_hint: str = ""

    def run(self, *command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        environment = {key: value for key, value in os.environ.items() if not key.startswith("CONNECTORS_")}
        environment["PATH"] = f"{self.bin}{os.pathsep}{environment.get('PATH', '')}"
        return subprocess.run(
            [str(self.bin / command[0]), *command[1:]],
            cwd=cwd,
            env=environment,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )


@pytest.fixture(scope="module")
def installed(built_wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The wheel in a fresh venv, then its `contract` extra, installed by running the command
    that `verify` prints without it."""
    venv = tmp_path_factory.mktemp("contract-only") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    bare = Installed(venv / "bin", "")
    installing = bare.run("python", "-m", "pip", "install", "--quiet", str(built_wheel), cwd=venv)
    assert installing.returncode == 0, installing.stderr
    refused = bare.run("connectors-mock", "verify", cwd=venv)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    hint = refused.stderr.strip()
    command = hint.rpartition("): ")[2]
    # pytest alone, as a project's own test environment has it: naming the suite says the same.
    with_pytest = bare.run("python", "-m", "pip", "install", "--quiet", "pytest", cwd=venv)
    assert with_pytest.returncode == 0, with_pytest.stderr
    told = bare.run("python", "-m", "pytest", "--pyargs", "connectors_mock.contract", cwd=venv)
    assert told.returncode == 4, told.stdout + told.stderr
    # The hint, as a user pastes it into a shell from wherever they stand.
    extra = subprocess.run(["bash", "-c", command], cwd=REPO, capture_output=True, text=True, timeout=600, check=False)
    assert extra.returncode == 0, f"{hint}\n{extra.stdout}{extra.stderr}"
    return Installed(venv / "bin", hint, told.stdout + told.stderr)


@pytest.fixture
def consumer(tmp_path: Path) -> Path:
    project = tmp_path / "consumer"
    (project / "tests").mkdir(parents=True)
    (project / "pyproject.toml").write_text(CONSUMER_PYPROJECT)
    (project / "conftest.py").write_text(CONSUMER_CONFTEST)
    (project / "tests" / "conftest.py").write_text(CONSUMER_CONFTEST)
    (project / "tests" / "check_app.py").write_text("def check_app():\n    assert False\n")
    return project


def test_without_the_extra_verify_prints_a_command_that_installs_it(installed: Installed, built_wheel: Path) -> None:
    # Installed from a wheel file: the command names that file, and this environment's pip.
    assert "connectors-mock verify needs the contract extra" in installed.hint
    assert f"{installed.bin / 'python'} -m pip install" in installed.hint
    assert f"{built_wheel}[contract]" in installed.hint


def test_without_the_extra_pytest_says_the_same(installed: Installed, built_wheel: Path) -> None:
    assert "the contract suite needs the contract extra" in installed.pytest_hint
    assert f"{installed.bin / 'python'} -m pip install" in installed.pytest_hint
    assert f"{built_wheel}[contract]" in installed.pytest_hint


def test_verify_runs_from_this_checkout(installed: Installed) -> None:
    done = installed.run("connectors-mock", "verify", *FEW_TESTS, cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    assert " passed" in done.stdout


def test_pytest_pyargs_runs_from_this_checkout(installed: Installed) -> None:
    done = installed.run(
        "python",
        "-m",
        "pytest",
        "--pyargs",
        "connectors_mock.contract",
        "-p",
        "no:cacheprovider",
        "-k",
        "oauth",
        cwd=REPO,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ImportError while loading conftest" not in done.stdout + done.stderr


def test_verify_is_not_changed_by_a_consumer_projects_conftest_or_configuration(
    installed: Installed, consumer: Path
) -> None:
    for where in (consumer, consumer / "tests"):
        done = installed.run("connectors-mock", "verify", *FEW_TESTS, cwd=where)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "13 passed" in done.stdout
    assert sorted(path.name for path in consumer.iterdir()) == ["conftest.py", "pyproject.toml", "tests"]


def test_pytest_pyargs_collects_the_suite_in_a_consumer_project(installed: Installed, consumer: Path) -> None:
    # The consumer's python_files and python_functions would name none of the suite's tests.
    done = installed.run("python", "-m", "pytest", "--pyargs", "connectors_mock.contract", "-k", "oauth", cwd=consumer)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "13 passed" in done.stdout
