"""What the generated clients' tests share: a fake served as `connectors-mock serve` serves
it (seeded, so its clock is manual and a flow moves it), and running a generator."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_cli import serving

# The flows are imported once their client is generated: their asserts should explain themselves too.
pytest.register_assert_rewrite("tests.clients.flows_openapi_python_client", "tests.clients.flows_pydantic")

# The only key the fake takes, so any other is refused with 401 as the real service refuses it.
API_KEY = "sdk-flows"
GUIDE = Path(__file__).parents[2] / "docs" / "testing-sdks.md"
# Where the guide's examples send their requests; the tests send them to their own fake.
DOCUMENTED_URL = "http://127.0.0.1:8080"


def guide_blocks(language: str) -> list[str]:
    """The ```language blocks of the guide's "Generate a client", in order."""
    text = GUIDE.read_text(encoding="utf-8")
    section = text[text.index("## Generate a client") :]
    section = section[: section.index("\n## ")] if "\n## " in section else section
    return re.findall(rf"^```{language}\n(.*?)^```\n", section, re.MULTILINE | re.DOTALL)


def guide_command(tool: str) -> list[str]:
    """The guide's command line that runs `tool`, as arguments."""
    for block in guide_blocks("sh"):
        for line in block.splitlines():
            for command in line.split(" && "):
                argv = shlex.split(command)
                if argv[0] == tool or argv[:2] == ["npx", tool]:
                    return argv[1:] if argv[0] == "npx" else argv
    raise AssertionError(f"the guide does not run {tool}")


def guide_pins(installer: str) -> dict[str, str]:
    """What the guide's `pip install` or `npm install` lines pin: {package: version}."""
    pins = {}
    separator = "==" if installer == "pip" else "@"
    for block in guide_blocks("sh"):
        for line in block.splitlines():
            for command in line.split(" && "):
                argv = shlex.split(command)
                if argv[:2] == [installer, "install"]:
                    for spec in argv[2:]:
                        if not spec.startswith("-"):
                            name, _, version = spec.rpartition(separator)
                            pins[name] = version
    return pins


@pytest.fixture
def fake_url() -> Iterator[str]:
    """A fresh fake per flow: the flows create, rename and delete the reference's examples."""
    with serving("--seed", "1", "--api-key", API_KEY) as (_, url):
        yield url


def run_tool(program: Path | str, *args: str, cwd: Path | None = None) -> str:
    """Run a code generator or compiler; what it printed (stdout and stderr together). It must
    succeed; the venv's own tools (ruff, for openapi-python-client's hooks) are on its PATH."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    result = subprocess.run(
        [str(program), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env={**os.environ, "PATH": path},
    )
    assert result.returncode == 0, f"{program} {' '.join(args)}\n{result.stdout}{result.stderr}"
    return result.stdout + result.stderr
