"""Reading scenario files: YAML (or JSON, which YAML reads too), checked against the shipped
JSON Schema and against the contract, with every problem reported by file, line and path.

`check-scenario`, `serve --scenario` and `POST /_mock/scenarios` all read through here, so a
file that one accepts the others accept, and their errors read the same.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources as package_resources
from pathlib import Path
from typing import Any

import yaml

from connectors_mock.errors import FieldError
from connectors_mock.json_text import MAX_DEPTH
from connectors_mock.scenarios.model import Scenario, scenario_from_document
from connectors_mock.spec import Spec
from connectors_mock.validators import Validator, field_path

# Enough for any scenario a person writes; a bigger body is a mistake, not a scenario.
MAX_SCENARIO_BYTES = 256 * 1024


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's safe loader where PyYAML was built with it (several times faster), reading
    `1e-05` as the number JSON and YAML 1.2 make it, not the string YAML 1.1 does."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)
_LOADER: Any = _Loader
# Headers a scenario must not set: they would contradict the body or the request id.
RESERVED_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "x-request-id"})
# The longest a computed run may last (`total` / `documents_per_second`): a year.
MAX_RUNNING_SECONDS = 365 * 24 * 3600


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario: where (file, line, JSON path) and what was expected."""

    source: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.path}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "line": self.line, "path": self.path, "message": self.message}


class ScenarioError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems


def schema_document() -> dict[str, Any]:
    text = package_resources.files("connectors_mock.scenarios").joinpath("scenario.schema.json").read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


@cache
def _schema_validator() -> Validator:
    return Validator(schema_document(), "body")


def load_file(path: Path, spec: Spec) -> Scenario:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ScenarioError([Problem(str(path), None, "$", f"cannot be read: {exc.strerror}")]) from None
    return load_text(data, str(path), spec)


