"""The rewrites that keep the suite safe on a real server keep valid requests valid and invalid
ones invalid, and keep changes away from connectors the run did not create."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from connectors_mock.contract.ledger import Ledger, Owner
from connectors_mock.contract.plugin import configured_schema, contract_document, is_valid
from connectors_mock.contract.safety import Safety

VALID_CREATE: dict[str, Any] = {
    "name": "Docs",
    "type": "s3",
    "collection": "col_generated",
    "config": {"bucket": "my-documents", "region": "us-east-1"},
    "credentials": {"accessKeyId": "AKIAEXAMPLE", "secretAccessKey": "secret-value"},
}


@pytest.fixture
def safety() -> Safety:
    return Safety(
        ledger=Ledger(),
        collection="col_abc123",
        is_name=is_valid("ConnectorName"),
        is_collection=is_valid("CollectionId"),
        is_connector_id=is_valid("ConnectorId"),
    )


def case(operation_id: str, **parts: Any) -> Any:
    return configured_schema(0, 1).find_operation_by_id(operation_id).Case(**parts)


def is_valid_create(body: dict[str, Any]) -> bool:
    document = contract_document()
    schema = {"$ref": "#/components/schemas/CreateConnectorRequest", "components": document["components"]}
    return Draft202012Validator(schema).is_valid(body)


def test_a_created_connector_gets_the_run_prefix_and_an_existing_collection(safety: Safety) -> None:
    create = case("createConnector", body=dict(VALID_CREATE))
    safety.prepare(create)
    assert create.body["name"] == safety.ledger.prefix + "Docs"
    assert create.body["collection"] == "col_abc123"
    assert is_valid_create(create.body)


def test_a_name_too_long_for_the_prefix_is_cut_to_stay_valid(safety: Safety) -> None:
    create = case("createConnector", body={**VALID_CREATE, "name": "x" * 199 + "y"})
    safety.prepare(create)
    assert create.body["name"].startswith(safety.ledger.prefix)
    assert len(create.body["name"]) == 200
    assert is_valid_create(create.body)


@pytest.mark.parametrize("name", ["", " leading space", "x" * 201, 7])
def test_an_invalid_name_stays_invalid(safety: Safety, name: Any) -> None:
    create = case("createConnector", body={**VALID_CREATE, "name": name})
    safety.prepare(create)
    assert create.body["name"] == name
    assert not is_valid_create(create.body)


def test_an_invalid_collection_stays_invalid(safety: Safety) -> None:
    create = case("createConnector", body={**VALID_CREATE, "collection": "not a collection"})
    safety.prepare(create)
    assert create.body["collection"] == "not a collection"


@pytest.mark.parametrize("operation_id", ["updateConnector", "deleteConnector", "triggerSync"])
def test_changes_to_a_connector_the_run_did_not_create_go_to_an_id_that_cannot_exist(
    safety: Safety, operation_id: str
) -> None:
    body = {"body": {"name": "x"}} if operation_id == "updateConnector" else {}
    change = case(operation_id, path_parameters={"id": "conn_abc123"}, **body)
    safety.prepare(change)
    assert change.path_parameters["id"] != "conn_abc123"
    assert is_valid("ConnectorId")(change.path_parameters["id"])


def test_changes_to_its_own_connectors_and_reads_of_any_are_left_alone(safety: Safety) -> None:
    safety.ledger.created["conn_mine"] = Owner("key", None)
    own = case("deleteConnector", path_parameters={"id": "conn_mine"})
    read = case("getConnector", path_parameters={"id": "conn_abc123"})
    invalid = case("deleteConnector", path_parameters={"id": "not-an-id"})
    for request in (own, read, invalid):
        before = dict(request.path_parameters)
        safety.prepare(request)
        assert request.path_parameters == before
