"""The README's curl walkthrough is real: every `$ ` line in a ```console block runs, in order,
from the repository's root, against `connectors-mock serve --seed 1`, and must print exactly
what the README shows (with the server's address written as the README's, 127.0.0.1:8080).
Its scenario snippets load, its field table covers the scenario schema, and every example
scenario is shown with a curl line that loads it.

After a deliberate change of behaviour, `UPDATE_README=1 pytest tests/test_readme.py`
rewrites the shown output from a real run; review the diff before committing it.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from connectors_mock import auth, control, errors, inputs, journal, json_text, oauth, resources, server, tenancy
from connectors_mock.jobs import SyncScript, job_state
from connectors_mock.scenarios import loader
from connectors_mock.scenarios.loader import ScenarioError, load_text, schema_document
from connectors_mock.spec import default_spec
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
                    cwd=README.parent,
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


def test_every_scenario_snippet_loads() -> None:
    """A ```yml block that starts with `name:` is a whole scenario, and a valid one. (They are
    `yml`, not `yaml`: the README's one ```yaml block is the fixture example, which
    `test_fixtures` loads.)"""
    text = README.read_text(encoding="utf-8")
    snippets = re.findall(r"^```yml\n(name: .*?)^```\n", text, re.M | re.S)
    assert len(snippets) >= 10, "an example for every feature"
    for snippet in snippets:
        try:
            load_text(snippet.encode(), "README", default_spec())
        except ScenarioError as error:
            raise AssertionError(f"{error}\n\n{snippet}") from None


def schema_fields(schema: dict[str, Any], root: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """Every field of the scenario schema as the README's table names it (`syncs[].fail.at`)."""

    def resolved(node: dict[str, Any]) -> dict[str, Any]:
        return root["$defs"][node["$ref"].removeprefix("#/$defs/")] if "$ref" in node else node

    schema = resolved(schema)
    if schema.get("type") == "array":
        yield from schema_fields(schema["items"], root, prefix + "[]")
        return
    for name, node in schema.get("properties", {}).items():
        path = f"{prefix}.{name}" if prefix else name
        field = resolved(node)
        inner = resolved(field["items"]) if field.get("type") == "array" else field
        if "properties" in inner:
            yield from schema_fields(field, root, path)
        else:
            yield path


def test_the_field_table_names_every_field_of_the_scenario_schema() -> None:
    text = README.read_text(encoding="utf-8")
    table = text[text.index("### Every field") : text.index("### One example per feature")]
    named = set(re.findall(r"^\| `([^`]+)`(?:, `([^`]+)`)?", table, re.M))
    documented = {field for pair in named for field in pair if field}
    schema = schema_document()
    assert set(schema_fields(schema, schema)) <= documented


def test_every_example_scenario_is_loaded_by_a_replayed_curl_line() -> None:
    text = README.read_text(encoding="utf-8")
    replayed = "".join(m.group(1) for m in BLOCK.finditer(text) if m.group(1).startswith("$ "))
    shipped = sorted(path.name for path in resources.scenarios_dir().glob("*.yaml"))
    assert shipped, "the example scenarios ship with the package"
    for name in shipped:
        assert f"--data-binary @scenarios/{name} " in replayed, f"no curl line loads scenarios/{name}"
        assert f"| `{name}` |" in text, f"scenarios/{name} is not in the README's table"
        listing = (README.parent / "scenarios" / "README.md").read_text(encoding="utf-8")
        assert f"| `{name}` |" in listing, f"scenarios/{name} is not in scenarios/README.md"


def test_every_link_within_the_readme_finds_its_heading() -> None:
    text = README.read_text(encoding="utf-8")
    outside_code = re.sub(r"^```.*?^```\n", "", text, flags=re.M | re.S)
    anchors = set()
    for heading in re.findall(r"^#+ (.+)$", outside_code, re.M):
        anchor = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        anchors.add(anchor if anchor not in anchors else f"{anchor}-1")
    for link in re.findall(r"\]\(#([^)]+)\)", outside_code):
        assert link in anchors, f"#{link} is no heading of the README"


def test_the_limits_table_is_what_the_code_enforces() -> None:
    text = README.read_text(encoding="utf-8")
    table = {row[0]: row[1] for row in _table_rows(text, "| limit | value | past it |")}
    assert table == {
        "request body": f"{inputs.MAX_BODY_BYTES // 1024 // 1024} MiB",
        "nesting of a JSON body, a scenario or a state import": f"{json_text.MAX_DEPTH} levels",
        "request target (path and query)": f"{server.MAX_TARGET_BYTES // 1024} KiB",
        "request line and headers": f"{server.MAX_HEAD_BYTES // 1024} KiB",
        "time to send a request head": f"{server.HEAD_TIMEOUT_SECONDS:g} s",
        "time to send a request body": f"{inputs.BODY_TIMEOUT_SECONDS:g} s",
        "API key": f"{auth.MAX_KEY_LENGTH} characters",
        "errors listed in a `422`": str(errors.MAX_FIELD_ERRORS),
        "tenants remembered": f"{tenancy.DEFAULT_MAX_TENANTS:,} (`--max-tenants`)",
        "OAuth flows a tenant holds at once": str(oauth.MAX_FLOWS_PER_TENANT),
        "scenario file": f"{loader.MAX_SCENARIO_BYTES // 1024} KiB",
        "rules of a scenario, of each kind": str(schema_document()["properties"]["faults"]["maxItems"]),
        "scenarios loaded at once": str(control.MAX_LOADED_SCENARIOS),
        "journal": f"{journal.DEFAULT_CAPACITY:,} entries, {journal.DEFAULT_BUDGET // 1024 // 1024} MiB",
    }
    assert schema_document()["properties"]["syncs"]["maxItems"] == schema_document()["properties"]["faults"]["maxItems"]


def _table_rows(text: str, header: str) -> list[list[str]]:
    lines = text[text.index(header) :].splitlines()[2:]
    rows = []
    for line in lines:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows
