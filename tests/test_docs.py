"""The guide (`docs/`, a MkDocs site) and the README are tested like code.

Every `$ ` line of a ```console block runs, from the repository's root, against a fake the
test starts (`serve --seed 1`), and must print exactly what the page shows (with the server's
address written as the pages write it, 127.0.0.1:8080). The guide's pages replay in the order of
its navigation, on one fake, as a reader who follows them would; the README's tour on a fake of
its own. The guide's tables are checked against what they describe (the scenario schema, the
default sync script, the limits in the code), every command-line option and every `/_mock`
route is documented somewhere, and the site builds with `mkdocs build --strict`.

After a deliberate change of behaviour, `UPDATE_DOCS=1 pytest tests/test_docs.py` rewrites the
shown output from a real run; review the diff before committing it.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors_mock import auth, cli, control, errors, inputs, journal, json_text, oauth, resources, server, tenancy
from connectors_mock.control import control_document
from connectors_mock.jobs import SyncScript, job_state
from connectors_mock.scenarios import loader
from connectors_mock.scenarios.loader import ScenarioError, load_text, schema_document
from connectors_mock.spec import default_spec
from tests.test_cli import serving

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
BLOCK = re.compile(r"^```console\n(.*?)^```\n", re.MULTILINE | re.DOTALL)
DOCUMENTED_ADDRESS = "127.0.0.1:8080"


def guide_pages() -> list[Path]:
    """The guide's Markdown pages, in the order of its navigation (mkdocs.yml)."""
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    names = [next(iter(entry.values())) for entry in config["nav"]]
    return [DOCS / name for name in names if (DOCS / name).exists()]


def page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def guide_text() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in guide_pages())


def commands_and_outputs(block: str) -> list[tuple[str, str]]:
    """Split a console block into ($ command, what it printed) pairs."""
    pairs: list[tuple[str, str]] = []
    for chunk in re.split(r"^\$ ", block, flags=re.MULTILINE)[1:]:
        command, _, output = chunk.partition("\n")
        pairs.append((command, output))
    return pairs


def replay(paths: list[Path]) -> None:
    """Run every console block of `paths`, in order, against one fresh seeded fake; compare or,
    with UPDATE_DOCS=1, rewrite what they printed."""
    mismatches: list[str] = []
    with serving("--seed", "1") as (_, url):
        address = url.removeprefix("http://")
        for path in paths:
            text = path.read_text(encoding="utf-8")
            updated, position = [], 0
            for match in BLOCK.finditer(text):
                if not match.group(1).startswith("$ "):
                    continue
                rendered = []
                for command, expected in commands_and_outputs(match.group(1)):
                    result = subprocess.run(
                        ["bash", "-c", command.replace(DOCUMENTED_ADDRESS, address)],
                        capture_output=True,
                        text=True,
                        timeout=30,
                        check=False,
                        cwd=ROOT,
                    )
                    printed = result.stdout.replace(address, DOCUMENTED_ADDRESS)
                    if printed != expected:
                        where = path.relative_to(ROOT)
                        mismatches.append(
                            f"{where}: $ {command}\n--- shown\n{expected}--- actual\n{printed}{result.stderr}"
                        )
                    rendered.append(f"$ {command}\n{printed}")
                updated.append(text[position : match.start(1)] + "".join(rendered))
                position = match.end(1)
            if os.environ.get("UPDATE_DOCS") == "1":
                path.write_text("".join(updated) + text[position:], encoding="utf-8")
    if os.environ.get("UPDATE_DOCS") != "1":
        assert not mismatches, "\n\n".join(mismatches)


def test_the_guides_console_examples_print_what_it_shows() -> None:
    pages = guide_pages()
    assert sum(len(BLOCK.findall(path.read_text(encoding="utf-8"))) for path in pages) >= 25
    replay(pages)


def test_the_readmes_tour_prints_what_it_shows() -> None:
    assert len(BLOCK.findall(README.read_text(encoding="utf-8"))) >= 3
    replay([README])


def test_the_real_clock_polling_loop_ends_with_the_completed_job() -> None:
    [loop] = [
        m.group(1)
        for m in re.finditer(
            r"^```sh\n(# poll a sync until it ends\n.*?)^```\n", page("getting-started.md"), re.M | re.S
        )
    ]
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


def table_rows(text: str, header: str) -> list[list[str]]:
    """The rows of the table whose header line is `header`, as cells."""
    lines = text[text.index(header) :].splitlines()[2:]
    rows = []
    for line in lines:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def table_row(text: str, heading: str) -> list[str]:
    """The cells after the first of the table row that starts with `heading`."""
    match = re.search(rf"^\| {re.escape(heading)}.*$", text, re.MULTILINE)
    assert match, f"no table row {heading!r}"
    return [cell.strip() for cell in match.group(0).split("|")[2:-1]]


def test_the_timeline_table_is_the_default_scripts() -> None:
    text = page("behaviour.md")
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
    `yml`, not `yaml`: the guide's one ```yaml block is the fixture example, which
    `test_fixtures` loads.)"""
    snippets = re.findall(r"^```yml\n(name: .*?)^```\n", page("scenarios.md"), re.M | re.S)
    assert len(snippets) >= 10, "an example for every feature"
    for snippet in snippets:
        try:
            load_text(snippet.encode(), "the guide", default_spec())
        except ScenarioError as error:
            raise AssertionError(f"{error}\n\n{snippet}") from None


def schema_fields(schema: dict[str, Any], root: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """Every field of the scenario schema as the guide's table names it (`syncs[].fail.at`)."""

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
    text = page("scenarios.md")
    table = text[text.index("## Every field") : text.index("## One example per feature")]
    named = set(re.findall(r"^\| `([^`]+)`(?:, `([^`]+)`)?", table, re.M))
    documented = {field for pair in named for field in pair if field}
    schema = schema_document()
    assert set(schema_fields(schema, schema)) <= documented


def test_every_example_scenario_is_loaded_by_a_replayed_curl_line() -> None:
    replayed = "".join(m.group(1) for m in BLOCK.finditer(guide_text()) if m.group(1).startswith("$ "))
    shipped = sorted(path.name for path in resources.scenarios_dir().glob("*.yaml"))
    assert shipped, "the example scenarios ship with the package"
    listing = (ROOT / "scenarios" / "README.md").read_text(encoding="utf-8")
    for name in shipped:
        assert f"--data-binary @scenarios/{name} " in replayed, f"no curl line loads scenarios/{name}"
        assert f"| [`{name}`](examples/{name}) |" in page("scenarios.md"), f"scenarios/{name} is not in the table"
        assert f"| `{name}` |" in listing, f"scenarios/{name} is not in scenarios/README.md"


def test_the_limits_table_is_what_the_code_enforces() -> None:
    table = {row[0]: row[1] for row in table_rows(page("behaviour.md"), "| limit | value | past it |")}
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


def _options(parser: argparse.ArgumentParser) -> Iterator[tuple[str, str]]:
    """(command, option) for every option of every command."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                for option in sub._actions:
                    for flag in option.option_strings:
                        if flag.startswith("--") and flag != "--help":
                            yield name, flag


def test_every_command_line_option_is_documented() -> None:
    text = guide_text()
    missing = sorted({f"{command} {flag}" for command, flag in _options(cli._parser()) if f"`{flag}" not in text})
    assert not missing, f"options the guide never names: {missing}"


def test_every_control_route_is_documented() -> None:
    text = guide_text()
    routes = sorted(
        f"{method.upper()} {path}"
        for path, item in control_document()["paths"].items()
        for method in item
        if method in ("get", "post", "put", "delete")
    )
    assert len(routes) >= 15
    missing = [route for route in routes if route not in text and route.replace("{type}", "google_drive") not in text]
    assert not missing, f"/_mock routes the guide never names: {missing}"


def test_the_readme_links_to_files_that_exist() -> None:
    text = re.sub(r"^```.*?^```\n", "", README.read_text(encoding="utf-8"), flags=re.M | re.S)
    links = [link for link in re.findall(r"\]\(([^)#]+)\)", text) if "://" not in link]
    assert "docs/getting-started.md" in links
    for link in links:
        assert (ROOT / link).exists(), f"README links to {link}, which is not there"


@pytest.mark.skipif(not (ROOT / "mkdocs.yml").exists(), reason="a checkout's test: the guide is built from docs/")
def test_the_guide_builds_strictly(tmp_path: Path) -> None:
    """A broken link or anchor fails the build (mkdocs.yml's `validation`)."""
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stderr
    rendered = (tmp_path / "site" / "api" / "index.html").read_text(encoding="utf-8")
    assert all(operation in rendered for operation in default_spec().operations)
