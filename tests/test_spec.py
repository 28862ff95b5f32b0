"""The contract itself: valid OpenAPI 3.1, complete, and consistent with its examples."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from starlette.testclient import TestClient

from connectors_mock import resources
from connectors_mock.spec import Spec
from tests.conftest import S3_CREATE, ClientFactory, any_keys, json_values

OPERATIONS = {
    "listConnectors",
    "createConnector",
    "getConnector",
    "updateConnector",
    "deleteConnector",
    "triggerSync",
    "getSyncStatus",
    "authorizeOAuth",
    "completeOAuth",
}


def test_the_spec_is_valid_openapi_3_1() -> None:
    document = yaml.safe_load(resources.spec_path().read_text(encoding="utf-8"))
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_it_has_the_nine_documented_operations_each_behind_bearer_auth(spec: Spec) -> None:
    assert set(spec.operations) == OPERATIONS
    assert all(operation.requires_auth for operation in spec.operations.values())


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _reachable(spec: Spec, start: Any) -> set[str]:
    seen: set[str] = set()
    pending = list(_refs(start))
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        node: Any = spec.document
        for token in ref.removeprefix("#/").split("/"):
            node = node[token.replace("~1", "/").replace("~0", "~")]
        pending.extend(_refs(node))
    return seen


def test_credentials_are_write_only_and_in_no_response(spec: Spec) -> None:
    schemas = spec.document["components"]["schemas"]
    credentials = {name for name in schemas if name.endswith("Credentials")}
    assert credentials == {
        f"{t}Credentials" for t in ("S3", "Confluence", "Github", "Slack", "Salesforce", "Postgresql")
    }
    for name in credentials:
        assert schemas[name]["writeOnly"] is True
        assert all(prop["writeOnly"] for prop in schemas[name]["properties"].values())
    responses = [
        op.get("responses") for item in spec.document["paths"].values() for op in item.values() if isinstance(op, dict)
    ]
    reachable = _reachable(spec, responses)
    assert not {f"#/components/schemas/{name}" for name in credentials} & reachable
    assert "#/components/schemas/Connector" in reachable


def test_every_example_is_valid_against_its_schema(spec: Spec) -> None:
    checked = 0
    for path, item in spec.document["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "operationId" not in operation:
                continue
            compiled = spec.operations[operation["operationId"]]
            media = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            for example in media.get("examples", {}).values():
                assert compiled.body_validator is not None
                assert compiled.body_validator.errors(example["value"]) == [], (method, path)
                checked += 1
            for status, response in operation["responses"].items():
                example = response.get("content", {}).get("application/json", {}).get("example")
                if example is not None:
                    assert compiled.response_validators[status].errors(example) == [], (method, path, status)
                    checked += 1
    for name, response in spec.document["components"]["responses"].items():
        example = response.get("content", {}).get("application/json", {}).get("example")
        if example is not None:
            validator = spec.schema_validator("ErrorEnvelope" if name != "ConnectorOk" else "ConnectorEnvelope")
            assert validator.errors(example) == [], name
            checked += 1
    assert checked >= 15


def _example_requests(spec: Spec) -> Iterator[tuple[str, str, str, dict[str, str], dict[str, str], Any]]:
    """Each operation's request, as a docs viewer's "Try it out" sends it with the examples:
    (operationId, method, path, query, headers, body), once per body example."""
    for template, item in spec.document["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "put", "post", "delete"):
                continue
            parameters: dict[tuple[str, str], Any] = {}
            for node in [*item.get("parameters", []), *operation.get("parameters", [])]:
                param = spec_node(spec, node)
                parameters[(param["name"], param["in"])] = param["example"]
            path = template
            for (name, place), value in parameters.items():
                if place == "path":
                    path = path.replace(f"{{{name}}}", value)
            query = {name: value for (name, place), value in parameters.items() if place == "query"}
            headers = {name: value for (name, place), value in parameters.items() if place == "header"}
            media = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            bodies = [example["value"] for example in media.get("examples", {}).values()] or [None]
            for body in bodies:
                yield operation["operationId"], method.upper(), path, query, headers, body


def spec_node(spec: Spec, node: dict[str, Any]) -> dict[str, Any]:
    """`node`, or what its `$ref` points to in the spec."""
    while "$ref" in node:
        target: Any = spec.document
        for token in node["$ref"].removeprefix("#/").split("/"):
            target = target[token.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def test_every_example_of_the_spec_gets_its_success_status_from_a_fresh_fake(
    spec: Spec, make_client: ClientFactory
) -> None:
    """Sent as written, with the parameters' examples, to a fresh fake with the default
    fixtures and any key: what "Try it out" in a docs viewer does."""
    sent = set()
    for operation_id, method, path, query, headers, body in _example_requests(spec):
        client = make_client(token="any-key-at-all", seed=None)
        response = client.request(method, path, params=query, headers=headers, json=body)
        operation = spec.operations[operation_id]
        raw = spec.document["paths"][operation.path][operation.method.lower()]
        [success] = [status for status in raw["responses"] if status.startswith("2")]
        assert str(response.status_code) == success, (operation_id, response.text)
        sent.add(operation_id)
    assert sent == OPERATIONS


@settings(max_examples=200, deadline=None)
@given(config=st.dictionaries(any_keys, json_values, max_size=50))
def test_an_update_config_is_judged_only_after_the_merge(spec: Spec, config: dict[str, Any]) -> None:
    """The update body's `config` is typed per connector type for generated clients, but any
    object of up to 50 keys passes the request's own schema: the merged config is what is
    checked, against the connector's own type, with every error at once (`state.py`)."""
    validator = spec.operations["updateConnector"].body_validator
    assert validator is not None
    assert validator.errors({"config": config}) == []
    too_many = {f"k{i}": None for i in range(51)}
    assert [e.message for e in validator.errors({"config": too_many})] == [
        f"{json.dumps(too_many)[:60]}... ({len(json.dumps(too_many))} characters) has more than 50 fields"
    ]


