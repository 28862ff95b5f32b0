"""Reading scenario files: every shipped example loads, and every mistake is reported with its
file, line, path and what was expected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from connectors_mock import resources
from connectors_mock.scenarios.loader import ScenarioError, load_file, load_text, schema_document
from connectors_mock.spec import Spec
from tests.conftest import ClientFactory

EXAMPLES = sorted(resources.scenarios_dir().glob("*.yaml"))


def problems(text: str, spec: Spec) -> list[str]:
    with pytest.raises(ScenarioError) as refused:
        load_text(text.encode(), "bad.yaml", spec)
    return [str(problem) for problem in refused.value.problems]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_scenario_loads_under_its_file_name(path: Path, spec: Spec) -> None:
    scenario = load_file(path, spec)
    assert scenario.name == path.stem
    assert scenario.description
    assert scenario.source == str(path)


def test_the_examples_the_issue_asks_for_are_shipped() -> None:
    wanted = {"flaky-network", "rate-limited", "sync-fails-midway", "slow-sync", "stuck-sync", "oauth-denied", "outage"}
    assert wanted <= {path.stem for path in EXAMPLES}


def test_the_schema_lists_what_the_contract_has(spec: Spec) -> None:
    """The scenario schema names operations, types and error codes; they must be the contract's."""
    defs: dict[str, Any] = schema_document()["$defs"]
    assert set(defs["operationId"]["enum"]) == set(spec.operations)
    assert set(defs["errorCode"]["enum"]) == set(spec.document["components"]["schemas"]["ErrorCode"]["enum"])
    sync_types = defs["syncRule"]["properties"]["match"]["properties"]["type"]["enum"]
    assert set(sync_types) == set(spec.config_validators)


def test_each_problem_names_the_line_the_path_and_what_was_expected(spec: Spec) -> None:
    text = """\
name: Bad Name
faults:
  - match: {operation: getConnectr}
    error: {status: 700}
  - when: {every: 0}
    latency: {ms: 10}
syncs:
  - running_seconds: 3
    documents_per_second: 4
rate_limit: {window_seconds: 5}
"""
    assert problems(text, spec) == [
        'bad.yaml:1: $.name: "Bad Name" does not match ^[a-z0-9][a-z0-9._-]{0,63}$',
        'bad.yaml:3: $.faults[0].match.operation: "getConnectr" is not one of ["listConnectors", "createConnector", '
        '"getConnector", "updateConnector", "deleteConnector", "triggerSync", "getSyncStatus", "authorizeOAuth", '
        '"completeOAuth"]',
        "bad.yaml:4: $.faults[0].error.status: 700 is greater than the maximum of 599",
        "bad.yaml:5: $.faults[1].when.every: 0 is less than the minimum of 1",
        "bad.yaml:8: $.syncs[0]: cannot have both running_seconds and documents_per_second: give one",
        "bad.yaml:10: $.rate_limit.limit: is required",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: x\nfaults:\n  - match: {path: /v1/nope}\n    drop: close\n", "$.faults[0].match.path: is not a path"),
        (
            "name: x\nfaults:\n  - match: {method: POST, path: '/v1/connectors/{id}'}\n    drop: close\n",
            "$.faults[0].match.method: POST is not an operation of /v1/connectors/{id} (it has DELETE, GET, PUT)",
        ),
        (
            "name: x\nfaults:\n  - latency: {min_ms: 9, max_ms: 1}\n",
            "$.faults[0].latency: min_ms is greater than max_ms",
        ),
        (
            "name: x\nfaults:\n  - when: {window: {from: 30, until: 10}}\n    drop: close\n",
            "$.faults[0].when.window: from must be earlier than until",
        ),
        (
            "name: x\nsyncs:\n  - total: 10\n    fail: {after_documents: 20}\n",
            "$.syncs[0].fail.after_documents: 20 is more than the job's total of 10",
        ),
        (
            "name: x\nfaults:\n  - name: nothing\n",
            "$.faults[0]: needs at least one of latency or error or drop or body",
        ),
        (
            "name: x\nfaults:\n  - error: {status: 503}\n    drop: close\n",
            "$.faults[0]: cannot have both error and drop",
        ),
        ("name: x\nsyncs:\n  - fail: {at: 0.5, after_documents: 3}\n", "needs exactly one of at or after_documents"),
        ("name: x\nname: y\n", "bad.yaml:2: $.name: is given twice; the second would win"),
        ("name: x\nfaults: [\n", "bad.yaml:3: $: is not valid YAML"),
        ("- just\n- a list\n", "bad.yaml:1: $: must be a mapping with at least a name"),
        ("name: x\nclock: {mode: manual, speed: 5}\n", "$.clock.speed: applies to a real clock"),
        ("name: x\nrate_limit: {limit: 5, window_seconds: .nan}\n", "$.rate_limit.window_seconds: is not a finite"),
        ("name: x\nsyncs:\n  - running_seconds: .inf\n", "$.syncs[0].running_seconds: is not a finite number"),
        (
            "name: x\nsyncs:\n  - {total: 1000000000, documents_per_second: 1}\n",
            "$.syncs[0].documents_per_second: makes the run last over a year",
        ),
        (
            "name: x\nfaults:\n  - error: {status: 503, headers: {'Bad Name': x}}\n",
            '$.faults[0].error.headers: "Bad Name" does not match',
        ),
        (
            'name: x\nfaults:\n  - error: {status: 503, headers: {X-Note: "a\\r\\nb"}}\n',
            '$.faults[0].error.headers["X-Note"]: "a\\r\\nb" does not match',
        ),
        (
            "name: x\nfaults:\n  - error: {status: 503, headers: {Content-Length: '9'}}\n",
            '$.faults[0].error.headers["Content-Length"]: is set by the fake',
        ),
    ],
)
def test_mistakes_a_schema_alone_would_miss_are_named(text: str, expected: str, spec: Spec) -> None:
    found = problems(text, spec)
    assert any(expected in problem for problem in found), found


