"""The README's curl walkthrough is real: every `$ curl` line in a ```console block runs, in
order, against `connectors-mock serve --seed 1`, and must print exactly what the README shows.

After a deliberate change of behaviour, `UPDATE_README=1 pytest tests/test_readme.py`
rewrites the shown output from a real run; review the diff before committing it.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

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
    blocks = [m for m in BLOCK.finditer(text) if m.group(1).startswith("$ curl")]
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
                if result.stdout != expected:
                    mismatches.append(f"$ {command}\n--- README\n{expected}--- actual\n{result.stdout}{result.stderr}")
                rendered.append(f"$ {command}\n{result.stdout}")
            updated.append(text[position : match.start(1)] + "".join(rendered))
            position = match.end(1)
    if os.environ.get("UPDATE_README") == "1":
        README.write_text("".join(updated) + text[position:], encoding="utf-8")
        return
    assert not mismatches, "\n\n".join(mismatches)