def test_the_reference_create_example_is_the_spec_example(spec: Spec) -> None:
    create = spec.document["paths"]["/v1/connectors"]["post"]["requestBody"]["content"]["application/json"]
    assert create["examples"]["s3"]["value"] == S3_CREATE


@pytest.mark.parametrize(
    ("connector_type", "config", "path"),
    [
        ("postgresql", {"host": "h", "database": "d", "port": 0}, "$.port"),
        ("postgresql", {"host": "h", "database": "d", "port": 65536}, "$.port"),
        ("postgresql", {"host": "h", "port": 5432}, "$.database"),
        ("confluence", {"instanceUrl": "acme"}, "$.instanceUrl"),
        ("github", {"repos": ["acme/handbook", "no-slash"]}, "$.repos[1]"),
        ("github", {"repos": "acme/handbook"}, "$.repos"),
        ("s3", {"bucket": "docs", "region": "us-east-1", "endpoint": "minio"}, "$.endpoint"),
        ("slack", {"channels": ["#general"], "dateRange": {"from": "last week"}}, "$.dateRange.from"),
        ("salesforce", {"objects": ["Account"], "soqlFilter": ""}, "$.soqlFilter"),
        ("google_drive", {"folder": "x"}, "$.folder"),
        ("notion", {"workspace": "x"}, "$.workspace"),
    ],
)
def test_config_schemas_have_real_types_formats_and_bounds(
    spec: Spec, connector_type: str, config: dict[str, Any], path: str
) -> None:
    assert [e.path for e in spec.config_validators[connector_type].errors(config)] == [path]


def test_every_type_has_a_config_schema(spec: Spec) -> None:
    types = spec.document["components"]["schemas"]["ConnectorType"]["enum"]
    assert sorted(spec.config_validators) == sorted(types)
    assert sorted(spec.credential_validators) == sorted(set(types) - {"google_drive", "notion"})


def test_links_chain_create_to_its_follow_ups_and_sync_to_its_status(spec: Spec) -> None:
    paths = spec.document["paths"]
    create_links = paths["/v1/connectors"]["post"]["responses"]["201"]["links"]
    assert {link["operationId"] for link in create_links.values()} == {
        "getConnector",
        "updateConnector",
        "deleteConnector",
        "triggerSync",
    }
    sync_links = paths["/v1/connectors/{id}/sync"]["post"]["responses"]["202"]["links"]
    assert sync_links["GetSyncStatus"]["parameters"] == {
        "id": "$request.path.id",
        "jobId": "$response.body#/data/jobId",
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_generated_create_bodies_are_valid_and_accepted(
    spec: Spec, contract: Any, client: TestClient, data: st.DataObject
) -> None:
    """What schemathesis generates from the spec, the validator accepts and the fake creates
    (in a collection that exists; a generated name may already be taken)."""
    case = data.draw(contract["/v1/connectors"]["POST"].as_strategy())
    compiled = spec.operations["createConnector"]
    assert compiled.body_validator is not None
    assert compiled.body_validator.errors(case.body) == []
    response = client.post("/v1/connectors", json={**case.body, "collection": "col_abc123"})
    assert response.status_code in (201, 409), response.text
