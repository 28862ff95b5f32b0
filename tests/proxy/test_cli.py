"""`connectors-mock proxy` from the command line: its options, its exit statuses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from connectors_mock.cli import _parser
from connectors_mock.server import running
from tests.conftest import proxying
from tests.contract.mutants import API_KEYS, unbroken


def proxy_once(*args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    """`connectors-mock proxy ARGS`, with `CONNECTORS_MOCK_<NAME>` variables, for one that stops
    at start."""
    environment = {**os.environ, **{f"CONNECTORS_MOCK_{name}": value for name, value in variables.items()}}
    command = [sys.executable, "-m", "connectors_mock", "proxy", *args]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=60, env=environment)


def test_the_upstream_is_required_and_must_be_an_http_url() -> None:
    for args in ([], ["--upstream", "ftp://staging"]):
        done = proxy_once(*args)
        assert done.returncode == 2
        assert "--upstream" in done.stderr


def test_tls_is_verified_unless_told_otherwise() -> None:
    parse = _parser().parse_args
    assert parse(["proxy", "--upstream", "https://staging.example.com"]).insecure is False
    assert parse(["proxy", "--upstream", "https://staging.example.com", "--insecure"]).insecure is True


def test_without_a_violation_fail_on_violation_still_exits_0(tmp_path: Path) -> None:
    with running(unbroken()) as upstream, proxying(upstream, "--fail-on-violation", log=tmp_path / "log") as proxy:
        answer = httpx.get(f"{proxy.url}/v1/connectors", headers={"Authorization": f"Bearer {API_KEYS[0]}"})
        assert answer.status_code == 200
        assert proxy.stop() == 0
    assert "1 exchange judged, 0 contract violations" in proxy.output


def test_a_clients_violation_fails_the_run(tmp_path: Path) -> None:
    with running(unbroken()) as upstream, proxying(upstream, "--fail-on-violation", log=tmp_path / "log") as proxy:
        assert httpx.get(f"{proxy.url}/v1/connectors").status_code == 401
        assert proxy.stop() == 1
    assert "contract violation (request, authorized): listConnectors" in proxy.output
    assert "1 request" in proxy.output


def test_a_busy_port_is_reported_plainly() -> None:
    with running(unbroken()) as upstream:
        port = upstream.rsplit(":", 1)[1]
        done = proxy_once("--upstream", upstream, "--port", port)
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "forwarding" not in done.stdout


def test_options_come_from_the_environment_as_serves_do(tmp_path: Path) -> None:
    environment = {"CONNECTORS_MOCK_FAIL_ON_VIOLATION": "yes"}
    with running(unbroken()) as upstream, proxying(upstream, log=tmp_path / "log", env=environment) as proxy:
        assert httpx.get(f"{proxy.url}/v1/connectors").status_code == 401
        assert proxy.stop() == 1
    with running(unbroken()) as upstream:
        # The upstream, required on the command line, may come from the environment too.
        port = upstream.rsplit(":", 1)[1]
        done = proxy_once(UPSTREAM=upstream, PORT=port)
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    wrong = proxy_once(UPSTREAM="ftp://staging")
    assert wrong.returncode == 2
    assert "CONNECTORS_MOCK_UPSTREAM='ftp://staging'" in wrong.stderr
