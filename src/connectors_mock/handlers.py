"""One small function per `operationId`: read the validated input, call the tenant's state,
say what to answer. Nothing here knows about HTTP beyond the status code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from connectors_mock.errors import ApiError
from connectors_mock.inputs import Inputs
from connectors_mock.state import Tenant


@dataclass(frozen=True)
class Call:
    operation_id: str
    tenant: Tenant
    inputs: Inputs


@dataclass(frozen=True)
class Reply:
    status: int
    data: Any = None


Handler = Callable[[Call], Reply]


def list_connectors(call: Call) -> Reply:
    return Reply(200, [connector.to_json() for connector in call.tenant.list_connectors()])


def create_connector(call: Call) -> Reply:
    body = call.inputs.body
    connector = call.tenant.create_connector(
        name=body["name"],
        connector_type=body["type"],
        collection=body["collection"],
        config=body["config"],
        credentials=body["credentials"],
    )
    return Reply(201, connector.to_json())


def get_connector(call: Call) -> Reply:
    return Reply(200, call.tenant.get_connector(call.inputs.path["id"]).to_json())


def update_connector(call: Call) -> Reply:
    return Reply(200, call.tenant.update_connector(call.inputs.path["id"], call.inputs.body).to_json())


def delete_connector(call: Call) -> Reply:
    call.tenant.delete_connector(call.inputs.path["id"])
    return Reply(204)


def not_implemented(call: Call) -> Reply:
    """Sync jobs and OAuth come in their own issue; until then the fake says so plainly,
    after the same checks (auth, validation, the connector exists) the real ones will make."""
    if "id" in call.inputs.path:
        call.tenant.get_connector(call.inputs.path["id"])
    raise ApiError(501, "not_implemented", f"{call.operation_id} is not implemented by connectors-mock yet")


HANDLERS: dict[str, Handler] = {
    "listConnectors": list_connectors,
    "createConnector": create_connector,
    "getConnector": get_connector,
    "updateConnector": update_connector,
    "deleteConnector": delete_connector,
    "triggerSync": not_implemented,
    "getSyncStatus": not_implemented,
    "authorizeOAuth": not_implemented,
    "completeOAuth": not_implemented,
}
