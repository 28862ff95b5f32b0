"""How schema failures are reported: one error per field, by JSON path, secrets unquoted."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors_mock.errors import MAX_FIELD_ERRORS
from connectors_mock.spec import Spec
from connectors_mock.validators import AnyValidator, DiscriminatedValidator, Validator


def test_missing_and_unknown_fields_each_get_their_own_path(spec: Spec) -> None:
    errors = spec.config_validators["postgresql"].errors({"port": 5432, "sslmode": "on", "ssl-cert": "x"})
    assert [(e.path, e.message) for e in errors] == [
        ("$.host", "is required"),
        ("$.database", "is required"),
        ("$.sslmode", "is not a known field here"),
        ('$["ssl-cert"]', "is not a known field here"),
    ]


def test_array_items_are_addressed_by_index(spec: Spec) -> None:
    [error] = spec.config_validators["github"].errors({"repos": ["acme/a", "acme/b", "nope"]})
    assert error.path == "$.repos[2]"


def test_a_huge_value_is_quoted_briefly_and_the_reason_kept(spec: Spec) -> None:
    [error] = spec.config_validators["s3"].errors({"bucket": "docs", "region": "us-east-1", "prefix": "p" * 5000})
    assert error.message.endswith("(5002 characters) is longer than 1024 characters")
    assert len(error.message) < 150


def test_a_hundred_thousand_wrong_items_cost_the_first_hundred(spec: Spec, errors_built: list[int]) -> None:
    """A body under 1 MiB once held the server for seconds while every error was built."""
    validator = spec.operations["triggerSync"].body_validator
    assert validator is not None
    errors = validator.errors({"sync_mode": "incremental", "file_filter": list(range(100_000))})
    assert len(errors) == MAX_FIELD_ERRORS + 1
    assert errors[0].path == "$.file_filter"
    assert errors_built[0] < 5 * MAX_FIELD_ERRORS


def test_a_failing_branch_stops_at_the_limit_too(spec: Spec, errors_built: list[int]) -> None:
    """`anyOf` and `oneOf` list the errors of each branch; each branch stops at the limit."""
    validator = Validator({"anyOf": [{"items": {"type": "string"}}, {"items": {"type": "boolean"}}]})
    [error] = validator.errors(list(range(100_000)))
    assert error.path.startswith("$[")
    assert errors_built[0] < 5 * MAX_FIELD_ERRORS


def test_a_write_only_value_is_never_quoted(spec: Spec) -> None:
    errors = spec.credential_validators["postgresql"].errors({"username": "u" * 64, "password": 12345})
    assert [(e.path, e.message) for e in errors] == [
        ("$.password", 'the value is not of type "string" (not shown)'),
        ("$.username", "the value is longer than 63 characters (not shown)"),
    ]
    assert not any("12345" in e.message or "uuuu" in e.message for e in errors)


def test_a_discriminated_body_is_judged_by_its_own_shape(spec: Spec) -> None:
    validator = spec.operations["createConnector"].body_validator
    assert validator is not None
    assert [e.path for e in validator.errors({"type": "ftp"})] == ["$.type"]
    assert [e.path for e in validator.errors(["not", "an", "object"])] == ["$"]
    github = {"type": "github", "name": "Docs", "collection": "col_a", "config": {"repos": []}, "credentials": {}}
    assert [e.path for e in validator.errors(github)] == ["$.config.repos", "$.credentials.token"]


def test_a_trailing_newline_does_not_slip_past_an_anchored_pattern(spec: Spec) -> None:
    """Python's `$` matches before a final newline; ECMA-262's, which JSON Schema means, does not."""
    [error] = spec.config_validators["s3"].errors({"bucket": "my-docs\n", "region": "us-east-1"})
    assert error.path == "$.bucket"
    assert spec.config_validators["s3"].errors({"bucket": "my-docs", "region": "us-east-1"}) == []


def test_repeated_items_are_found_quickly_even_when_unhashable(spec: Spec) -> None:
    """jsonschema compares unhashable items pairwise: 30,000 objects took minutes."""
    repos = [{"n": i} for i in range(30_000)]
    errors = spec.config_validators["github"].errors({"repos": repos})
    assert {e.path for e in errors} >= {"$.repos"}
    [unique] = spec.config_validators["github"].errors({"repos": ["a/b", "a/b"]})
    assert unique.message == '["a/b", "a/b"] has repeated items'


def test_values_are_shown_as_json(spec: Spec) -> None:
    [error] = spec.config_validators["postgresql"].errors({"host": None, "database": "d"})
    assert error.message == 'null is not of type "string"'


def _examples(spec: Spec) -> list[tuple[str, AnyValidator, Any]]:
    """Every example of the spec with the validator that judges it: where the two engines are
    held equal, starting from real shapes rather than noise."""
    found: list[tuple[str, AnyValidator, Any]] = []
    for item in spec.document["paths"].values():
        for operation in item.values():
            if not isinstance(operation, dict) or "operationId" not in operation:
                continue
            compiled = spec.operations[operation["operationId"]]
            media = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            for name, example in media.get("examples", {}).items():
                assert compiled.body_validator is not None
                found.append((f"{compiled.operation_id} body {name}", compiled.body_validator, example["value"]))
            for status, response in operation["responses"].items():
                example = response.get("content", {}).get("application/json", {}).get("example")
                if example is not None:
                    validator = compiled.response_validators[status]
                    found.append((f"{compiled.operation_id} {status}", validator, example))
            for location, validator in compiled.parameter_validators.items():
                found.append((f"{compiled.operation_id} {location}", validator, {}))
    return found


def _validators(validator: AnyValidator) -> list[Validator]:
    if isinstance(validator, DiscriminatedValidator):
        return [validator.selector, *validator.variants.values()]
    return [validator]


# Values where the two libraries differ unless made to agree (formats, `$`, equality), and
# values near the spec's own patterns and limits.
_TRICKY = st.sampled_from(
    [
        "",
        "conn_abc123",
        "col_xyz",
        "job_x",
        "s3",
        "incremental",
        "https://acme.atlassian.net/wiki",
        "not a uri",
        "http://exa mple.com",
        "2024-01-20T14:00:00Z",
        "2016-12-31T23:59:60Z",
        "2024-01-20 14:00:00Z",
        "2024-02-30",
        "a@b.example",
        "a b@c.d",
        "my-docs\n",
        "line\u2028",
        "acme/handbook",
        0,
        1,
        1.0,
        65535,
        65536,
        5432.0,
        -1,
        10**30,
        True,
        None,
    ]
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=12,
)


@st.composite
def _mutated(draw: st.DrawFn, value: Any) -> Any:
    """`value` with up to three changes: a value replaced, a key removed, a key or item added."""
    value = copy.deepcopy(value)
    for _ in range(draw(st.integers(0, 3))):
        containers: list[Any] = []
        pending = [value]
        while pending:
            node = pending.pop()
            if isinstance(node, dict | list):
                containers.append(node)
                pending.extend(node.values() if isinstance(node, dict) else node)
        if not containers:
            return draw(_TRICKY | _JSON)
        node = draw(st.sampled_from(containers))
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        change = draw(st.sampled_from(["replace", "replace", "remove", "add"]))
        new_value = draw(_TRICKY | _JSON)
        if change == "add" or not keys:
            if isinstance(node, dict):
                node[draw(st.sampled_from([*keys, "extra", "name", "config", "type", "id"]))] = new_value
            else:
                node.append(new_value)
        elif change == "replace":
            node[draw(st.sampled_from(keys))] = new_value
        else:
            del node[draw(st.sampled_from(keys))]
    return value


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_jsonschema_rs_and_jsonschema_agree_on_every_verdict(spec: Spec, data: st.DataObject) -> None:
    """An instance jsonschema-rs passes is never explained by jsonschema, so the two must agree:
    one that jsonschema-rs passes wrongly would reach a handler unchecked."""
    label, validator, example = data.draw(st.sampled_from(_examples(spec)), label="example")
    instance = data.draw(_mutated(example), label="instance")
    for one in _validators(validator):
        assert one.is_valid(instance) == (one.full_errors(instance) == []), (label, instance)


def test_the_engines_agree_on_formats_patterns_and_equality(spec: Spec) -> None:
    """Where the two libraries differ by default, each judged alike, and as before jsonschema-rs
    judged first: `date` and `date-time` by jsonschema's own checks, `email` by its `@`."""
    config, credentials = spec.config_validators, spec.credential_validators
    channels = {"channels": ["#general"]}
    cases: list[tuple[Validator, Any, bool]] = [
        (config["confluence"], {"instanceUrl": "https://acme.atlassian.net/wiki", "spaceKeys": ["ENG"]}, True),
        (config["confluence"], {"instanceUrl": "not a uri", "spaceKeys": ["ENG"]}, False),
        (config["confluence"], {"instanceUrl": "https://acme.atlassian.net/wiki", "spaceKeys": ["ENG", "ENG"]}, False),
        (config["s3"], {"bucket": "my-docs\n", "region": "us-east-1"}, False),
        (config["postgresql"], {"host": "db", "port": 5432.0, "database": "d"}, True),
        (config["postgresql"], {"host": "db", "port": 10**30, "database": "d"}, False),
        (config["slack"], {**channels, "dateRange": {"from": "2024-01-20"}}, True),
        # jsonschema-rs 0.60 alone takes all three for dates.
        (config["slack"], {**channels, "dateRange": {"from": "2-24-01-20"}}, False),
        (config["slack"], {**channels, "dateRange": {"from": "0000-01-01"}}, False),
        (config["slack"], {**channels, "dateRange": {"from": "2024-02-30"}}, False),
        (credentials["confluence"], {"email": "bot@acme.example", "apiToken": "t"}, True),
        (credentials["confluence"], {"email": "é@acme.example", "apiToken": "t"}, True),
        (credentials["confluence"], {"email": "bot.acme.example", "apiToken": "t"}, False),
    ]
    for validator, instance, valid in cases:
        assert validator.is_valid(instance) is valid, instance
        assert (validator.full_errors(instance) == []) is valid, instance