def load_text(data: bytes, source: str, spec: Spec) -> Scenario:
    """A scenario from YAML or JSON text, or `ScenarioError` listing everything wrong with it."""
    if len(data) > MAX_SCENARIO_BYTES:
        raise ScenarioError([Problem(source, None, "$", f"is {len(data)} bytes; at most {MAX_SCENARIO_BYTES}")])
    try:
        text = data.decode("utf-8")
        refused = _refused_shape(text, source)
        if refused is not None:
            raise ScenarioError([refused])
        # Composed once: the nodes give the lines, and the document is built from them.
        loader = _LOADER(text)
        try:
            node = loader.get_single_node()
            document = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except UnicodeDecodeError:
        raise ScenarioError([Problem(source, None, "$", "is not UTF-8 text")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError([Problem(source, line, "$", f"is not valid YAML: {reason}")]) from None
    lines = _lines(node) if node is not None else {}
    problems = [Problem(source, line, path, message) for path, line, message in _duplicate_keys(node)]
    if not isinstance(document, dict):
        problems.append(Problem(source, 1, "$", "must be a mapping with at least a name (name: my-scenario)"))
        raise ScenarioError(problems)
    # YAML reads an unquoted 2024-01-01 as a date; a scenario is JSON, and is kept as such.
    document = _plain(document)
    errors = [
        FieldError("body", path, "is not a finite number (.nan and .inf are not)") for path in _non_finite(document)
    ]
    errors += _schema_validator().errors(document)
    if not errors:
        errors = list(_contract_errors(document, spec))
    problems += [Problem(source, _line_of(lines, e.path), e.path, e.message) for e in errors]
    if problems:
        raise ScenarioError(sorted(problems, key=lambda p: (p.line or 0, p.path)))
    return scenario_from_document(document, source)


def _refused_shape(text: str, source: str) -> Problem | None:
    """What YAML's events show before anything is built from them: an alias (a few nested ones
    expand to billions of values), or nesting deeper than the API takes in a body (every later
    walk over the document would have to be written without recursion). A scenario is small:
    write the values out."""
    depth = 0
    for event in yaml.parse(text, Loader=_LOADER):
        line = event.start_mark.line + 1 if event.start_mark else None
        if isinstance(event, yaml.AliasEvent):
            return Problem(source, line, "$", "uses YAML aliases (*name); write the values out")
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                return Problem(source, line, "$", f"nests deeper than {MAX_DEPTH} levels here")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return None


def load_files(paths: Iterable[Path], spec: Spec) -> list[Scenario]:
    """Every file, or one `ScenarioError` with the problems of all of them."""
    scenarios, problems = [], []
    for path in paths:
        try:
            scenarios.append(load_file(path, spec))
        except ScenarioError as error:
            problems += error.problems
    if problems:
        raise ScenarioError(problems)
    return scenarios


def _plain(document: Any) -> Any:
    """YAML gives dates for unquoted timestamps; JSON Schema speaks JSON."""
    return json.loads(json.dumps(document, default=str))


def _non_finite(value: Any, parts: tuple[str | int, ...] = ()) -> Iterable[str]:
    """Where YAML's `.nan` and `.inf` are: no comparison with NaN holds, so a schema passes them."""
    if isinstance(value, float) and not math.isfinite(value):
        yield field_path("body", list(parts))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _non_finite(item, (*parts, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _non_finite(item, (*parts, index))


def _contract_errors(document: Mapping[str, Any], spec: Spec) -> Iterable[FieldError]:
    """What the schema cannot know: the contract's paths, and rules that contradict themselves."""
    clock = document.get("clock", {})
    if clock.get("mode") == "manual" and "speed" in clock:
        yield FieldError("body", "$.clock.speed", "applies to a real clock; a manual clock moves only when advanced")
    templates = {(op.method.upper(), op.path) for op in spec.operations.values()}
    paths = sorted({path for _, path in templates})
    for i, rule in enumerate(document.get("faults", [])):
        match = rule.get("match", {})
        if "path" in match:
            if match["path"] not in paths:
                yield FieldError(
                    "body", f"$.faults[{i}].match.path", f"is not a path of the contract (one of: {', '.join(paths)})"
                )
            elif "method" in match and (match["method"], match["path"]) not in templates:
                methods = sorted(m for m, p in templates if p == match["path"])
                yield FieldError(
                    "body",
                    f"$.faults[{i}].match.method",
                    f"{match['method']} is not an operation of {match['path']} (it has {', '.join(methods)})",
                )
        latency = rule.get("latency", {})
        if latency.get("min_ms", 0) > latency.get("max_ms", float("inf")):
            yield FieldError("body", f"$.faults[{i}].latency", "min_ms is greater than max_ms")
        for name in rule.get("error", {}).get("headers", {}):
            if name.lower() in RESERVED_HEADERS:
                at = field_path("body", ["faults", i, "error", "headers", name])
                yield FieldError("body", at, "is set by the fake; leave it out")
        window = rule.get("when", {}).get("window", {})
        if "from" in window and "until" in window and window["from"] >= window["until"]:
            yield FieldError("body", f"$.faults[{i}].when.window", "from must be earlier than until")
    for i, rule in enumerate(document.get("syncs", [])):
        rate = rule.get("documents_per_second")
        if rate and rule.get("total", 0) / rate > MAX_RUNNING_SECONDS:
            yield FieldError(
                "body",
                f"$.syncs[{i}].documents_per_second",
                f"makes the run last over a year at {rule['total']} documents",
            )
        after = rule.get("fail", {}).get("after_documents")
        if after is not None and "total" in rule and after > rule["total"]:
            yield FieldError(
                "body", f"$.syncs[{i}].fail.after_documents", f"{after} is more than the job's total of {rule['total']}"
            )


def _lines(node: yaml.Node, parts: tuple[str | int, ...] = ()) -> dict[str, int]:
    """Each JSON path in the document, and the line it starts on (1-based)."""
    lines = {field_path("body", list(parts)): node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            lines[field_path("body", [*parts, str(key.value)])] = key.start_mark.line + 1
            lines.update({k: v for k, v in _lines(value, (*parts, str(key.value))).items() if k not in lines})
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines.update(_lines(item, (*parts, index)))
    return lines


def _line_of(lines: Mapping[str, int], path: str) -> int | None:
    """The line of `path`, or of its nearest ancestor (a missing field is reported where its
    parent is)."""
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return lines.get("$")


def _duplicate_keys(node: yaml.Node | None, parts: tuple[str | int, ...] = ()) -> Iterable[tuple[str, int, str]]:
    """YAML keeps the last of two equal keys without a word; a scenario author wants to know."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value)
            if name in seen:
                yield (
                    field_path("body", [*parts, name]),
                    key.start_mark.line + 1,
                    "is given twice; the second would win",
                )
            seen.add(name)
            yield from _duplicate_keys(value, (*parts, name))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(item, (*parts, index))
