"""The example GitHub Actions workflows in `examples/github-actions/`, run here as a runner
would run them: each `run:` step's command through bash, with the workflow's, job's and step's
environment and the `${{ }}` expressions filled in. The `uses:` steps are GitHub's own
(checkout, setup-python, upload-artifact); what they leave behind is made by hand: a checkout
of an SDK project, and a Python in which pip finds connectors-mock and its dependencies
installed already (this checkout's environment, reached through a `.pth` file)."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
import sysconfig
import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import yaml

from connectors_mock.app import Settings, build_app
from connectors_mock.clock import VirtualClock
from connectors_mock.server import running

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / "examples" / "github-actions"
EXPRESSION = re.compile(r"\$\{\{\s*([\w.-]+)\s*\}\}")
SDK_TEST = """\
import example_sdk

S3 = {
    "name": "Reports",
    "type": "s3",
    "collection": "col_abc123",
    "config": {"bucket": "reports-bucket", "region": "us-east-1"},
    "credentials": {"accessKeyId": "AKIA...", "secretAccessKey": "..."},
}


def test_the_sdk_creates_a_connector(connectors_api):
    connector = example_sdk.create_connector(connectors_api.url, connectors_api.headers, S3)
    assert connector["name"] in [c["name"] for c in connectors_api.state()["connectors"]]


def test_each_test_has_a_tenant_of_its_own(connectors_api):
    assert "Reports" not in [c["name"] for c in connectors_api.state()["connectors"]]
"""


def workflow(name: str) -> dict[Any, Any]:
    document: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return document


def run_steps(
    document: dict[Any, Any], job: str, cwd: Path, path: Path, values: Mapping[str, str]
) -> list[subprocess.CompletedProcess[str]]:
    """Every `run:` step of `job` in order, stopping at the first that fails as a runner would."""
    done = []
    for step in document["jobs"][job]["steps"]:
        if "run" not in step:
            continue
        environment = {
            **os.environ,
            "PATH": f"{path}{os.pathsep}{os.environ['PATH']}",
            **fill(document.get("env", {}), values),
            **fill(document["jobs"][job].get("env", {}), values),
            **fill(step.get("env", {}), values),
        }
        environment.pop("VIRTUAL_ENV", None)
        command = EXPRESSION.sub(lambda match: values[match[1]], step["run"])
        result = subprocess.run(
            ["bash", "-e", "-c", command],
            check=False,
            cwd=cwd,
            env=environment,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, f"{step.get('name')}: {command}\n{result.stdout}\n{result.stderr}"
        done.append(result)
    return done


def fill(environment: Mapping[str, Any], values: Mapping[str, str]) -> dict[str, str]:
    return {name: EXPRESSION.sub(lambda match: values[match[1]], str(value)) for name, value in environment.items()}


@pytest.fixture(scope="module")
def runner_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What `actions/setup-python` leaves: a Python with pip on the PATH. This checkout's
    environment, connectors-mock included, is on its path already, so pip finds every
    requirement installed; only the SDK's build backend comes from the index, as on a runner."""
    venv = tmp_path_factory.mktemp("runner") / "python"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    site_packages = next((venv / "lib").glob("python*/site-packages"))
    here = sysconfig.get_paths()["purelib"]
    (site_packages / "checkout-environment.pth").write_text(f"import site; site.addsitedir({here!r})\n")
    # The console script pip writes when it installs the package, which it finds installed.
    (entry_point,) = importlib.metadata.entry_points(group="console_scripts", name="connectors-mock")
    script = venv / "bin" / "connectors-mock"
    script.write_text(
        f"#!{venv / 'bin' / 'python'}\nimport sys\nfrom {entry_point.module} import {entry_point.attr}\n"
        f"sys.exit({entry_point.attr}())\n"
    )
    script.chmod(0o755)
    return venv / "bin"


@pytest.fixture
def quiet_pip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")


@pytest.fixture
def sdk_checkout(tmp_path: Path) -> Path:
    """What `actions/checkout` leaves: an SDK project with a `test` extra and a test that asks
    for the `connectors_api` fixture."""
    (tmp_path / "example_sdk").mkdir()
    (tmp_path / "example_sdk" / "__init__.py").write_text(
        textwrap.dedent('''\
            """A client of the Connectors API, as small as an SDK can be."""
            import httpx


            def create_connector(base_url: str, headers: dict, body: dict) -> dict:
                answer = httpx.post(f"{base_url}/v1/connectors", json=body, headers=headers)
                answer.raise_for_status()
                return answer.json()["data"]
            ''')
    )
    (tmp_path / "pyproject.toml").write_text(
        textwrap.dedent("""\
            [build-system]
            requires = ["setuptools>=64"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "example-sdk"
            version = "0.1"
            dependencies = ["httpx"]

            [project.optional-dependencies]
            test = ["pytest"]

            [tool.setuptools]
            packages = ["example_sdk"]
            """)
    )
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_sdk.py").write_text(SDK_TEST)
    return tmp_path


def test_both_workflows_are_what_github_reads() -> None:
    for name in ("sdk-tests.yml", "contract-staging.yml"):
        document = workflow(name)
        # PyYAML reads the bare key `on` as True, as YAML 1.1 says; GitHub reads it as "on".
        assert document.get(True) or document.get("on"), name
        for job in document["jobs"].values():
            assert job["runs-on"], name
            assert job["steps"], name
            for step in job["steps"]:
                assert ("uses" in step) != ("run" in step), (name, step)


def test_the_sdk_workflow_runs_the_sdks_tests_against_the_fake_on_two_workers(
    runner_python: Path, sdk_checkout: Path, quiet_pip: None
) -> None:
    document = workflow("sdk-tests.yml")
    values = {"matrix.python-version": "3.11"}
    install, tests = run_steps(document, "test", sdk_checkout, runner_python, values)
    assert "Successfully installed example-sdk" in install.stdout
    assert "2 workers" in tests.stdout
    assert re.search(r"\b2 passed\b", tests.stdout), tests.stdout


@pytest.fixture
def staging() -> Iterator[str]:
    """Staging, played by a fake that knows only the two keys the workflow's secrets hold."""
    keys = frozenset({"staging-key-a", "staging-key-b"})
    with running(build_app(Settings(api_keys=keys, clock=VirtualClock("real", 20.0)))) as url:
        yield url


def test_the_contract_workflow_judges_staging_with_the_keys_from_its_secrets(
    runner_python: Path, tmp_path: Path, staging: str, quiet_pip: None
) -> None:
    document = workflow("contract-staging.yml")
    values = {
        "vars.CONNECTORS_STAGING_URL": staging,
        "secrets.CONNECTORS_API_KEY": "staging-key-a",
        "secrets.CONNECTORS_API_KEY_B": "staging-key-b",
    }
    _, verify = run_steps(document, "verify", tmp_path, runner_python, values)
    report = ElementTree.parse(tmp_path / "contract.xml").getroot()  # noqa: S314 (our own report)
    suite = report if report.tag == "testsuite" else report[0]
    assert int(suite.get("tests", "0")) > 0
    assert (suite.get("failures"), suite.get("errors")) == ("0", "0"), verify.stdout
    assert "staging-key" not in verify.stdout + verify.stderr