def test_bytes_that_are_not_text_are_refused_without_a_traceback(spec: Spec) -> None:
    with pytest.raises(ScenarioError, match="not UTF-8"):
        load_text(b"name: \xff\xfe", "bad.yaml", spec)


def test_json_is_read_as_well_as_yaml(spec: Spec) -> None:
    scenario = load_text(b'{"name": "j", "rate_limit": {"limit": 5}}', "body", spec)
    assert scenario.rate_limit is not None
    assert scenario.rate_limit.limit == 5
    assert scenario.rate_limit.window_seconds == 60


def test_a_yaml_date_is_kept_as_text_so_the_scenario_can_be_shown(make_client: ClientFactory) -> None:
    """YAML reads an unquoted 2024-01-01 as a date, which JSON cannot carry."""
    client = make_client()
    text = "name: dated\ndescription: 2024-01-01\nfaults:\n  - error: {status: 500, body: {since: 2024-01-01}}\n"
    assert client.post("/_mock/scenarios", content=text).status_code == 201
    shown = client.get("/_mock/scenarios/dated").json()["data"]
    assert shown["description"] == "2024-01-01"
    client.event_hooks = {"response": []}  # a custom body is not the contract's
    assert client.get("/v1/connectors", headers={"X-Mock-Scenario": "dated"}).json() == {"since": "2024-01-01"}


def test_yaml_aliases_are_refused_before_they_can_expand(spec: Spec) -> None:
    laughs = "name: lol\na: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(20)
    )
    assert problems(laughs, spec) == ["bad.yaml:3: $: uses YAML aliases (*name); write the values out"]


def test_a_scenario_holds_at_most_a_hundred_rules_of_each_kind(spec: Spec) -> None:
    rules = "".join("  - error: {status: 503}\n" for _ in range(101))
    with pytest.raises(ScenarioError) as refused:
        load_text(f"name: many\nfaults:\n{rules}".encode(), "many.yaml", spec)
    assert [problem.path for problem in refused.value.problems] == ["$.faults"]
    load_text(f"name: many\nfaults:\n{rules[: -len('  - error: {status: 503}') - 1]}".encode(), "many.yaml", spec)


def test_nesting_past_the_limit_is_a_problem_with_its_line(spec: Spec) -> None:
    deep = "name: deep\nfaults:\n  - error:\n      status: 503\n      body: " + "[" * 40 + "]" * 40 + "\n"
    with pytest.raises(ScenarioError) as refused:
        load_text(deep.encode(), "deep.yaml", spec)
    assert [str(problem) for problem in refused.value.problems] == ["deep.yaml:5: $: nests deeper than 32 levels here"]


def test_a_rule_that_counts_nothing_keeps_no_count_per_key(make_client: ClientFactory, spec: Spec) -> None:
    """A large scenario once kept a counter per rule per key: 487 KiB a key."""
    rules = "".join(f"  - match: {{headers: {{x-rule: r{i}}}}}\n    error: {{status: 503}}\n" for i in range(99))
    rules += "  - error: {status: 503}\n    when: {every: 2}\n"
    client = make_client(scenarios=(load_text(f"name: big\nfaults:\n{rules}".encode(), "big.yaml", spec),))
    for key in ("a", "b", "c"):
        client.get("/v1/connectors", headers={"Authorization": f"Bearer {key}"})
    library = client.app.state.scenarios  # type: ignore[attr-defined]
    assert {tenant: len(calls) for tenant, calls in library._calls.items()} == {"a": 1, "b": 1, "c": 1}
    library.forget_tenant("a")
    assert set(library._calls) == {"b", "c"}