def test_date_times_are_judged_as_rfc_3339() -> None:
    validator = Validator({"type": "string", "format": "date-time"})
    assert validator.is_valid("2024-01-20T14:00:03Z")
    assert validator.is_valid("2024-01-20t14:00:03.5+01:00")
    for wrong in ["2024-01-20T14:0.:03Z", "2024-01-20 14:00:03Z", "2024-01-20T14:00:03", "0000-01-01T00:00:00Z"]:
        assert not validator.is_valid(wrong), wrong
        assert validator.errors(wrong), wrong


def test_values_that_are_not_json_are_explained_not_raised() -> None:
    """YAML gives a fixture's unquoted 2024-01-01 as a date and `1:` as an integer key:
    jsonschema-rs refuses to read them, jsonschema says what is wrong."""
    validator = Validator({"type": "array", "items": {"type": "string"}})
    assert not validator.is_valid(["col_a", date(2024, 1, 1)])
    [error] = validator.errors(["col_a", date(2024, 1, 1)])
    assert (error.path, error.message) == ("$[1]", '"2024-01-01" is not of type "string"')


def test_a_discriminator_lists_its_values_in_the_spec_order(spec: Spec) -> None:
    body = {"name": "x", "type": "nope", "collection": "col_xyz", "config": {}, "credentials": {}}
    [error] = spec.operations["createConnector"].body_validator.errors(body)  # type: ignore[union-attr]
    assert error.message == '"nope" is not one of ["s3", "confluence", "github", "slack", "salesforce", "postgresql"]'
