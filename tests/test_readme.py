"""The README's curl walkthrough is real: every `$ ` line in a ```console block runs, in order,
against `connectors-mock serve --seed 1`, and must print exactly what the README shows (with
the server's address written as the README's, 127.0.0.1:8080).

After a deliberate change of behaviour, `UPDATE_README=1 pytest tests/test_readme.py`
rewrites the shown output from a real run; review the diff before committing it.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from connectors_mock.jobs import SyncScript, job_state
from tests.test_cli import serving

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"^```console\n(.*?)^```\n", re.MULTILINE | re.DOTALL)
DOCUMENTED_ADDRESS = "127.0.0.1:8080"


def commands_and_outputs(block: str) -> list[tuple[str, str]]:
    """Split a console block into ($ command, what it printed) pairs."""
    pairs: list[tuple[str, str]] = []
    for chunk in re.split(r"^\$ ", block, flags=re.MULTILINE)[1:]:
        command, _, output = chunk.partition("\n")
        pairs.append((command, output))
    return pairs


def test_the_curl_walkthrough_prints_what_the_readme_shows() -> None:
    text = README.read_text(encoding="utf-8")
    blocks = [m for m in BLOCK.finditer(text) if m.group(1).startswith("$ ")]
    assert len(blocks) >= 10, "the walkthrough covers every example of the reference"
    updated, position, mismatches = [], 0, []
    with serving("--seed", "1") as (_, url):
        address = url.removeprefix("http://")
        for match in blocks:
            rendered = []
            for command, expected in commands_and_outputs(match.group(1)):
                result = subprocess.run(
                    ["bash", "-c", command.replace(DOCUMENTED_ADDRESS, address)],
                    capture_output=True,
                    text=True,
                    timeout=30,
                    check=False,
                )
                printed = result.stdout.replace(address, DOCUMENTED_ADDRESS)
                if printed != expected:
                    mismatches.append(f"$ {command}\n--- README\n{expected}--- actual\n{printed}{result.stderr}")
                rendered.append(f"$ {command}\n{printed}")
            updated.append(text[position : match.start(1)] + "".join(rendered))
            position = match.end(1)
    if os.environ.get("UPDATE_README") == "1":
        README.write_text("".join(updated) + text[position:], encoding="utf-8")
        return
    assert not mismatches, "\n\n".join(mismatches)


def test_the_real_clock_polling_loop_ends_with_the_completed_job() -> None:
    text = README.read_text(encoding="utf-8")
    [loop] = [m.group(1) for m in re.finditer(r"^```sh\n(# poll a sync until it ends\n.*?)^```\n", text, re.M | re.S)]
    with serving() as (_, url):
        result = subprocess.run(
            ["bash", "-c", loop.replace(DOCUMENTED_ADDRESS, url.removeprefix("http://"))],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    lines = result.stdout.splitlines()
    assert lines[-1].startswith("completed ")
    assert len(set(lines)) >= 3, lines


def table_row(text: str, heading: str) -> list[str]:
    """The cells after the first of the README table row that starts with `heading`."""
    match = re.search(rf"^\| {re.escape(heading)}.*$", text, re.MULTILINE)
    assert match, f"no table row {heading!r} in the README"
    return [cell.strip() for cell in match.group(0).split("|")[2:-1]]


def test_the_timeline_table_is_the_default_scripts() -> None:
    text = README.read_text(encoding="utf-8")
    times = table_row(text, "time since trigger (default script)")
    statuses = table_row(text, "status")
    counts = table_row(text, "collected / parsed / indexed")
    script = SyncScript(total=1000)
    for time, status, count in zip(times, statuses, counts, strict=True):
        state = job_state(script, float(time.removesuffix(" on").removesuffix(" s")))
        assert state.status == status
        assert count == " / ".join(str(n) for n in state.progress.to_json().values())
