"""The contract itself: valid OpenAPI 3.1, complete, and consistent with its examples."""

from __future__ import annotations

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
from tests.conftest import S3_CREATE

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
