"""Connectors as a client relies on them: what is created reads back as sent, an update
changes what it names and keeps the rest, a delete is final, and credentials never return."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from connectors_mock.contract.client import ApiClient
from connectors_mock.contract.ledger import Ledger
from connectors_mock.contract.plugin import Properties
from connectors_mock.contract.strategies import create_bodies, name_text, s3_body, s3_config_changes


def instant(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp)


# Names a rename gives are unique in the run, as names must be in a collection.
renames = itertools.count()


def created(contract_api: ApiClient, body: dict[str, Any]) -> dict[str, Any]:
    response = contract_api.call("createConnector", body=body)
    assert response.status_code == 201, f"creating a valid connector answered {response.status_code}"
    connector: dict[str, Any] = contract_api.data(response)
    return connector


def fetched(contract_api: ApiClient, connector_id: str) -> dict[str, Any]:
    response = contract_api.call("getConnector", path={"id": connector_id})
    assert response.status_code == 200, f"reading connector {connector_id} answered {response.status_code}"
    connector: dict[str, Any] = contract_api.data(response)
    return connector


def test_what_is_created_reads_back_as_sent(
    contract_api: ApiClient, contract_collection_id: str, contract_ledger: Ledger, contract_properties: Properties
) -> None:
    @contract_properties
    @given(body=create_bodies(contract_ledger.prefix, contract_collection_id))
    @example(
        body={
            **s3_body(contract_ledger.prefix, contract_collection_id),
            "name": contract_ledger.prefix + "Données ✓ 東京",
        }
    )
    def check(body: dict[str, Any]) -> None:
        connector = created(contract_api, body)
        for field in ("name", "type", "collection"):
            assert connector[field] == body[field], f"created `{field}` is {connector[field]!r}, sent {body[field]!r}"
        # A server may fill in documented defaults (a port), but keeps every key it was sent.
        for key, value in body["config"].items():
            assert connector["config"].get(key) == value, f"created `config.{key}` differs from what was sent"
        assert fetched(contract_api, connector["id"]) == connector, (
            "a get right after create differs from the create's answer"
        )
        listed = contract_api.data(contract_api.call("listConnectors"))
        assert connector["id"] in [item["id"] for item in listed], "a created connector is missing from the list"

    check()


def test_credentials_never_come_back(
    contract_api: ApiClient, contract_collection_id: str, contract_ledger: Ledger, contract_properties: Properties
) -> None:
    @contract_properties
    @given(body=create_bodies(contract_ledger.prefix, contract_collection_id))
    def check(body: dict[str, Any]) -> None:
        # The emails and usernames are the same in every example; the rest is unique to this one.
        secrets = {value for value in body["credentials"].values() if "@" not in value and value != "suite"}
        connector = created(contract_api, body)
        answers = [
            contract_api.call("getConnector", path={"id": connector["id"]}),
            contract_api.call("listConnectors"),
            contract_api.call(
                "updateConnector", path={"id": connector["id"]}, body={"name": body["name"] + " renamed"}
            ),
            contract_api.call("triggerSync", path={"id": connector["id"]}),
        ]
        for answer in answers:
            for secret in secrets:
                assert secret not in answer.text, (
                    f"{answer.request.method} {answer.request.url} answered with a credential sent at create"
                )

    check()


def test_update_then_get_shows_the_update_and_keeps_the_rest(
    contract_api: ApiClient, contract_collection_id: str, contract_ledger: Ledger, contract_properties: Properties
) -> None:
    @contract_properties
    @given(new_name=st.none() | name_text, config=s3_config_changes)
    @example(new_name=None, config={"prefix": None})
    def check(new_name: str | None, config: dict[str, Any]) -> None:
        before = created(contract_api, s3_body(contract_ledger.prefix, contract_collection_id))
        update: dict[str, Any] = {"config": config}
        if new_name is not None:
            update["name"] = f"{contract_ledger.prefix}{new_name} {next(renames)}"
        response = contract_api.call("updateConnector", path={"id": before["id"]}, body=update)
        assert response.status_code == 200, f"a valid update answered {response.status_code}"
        expected = {key: value for key, value in {**before["config"], **config}.items() if value is not None}
        after = fetched(contract_api, before["id"])
        assert after == contract_api.data(response), "a get right after update differs from the update's answer"
        assert after["name"] == update.get("name", before["name"]), "the name is not what the update left it"
        assert after["config"] == expected, (
            f"config after sending {config!r} to {before['config']!r} is {after['config']!r}, "
            f"expected {expected!r} (keys not sent are kept, null removes)"
        )
        assert (after["type"], after["collection"]) == (before["type"], before["collection"])

    check()


def test_the_list_is_oldest_first(
    contract_api: ApiClient, contract_collection_id: str, contract_ledger: Ledger
) -> None:
    created(contract_api, s3_body(contract_ledger.prefix, contract_collection_id, "older"))
    created(contract_api, s3_body(contract_ledger.prefix, contract_collection_id, "newer"))
    # Compared as instants (`...:00Z` and `...:00.25Z` do not sort as text); equal ones may come
    # in any order.
    stamps = [instant(item["createdAt"]) for item in contract_api.data(contract_api.call("listConnectors"))]
    assert stamps == sorted(stamps), "the list is not oldest first"


def test_delete_is_final(contract_api: ApiClient, contract_collection_id: str, contract_ledger: Ledger) -> None:
    connector = created(contract_api, s3_body(contract_ledger.prefix, contract_collection_id, "to delete"))
    deleted = contract_api.call("deleteConnector", path={"id": connector["id"]})
    assert deleted.status_code == 204, f"deleting a connector answered {deleted.status_code}"
    for operation, body in (("getConnector", None), ("updateConnector", {"name": "back"}), ("triggerSync", None)):
        answer = contract_api.call(operation, path={"id": connector["id"]}, body=body)
        assert answer.status_code == 404, f"{operation} of a deleted connector answered {answer.status_code}"
    again = contract_api.call("deleteConnector", path={"id": connector["id"]})
    assert again.status_code == 404, f"deleting a deleted connector again answered {again.status_code}"
    listed = contract_api.data(contract_api.call("listConnectors"))
    assert connector["id"] not in [item["id"] for item in listed], "a deleted connector is still listed"
