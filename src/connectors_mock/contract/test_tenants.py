"""Two teams' keys (`--api-key`, `--api-key-b`): neither can read, change, sync or delete the
other's connectors, or see them listed."""

from __future__ import annotations

from connectors_mock.contract.client import ApiClient
from connectors_mock.contract.ledger import Ledger
from connectors_mock.contract.strategies import s3_body
from connectors_mock.contract.test_connectors import created, fetched

REFUSED = (403, 404)


def test_another_team_cannot_reach_a_connector(
    contract_api: ApiClient, contract_api_b: ApiClient, contract_collection_id: str, contract_ledger: Ledger
) -> None:
    connector = created(contract_api, s3_body(contract_ledger.prefix, contract_collection_id, "team A only"))
    job = contract_api.data(contract_api.call("triggerSync", path={"id": connector["id"]}))
    attempts = [
        ("getConnector", {"id": connector["id"]}, None),
        ("updateConnector", {"id": connector["id"]}, {"name": contract_ledger.prefix + "taken over"}),
        ("triggerSync", {"id": connector["id"]}, None),
        ("getSyncStatus", {"id": connector["id"], "jobId": job["jobId"]}, None),
        ("deleteConnector", {"id": connector["id"]}, None),
    ]
    for operation, path, body in attempts:
        answer = contract_api_b.call(operation, path=path, body=body)
        assert answer.status_code in REFUSED, f"another team's {operation} answered {answer.status_code}"
    listed = contract_api_b.data(contract_api_b.call("listConnectors"))
    assert connector["id"] not in [item["id"] for item in listed], "another team's list shows the connector"
    assert fetched(contract_api, connector["id"])["name"] == connector["name"], (
        "another team's update changed the connector"
    )
