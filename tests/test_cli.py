"""`connectors-mock serve` as a person or a test suite starts it: a real process on a port."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from connectors_mock import resources

CONSOLE_SCRIPT = Path(sys.executable).parent / "connectors-mock"


@contextmanager
def serving(
    *args: str,
    command: tuple[str, ...] = (sys.executable, "-m", "connectors_mock"),
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Start `serve` on a free port; yield the process and the URL it printed."""
    process = subprocess.Popen(
        [*command, "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=env,
    )
    try:
        assert process.stdout is not None
        assert process.stderr is not None
        line = process.stdout.readline().strip()
        if not line.startswith("connectors-mock listening on http://"):
            process.kill()
            pytest.fail(f"serve did not start: {line!r} {process.stderr.read()}")
        yield process, line.rsplit(" ", 1)[1]
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def serve_once(*args: str) -> subprocess.CompletedProcess[str]:
    """Run `serve` that is expected to refuse to start; its exit status and output."""
    return subprocess.run(
        [sys.executable, "-m", "connectors_mock", "serve", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def get(url: str, token: str = "k") -> tuple[int, dict[str, Any]]:
    return call("GET", url, token)


def call(method: str, url: str, token: str = "k", body: object = None) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else {}
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_its_url_answers_and_stops_cleanly(stop: signal.Signals) -> None:
    with serving() as (process, url):
        assert url.startswith("http://127.0.0.1:")
        status, body = get(f"{url}/v1/connectors/conn_abc123")
        assert status == 200
        assert body["data"]["name"] == "Engineering Confluence"
        process.send_signal(stop)
        assert process.wait(timeout=10) == 0
        assert process.stdout is not None
        assert process.stderr is not None
        assert process.stdout.read() == ""
        assert "Traceback" not in process.stderr.read()


def test_the_console_script_works_like_python_m() -> None:
    with serving(command=(str(CONSOLE_SCRIPT),)) as (process, url):
        assert get(f"{url}/v1/connectors")[0] == 200
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_api_keys_restrict_who_may_call() -> None:
    with serving("--api-key", "sk_one", "--api-key", "sk_two") as (_, url):
        assert get(f"{url}/v1/connectors", token="sk_two")[0] == 200
        status, body = get(f"{url}/v1/connectors", token="sk_three")
        assert status == 401
        assert body["error"]["message"] == "Invalid API key"


def test_the_seed_repeats_across_runs() -> None:
    def first_run_output() -> list[object]:
        with serving("--seed", "99") as (_, url):
            return [get(f"{url}/v1/connectors")[1]["data"], get(f"{url}/v1/connectors")[1]["meta"]]

    assert first_run_output() == first_run_output()


def test_a_bad_fixture_file_stops_start_up_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("collections: [col_a]\nconnectors:\n  - {type: ftp, collection: col_a}\n")
    result = serve_once("--fixtures", str(path))
    assert result.returncode == 2
    assert f"{path}: $.connectors[0].type: unknown type 'ftp'" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_busy_port_is_reported_plainly() -> None:
    with serving() as (_, url):
        port = url.rsplit(":", 1)[1]
        result = serve_once("--port", port)
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_a_port_out_of_range_is_a_usage_error() -> None:
    result = serve_once("--port", "99999")
    assert result.returncode == 2
    assert "99999 is not a port (0-65535)" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_real_clock_at_speed_runs_a_sync_to_completion_on_its_own() -> None:
    with serving("--clock", "real", "--speed", "20") as (_, url):
        status, triggered = call("POST", f"{url}/v1/connectors/conn_abc123/sync")
        assert status == 202
        status_url = f"{url}/v1/connectors/conn_abc123/sync/{triggered['data']['jobId']}"
        deadline = time.monotonic() + 30
        while get(status_url)[1]["data"]["status"] != "completed":
            assert time.monotonic() < deadline, "a 5-second job at speed 20 should end well within 30 s"
            time.sleep(0.05)
        assert get(f"{url}/v1/connectors/conn_abc123")[1]["data"]["status"] == "active"


def test_a_seed_makes_the_clock_manual_unless_told_otherwise() -> None:
    with serving("--seed", "1") as (_, url):
        assert get(f"{url}/_mock/clock")[1]["data"] == {
            "mode": "manual",
            "speed": 1.0,
            "now": "2025-01-01T00:00:00Z",
        }
        assert call("POST", f"{url}/_mock/clock/advance", body={"seconds": 60})[0] == 200
        assert get(f"{url}/_mock/clock")[1]["data"]["now"] == "2025-01-01T00:01:00Z"
    with serving("--seed", "1", "--clock", "real") as (_, url):
        assert get(f"{url}/_mock/clock")[1]["data"]["mode"] == "real"


@pytest.mark.parametrize("speed", ["0", "-2", "fast", "1e9", "nan"])
def test_a_speed_that_is_not_a_positive_number_is_a_usage_error(speed: str) -> None:
    result = serve_once("--speed", speed)
    assert result.returncode == 2
    assert "is not a" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_speed_for_a_manual_clock_is_a_usage_error() -> None:
    result = serve_once("--seed", "1", "--speed", "10")
    assert result.returncode == 2
    assert "--speed sets how fast a real clock runs" in result.stderr


def test_the_access_log_shows_paths_without_their_query() -> None:
    with serving("--access-log", "--seed", "1") as (process, url):
        with pytest.raises(urllib.error.HTTPError):  # an unknown state: an HTML page saying so
            urllib.request.urlopen(f"{url}/_mock/oauth/callback?code=code_secret123&state=st_x", timeout=5)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    assert "GET /_mock/oauth/callback HTTP/1.1" in out + err
    assert "code_secret123" not in out + err


def test_a_public_url_must_be_a_plain_http_url() -> None:
    result = serve_once("--public-url", "localhost:8080")
    assert result.returncode == 2
    assert "is not an http(s) URL" in result.stderr


def check_scenario(*paths: Path | str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CONSOLE_SCRIPT), "check-scenario", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


BAD_SCENARIO = "name: Bad\nfaults:\n  - error: {status: 99}\n"
BAD_PROBLEMS = [
    '{path}:1: $.name: "Bad" does not match ^[a-z0-9][a-z0-9._-]{{0,63}}$',
    "{path}:3: $.faults[0].error.status: 99 is less than the minimum of 400",
]


def test_check_scenario_passes_the_examples_and_lists_every_problem_of_a_bad_file(tmp_path: Path) -> None:
    examples = sorted(resources.scenarios_dir().glob("*.yaml"))
    good = check_scenario(*examples)
    assert good.returncode == 0
    assert good.stdout.splitlines() == [f"{path}: OK ({path.stem})" for path in examples]
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_SCENARIO)
    result = check_scenario(examples[0], bad, tmp_path / "missing.yaml")
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{examples[0]}: OK ({examples[0].stem})",
        *(line.format(path=bad) for line in BAD_PROBLEMS),
        f"{tmp_path / 'missing.yaml'}: $: cannot be read: No such file or directory",
    ]
    assert "3 problems found" in result.stderr


@pytest.mark.parametrize("option", ["--api-key", "--admin-token"])
@pytest.mark.parametrize("value", ["", " padded ", "s\u00e9cret"])
def test_a_key_no_client_could_send_is_a_usage_error(option: str, value: str) -> None:
    result = serve_once(option, value)
    assert result.returncode == 2
    assert "cannot be sent in a header" in result.stderr


def test_serve_refuses_an_invalid_scenario_with_the_same_problems(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_SCENARIO)
    result = serve_once("--scenario", str(bad))
    assert result.returncode == 2
    for line in BAD_PROBLEMS:
        assert line.format(path=bad) in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_applies_scenarios_in_order_with_their_clock_and_seed(tmp_path: Path) -> None:
    pace = tmp_path / "pace.yaml"
    pace.write_text("name: pace\nseed: 4\nclock: {mode: manual}\nfaults:\n  - error: {status: 500}\n")
    outage = resources.scenarios_dir() / "outage.yaml"
    # A bare name is a shipped example: an installed wheel has no scenarios/ folder to point at.
    with serving("--scenario", str(pace), "--scenario", "outage") as (_, url):
        assert get(f"{url}/_mock/clock")[1]["data"]["now"] == "2025-01-01T00:00:00Z", "the scenario's seed and clock"
        status, body = get(f"{url}/v1/connectors")
        assert (status, body["error"]["code"]) == (503, "service_unavailable"), "the later file wins"
        scenarios = get(f"{url}/_mock/scenarios")[1]["data"]
        assert [(s["name"], s["active"], s["source"]) for s in scenarios] == [
            ("pace", True, str(pace)),
            ("outage", True, str(outage)),
        ]


def test_an_admin_token_guards_mock_from_the_command_line() -> None:
    with serving("--admin-token", "t0p") as (_, url):
        request = urllib.request.Request(f"{url}/_mock/clock", headers={"X-Mock-Admin-Token": "t0p"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{url}/_mock/clock", timeout=5)
        assert refused.value.code == 401


def unanswered(url: str) -> None:
    """A GET the server ends without an answer (it stops while the request waits)."""
    with pytest.raises(http.client.RemoteDisconnected):
        get(url)


def test_a_stop_during_a_scenarios_latency_is_quick_and_quiet(tmp_path: Path) -> None:
    """SIGTERM during scenario latency once logged a CancelledError traceback."""
    slow = tmp_path / "slow.yaml"
    slow.write_text("name: slow\nfaults:\n  - latency: {ms: 60000}\n")
    with serving("--scenario", str(slow)) as (process, url):
        waiting = threading.Thread(target=unanswered, args=(f"{url}/v1/connectors",))
        waiting.start()
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        waiting.join(10)
        assert process.stderr is not None
        assert process.stderr.read() == ""


def test_a_deeply_nested_scenario_gets_its_problem_not_a_traceback(tmp_path: Path) -> None:
    """Nesting near depth 1000 once printed a traceback instead of the problem list."""
    deep = tmp_path / "deep.yaml"
    deep.write_text("name: deep\nfaults:\n  - error: {status: 503, body: " + "[" * 990 + "]" * 990 + "}\n")
    result = check_scenario(deep)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [f"{deep}:3: $: nests deeper than 32 levels here"]
    started = serve_once("--scenario", str(deep))
    assert started.returncode == 2
    assert f"{deep}:3: $: nests deeper than 32 levels here" in started.stderr
    assert "Traceback" not in started.stderr


def test_the_rate_limit_plan_is_reported_enforced_on_request_or_off() -> None:
    def limit_header(url: str) -> str | None:
        request = urllib.request.Request(f"{url}/v1/connectors", headers={"Authorization": "Bearer k"})
        with urllib.request.urlopen(request, timeout=5) as response:
            value: str | None = response.headers.get("X-RateLimit-Limit")
            return value

    with serving() as (_, url):
        assert limit_header(url) == "3000"
    with serving("--rate-limit", "off") as (_, url):
        assert limit_header(url) is None
    with serving("--rate-limit", "2/60", "--enforce-rate-limit") as (_, url):
        assert [get(f"{url}/v1/connectors")[0] for _ in range(3)] == [200, 200, 429]


@pytest.mark.parametrize("value", ["3000", "0/60", "5/0", "5/x", "five/60", "5/86401"])
def test_a_rate_limit_that_is_no_plan_is_a_usage_error(value: str) -> None:
    result = serve_once("--rate-limit", value)
    assert result.returncode == 2
    assert "is not a plan such as 3000/60" in result.stderr


def test_enforcing_no_plan_is_refused() -> None:
    result = serve_once("--rate-limit", "off", "--enforce-rate-limit")
    assert result.returncode == 2
    assert "--enforce-rate-limit needs a plan" in result.stderr


def environment(**variables: str) -> dict[str, str]:
    return {**os.environ, **{f"CONNECTORS_MOCK_{name}": value for name, value in variables.items()}}


def test_options_come_from_the_environment_and_a_flag_wins(tmp_path: Path) -> None:
    env = environment(SEED="1", API_KEYS="env-a, env-b", RATE_LIMIT="10/60", ACCESS_LOG="yes")
    with serving(env=env) as (_, url):
        assert get(f"{url}/_mock/clock")[1]["data"]["now"] == "2025-01-01T00:00:00Z"
        assert get(f"{url}/v1/connectors", "env-b")[0] == 200
        assert get(f"{url}/v1/connectors", "other")[0] == 401
        with urllib.request.urlopen(
            urllib.request.Request(f"{url}/v1/connectors", headers={"Authorization": "Bearer env-a"}), timeout=5
        ) as answer:
            assert answer.headers["X-RateLimit-Limit"] == "10"
    with serving("--api-key", "flag-c", "--rate-limit", "off", env=env) as (_, url):
        assert get(f"{url}/v1/connectors", "flag-c")[0] == 200
        assert get(f"{url}/v1/connectors", "env-a")[0] == 401, "the flag's keys replace the environment's"


def test_a_wrong_environment_value_names_its_variable() -> None:
    for name, value, problem in (
        ("PORT", "eighty", "CONNECTORS_MOCK_PORT='eighty'"),
        ("CLOCK", "sundial", "'sundial' is not one of real, manual"),
        ("WATCH", "perhaps", "CONNECTORS_MOCK_WATCH='perhaps': say 1, true, yes, on or 0, false, no, off"),
    ):
        result = subprocess.run(
            [sys.executable, "-m", "connectors_mock", "serve"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            env=environment(**{name: value}),
        )
        assert result.returncode == 2
        assert problem in result.stderr


def test_a_wrong_value_stops_only_the_command_it_belongs_to() -> None:
    def run(*args: str, **variables: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "connectors_mock", *args]
        variables = environment(**variables)
        return subprocess.run(command, capture_output=True, text=True, timeout=30, check=False, env=variables)

    # serve has no --upstream, proxy no --seed, and neither variable is verify's.
    assert run("serve", "--help", UPSTREAM="ftp://staging").returncode == 0
    assert run("proxy", "--help", SEED="abc").returncode == 0
    assert run("verify", "--help", PORT="abc", SEED="abc").returncode == 0
    # A variable both share is blamed on the command that runs, and a flag overrides it.
    refused = run("proxy", "--upstream", "http://127.0.0.1:9", PORT="abc")
    assert refused.returncode == 2
    assert "connectors-mock proxy: error: CONNECTORS_MOCK_PORT='abc': 'abc' is not a port (0-65535)" in refused.stderr
    overridden = run("serve", "--port", "99999", PORT="abc")
    assert overridden.returncode == 2
    assert "argument --port: 99999 is not a port" in overridden.stderr


@pytest.mark.parametrize(("command", "at_least"), [("serve", 20), ("proxy", 12)])
def test_help_names_the_variable_of_every_option(command: str, at_least: int) -> None:
    from connectors_mock.cli import _parser, environment_variable  # noqa: PLC0415

    commands = next(action for action in _parser()._actions if isinstance(action, argparse._SubParsersAction))
    actions = commands.choices[command]._actions
    options = [action for action in actions if action.option_strings and action.dest != "help"]
    assert len(options) >= at_least
    shown = subprocess.run(
        [sys.executable, "-m", "connectors_mock", command, "--help"], capture_output=True, text=True, check=True
    ).stdout
    for action in options:
        assert f"[env: {environment_variable(action)}]" in " ".join(shown.split()), action.dest


def test_keys_and_the_admin_token_from_files_stay_out_of_the_process_list(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("# the team's keys\nfile-key-one\n\n  file-key-two  \n")
    token = tmp_path / "token"
    token.write_text("file-admin-token\n")
    with serving("--api-key-file", str(keys), "--admin-token-file", str(token)) as (process, url):
        assert get(f"{url}/v1/connectors", "file-key-two")[0] == 200
        assert get(f"{url}/v1/connectors", "other")[0] == 401
        assert get(f"{url}/_mock/clock")[0] == 401
        request = urllib.request.Request(f"{url}/_mock/clock", headers={"X-Mock-Admin-Token": "file-admin-token"})
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert answer.status == 200
        command_line = Path(f"/proc/{process.pid}/cmdline").read_bytes()
        assert b"file-key" not in command_line
        assert b"file-admin-token" not in command_line
    keys.write_text("ok-key\nclé-secrète\n")
    result = serve_once("--api-key-file", str(keys))
    assert result.returncode == 2
    assert f"{keys}: entry 2 cannot be sent in a header" in result.stderr
    assert "secrète" not in result.stderr, "a secret is not quoted back"
    result = serve_once("--api-key-file", str(tmp_path / "missing"))
    assert result.returncode == 2
    assert f"cannot read the API key file {tmp_path / 'missing'}" in result.stderr
