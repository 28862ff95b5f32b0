"""The built wheel carries the contract, the fixtures, the scenarios, and what the pages for
people need (Swagger UI with its licence, the dashboard's files), and runs from any directory
without the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path

from tests.test_cli import call, get, serving


def test_the_wheel_runs_outside_the_checkout(tmp_path: Path, built_wheel: Path) -> None:
    wheel = built_wheel
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {
        "connectors_mock/_data/openapi.yaml",
        "connectors_mock/_data/fixtures/default.yaml",
        "connectors_mock/_data/scenarios/README.md",
        "connectors_mock/_data/scenarios/outage.yaml",
        "connectors_mock/scenarios/scenario.schema.json",
        "connectors_mock/control.openapi.yaml",
        "connectors_mock/contract/schemathesis.toml",
        "connectors_mock/contract/verify.ini",
        "connectors_mock/contract/plugin.py",
        "connectors_mock/contract/test_schema.py",
        "connectors_mock/dashboard.html",
        "connectors_mock/static/dashboard.js",
        "connectors_mock/static/docs.js",
        "connectors_mock/static/page.css",
        # Swagger UI, put in by hatch_build.py from npm's swagger-ui-dist, with its licences.
        "connectors_mock/_viewer/swagger-ui/swagger-ui-bundle.js",
        "connectors_mock/_viewer/swagger-ui/swagger-ui.css",
        "connectors_mock/_viewer/swagger-ui/LICENSE",
        "connectors_mock/_viewer/swagger-ui/NOTICE",
        "connectors_mock/_viewer/swagger-ui/swagger-ui-bundle.js.LICENSE.txt",
    } <= names
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "connectors_mock = connectors_mock.contract.entry" in entry_points
    assert "connectors_mock_fixture = connectors_mock.pytest_plugin" in entry_points
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)],
        check=True,
        timeout=300,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run(
        [sys.executable, "-c", "from connectors_mock import resources; print(resources.spec_path())"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(site)

    # A shipped example by its bare name, as the README has it for an installed package.
    with serving("--scenario", "outage", cwd=elsewhere, env=env) as (_, url):
        status, body = get(f"{url}/v1/connectors/conn_abc123")
        assert (status, body["error"]["code"]) == (503, "service_unavailable")
        assert get(f"{url}/_mock/openapi.json")[0] == 200
        # The docs and the dashboard, from the installed package alone.
        for page in ("/docs", "/_mock/ui", "/_mock/assets/swagger-ui/swagger-ui-bundle.js"):
            with urllib.request.urlopen(f"{url}{page}", timeout=5) as opened:
                assert opened.status == 200, page
        assert call("DELETE", f"{url}/_mock/scenarios")[0] == 204
        status, body = get(f"{url}/v1/connectors/conn_abc123")
    assert status == 200
    assert body["data"]["id"] == "conn_abc123"
