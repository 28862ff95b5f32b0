"""What keeps the suite safe against a real server, applied to every request it sends:

- every connector it creates is named with the run's prefix and recorded, so it can be found
  and deleted at the end;
- it creates them in a collection that exists (`--collection`), so creation succeeds and the
  stateful phase has something to follow;
- a request that would change or delete a connector the run did not create is sent to an id
  that cannot exist, so the server answers 404 and nothing of anyone else's is touched.

Each rewrite keeps a valid request valid and an invalid one invalid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from connectors_mock.contract.checks import operation_id, response_data
from connectors_mock.contract.ledger import Ledger, Owner

if TYPE_CHECKING:
    from schemathesis import Case, Response

CREATING = frozenset({"createConnector", "completeOAuth"})
NAMING = CREATING | {"updateConnector"}
CHANGING = frozenset({"updateConnector", "deleteConnector", "triggerSync"})


@dataclass(frozen=True)
class Safety:
    ledger: Ledger
    collection: str | None
    is_name: Callable[[Any], bool]
    is_collection: Callable[[Any], bool]
    is_connector_id: Callable[[Any], bool]

    @property
    def absent_id(self) -> str:
        return "conn_cmkabsent" + self.ledger.run

    def prefixed(self, name: str) -> str:
        """The run's prefix before `name`, cut to fit the schema if it must be."""
        prefix = self.ledger.prefix
        if name.startswith(prefix):
            return name
        candidate = prefix + name
        for end in range(len(candidate), len(prefix), -1):
            if self.is_name(candidate[:end]):
                return candidate[:end]
        return prefix + "connector"

    def prepare(self, case: Case[Any]) -> None:
        operation = operation_id(case)
        body = case.body
        if operation in NAMING and isinstance(body, dict):
            name = body.get("name")
            if isinstance(name, str) and self.is_name(name):
                body["name"] = self.prefixed(name)
            elif "name" not in body and operation == "completeOAuth":
                body["name"] = self.prefixed("oauth")
            if operation in CREATING and self.collection and self.is_collection(body.get("collection")):
                body["collection"] = self.collection
        query = case.query
        if operation == "authorizeOAuth" and isinstance(query, dict):
            # The connector the flow will create is named and placed here.
            if self.is_name(query.get("name")):
                query["name"] = self.prefixed(query["name"])
            if self.collection and self.is_collection(query.get("collection")):
                query["collection"] = self.collection
        self.ledger.record_sent(body)
        connector_id = (case.path_parameters or {}).get("id")
        undocumented_write = case.method.upper() not in ("GET", "HEAD", "OPTIONS", "TRACE") and (
            case.method.upper() != case.operation.method.upper()
        )
        if (
            (operation in CHANGING or undocumented_write)
            and self.is_connector_id(connector_id)
            and not self.ledger.is_ours(str(connector_id))
        ):
            assert case.path_parameters is not None
            case.path_parameters["id"] = self.absent_id

    def record(self, case: Case[Any], response: Response, owner: Owner) -> None:
        if operation_id(case) not in CREATING or response.status_code != 201:
            return
        data = response_data(response)
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            self.ledger.created[data["id"]] = owner
