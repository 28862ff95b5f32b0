"""The ways to run the fake in the background that the README shows (`examples/`), run as
written: the systemd user unit's command and environment, and the Procfile's line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import S3_CREATE
from tests.test_cli import call, get

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
CONSOLE_SCRIPT = Path(sys.executable).parent / "connectors-mock"


def test_the_readme_and_the_guide_show_the_examples() -> None:
    readme = (ROOT / "README.md").read_text()
    guide = (ROOT / "docs" / "running.md").read_text()
    for name in ("connectors-mock.service", "Procfile"):
        assert f"(examples/{name})" in readme, name
        # Included whole when the guide is built (pymdownx.snippets), so never a stale copy.
        assert f'--8<-- "examples/{name}"' in guide, name


def service_section(unit: str) -> list[tuple[str, str]]:
    """The `[Service]` entries in order (a unit may repeat a key, as `Environment=`)."""
    entries, section = [], ""
    for line in unit.splitlines():
        if line.startswith("["):
            section = line
        elif "=" in line and not line.startswith("#") and section == "[Service]":
            key, value = line.split("=", 1)
            entries.append((key, value))
    return entries


def test_the_systemd_user_units_command_serves_and_keeps_its_state(tmp_path: Path) -> None:
    entries = service_section((EXAMPLES / "connectors-mock.service").read_text())
    home, state = tmp_path / "home", tmp_path / "state"
    # What systemd does for a user unit: %h is the home, %S the state directory, which
    # StateDirectory= creates; the package is installed where the README says.
    command = dict(entries)["ExecStart"].replace("%h", str(home)).replace("%S", str(state))
    installed = Path(command.split()[0])
    installed.parent.mkdir(parents=True)
    installed.symlink_to(CONSOLE_SCRIPT)
    (state / dict(entries)["StateDirectory"]).mkdir(parents=True)
    environment = {**os.environ, **dict(value.split("=", 1) for key, value in entries if key == "Environment")}
    # On a free port: another test, or a developer's fake, may hold 8080.
    environment["CONNECTORS_MOCK_PORT"] = "0"
    process = subprocess.Popen(command.split(), env=environment, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        started = json.loads(process.stderr.readline())
        url = started["url"]
        assert call("POST", f"{url}/v1/connectors", body=S3_CREATE)[0] == 201
        assert get(f"{url}/_mock/ready")[1]["data"]["stateFile"] == str(state / "connectors-mock" / "state.json")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
    saved = json.loads((state / "connectors-mock" / "state.json").read_text())
    assert S3_CREATE["name"] in json.dumps(saved)


def test_the_procfile_line_serves_on_the_port_it_is_given(tmp_path: Path) -> None:
    name, line = (EXAMPLES / "Procfile").read_text().strip().split(": ", 1)
    assert name == "fake"
    environment = {**os.environ, "PORT": "0", "PATH": f"{CONSOLE_SCRIPT.parent}{os.pathsep}{os.environ['PATH']}"}
    # As honcho and foreman run a line: by a shell, in the app's directory, with PORT set.
    process = subprocess.Popen(
        ["sh", "-c", f"exec {line}"], cwd=tmp_path, env=environment, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip().rsplit(" ", 1)[1]
        assert get(f"{url}/_mock/health")[1]["data"]["status"] == "alive"
        assert call("POST", f"{url}/v1/connectors", body=S3_CREATE)[0] == 201
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert S3_CREATE["name"] in (tmp_path / ".connectors-mock-state.json").read_text()
