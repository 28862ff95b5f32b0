"""How schema failures are reported: one error per field, by JSON path, secrets unquoted."""

from __future__ import annotations

from connectors_mock.spec import Spec


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
