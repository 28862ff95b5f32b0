"""How schema failures are reported: one error per field, by JSON path, secrets unquoted."""

from __future__ import annotations

from connectors_mock.spec import Spec


def test_missing_and_unknown_fields_each_get_their_own_path(spec: Spec) -> None:
    errors = spec.config_validators["postgresql"].errors({"port": 5432, "sslmode": "on", "ssl-cert": "x"})
    assert [(e.path, e.message) for e in errors] == [
        ("$.host", "is required"),
        ("$.database", "is required"),
        ("$.sslmode", "is not a known field here"),
        ("$['ssl-cert']", "is not a known field here"),
    ]


def test_array_items_are_addressed_by_index(spec: Spec) -> None:
    [error] = spec.config_validators["github"].errors({"repos": ["acme/a", "acme/b", "nope"]})
    assert error.path == "$.repos[2]"


def test_a_huge_value_is_quoted_briefly_and_the_reason_kept(spec: Spec) -> None:
    [error] = spec.config_validators["s3"].errors({"bucket": "docs", "region": "us-east-1", "prefix": "p" * 5000})
    assert error.message.endswith("is too long")
    assert "(5002 characters)" in error.message
    assert len(error.message) < 150


def test_a_write_only_value_is_never_quoted(spec: Spec) -> None:
    errors = spec.credential_validators["postgresql"].errors({"username": "u" * 64, "password": 12345})
    assert [(e.path, e.message) for e in errors] == [
        ("$.password", "must be of type 'string' (the value is not shown)"),
        ("$.username", "must be at most 63 characters long (the value is not shown)"),
    ]
    assert not any("12345" in e.message or "uuuu" in e.message for e in errors)


def test_a_discriminated_body_is_judged_by_its_own_shape(spec: Spec) -> None:
    validator = spec.operations["createConnector"].body_validator
    assert validator is not None
    assert [e.path for e in validator.errors({"type": "ftp"})] == ["$.type"]
    assert [e.path for e in validator.errors(["not", "an", "object"])] == ["$"]
    github = {"type": "github", "name": "Docs", "collection": "col_a", "config": {"repos": []}, "credentials": {}}
    assert [e.path for e in validator.errors(github)] == ["$.config.repos", "$.credentials.token"]
