"""One small function per `operationId`: read the validated input, call the tenant's state,
say what to answer. Nothing here knows about HTTP beyond the status code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from connectors_mock.clock import isoformat
from connectors_mock.connectors import rendered_list
from connectors_mock.inputs import Inputs
from connectors_mock.jobs import ScriptSource, requested_sync
from connectors_mock.oauth import CALLBACK_PATH, DEFAULT_BEHAVIOUR, OAuthBehaviour, consent_path
from connectors_mock.state import Tenant


# Slots, not frozen: one is made for every request, and a frozen dataclass takes twice as long.
@dataclass(slots=True)
class Call:
    operation_id: str
    tenant: Tenant
    inputs: Inputs
    # `http://127.0.0.1:8080`: where the fake's own pages (the OAuth consent page) are reached.
    # A function, so only the one operation that needs it pays for building it.
    base_url: Callable[[], str] = str
    # What the request's scenario says of sync jobs and OAuth (`scenarios/`); by default, the
    # server's own scripts and provider.
    scripts: ScriptSource | None = None
    oauth: OAuthBehaviour = DEFAULT_BEHAVIOUR


@dataclass(frozen=True)
class Reply:
    status: int
    data: Any = None


Handler = Callable[[Call], Reply]


def list_connectors(call: Call) -> Reply:
    return Reply(200, rendered_list(call.tenant.list_connectors()))


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
    return Reply(200, call.tenant.get_connector(call.inputs.path["id"]).rendered())


def update_connector(call: Call) -> Reply:
    return Reply(200, call.tenant.update_connector(call.inputs.path["id"], call.inputs.body).to_json())


def delete_connector(call: Call) -> Reply:
    call.tenant.delete_connector(call.inputs.path["id"])
    return Reply(204)


def trigger_sync(call: Call) -> Reply:
    mode, file_filter = requested_sync(call.inputs.body)
    job = call.tenant.trigger_sync(call.inputs.path["id"], mode, file_filter, call.scripts)
    return Reply(202, job.to_json(call.tenant.clock.now()))


def get_sync_status(call: Call) -> Reply:
    job = call.tenant.get_job(call.inputs.path["id"], call.inputs.path["jobId"])
    return Reply(200, job.to_json(call.tenant.clock.now()))


def authorize_oauth(call: Call) -> Reply:
    connector_type = call.inputs.path["type"]
    query = call.inputs.query
    flow = call.tenant.authorize_oauth(
        connector_type,
        collection=query.get("collection"),
        name=query.get("name"),
        redirect_uri=query.get("redirect_uri") or call.base_url() + CALLBACK_PATH,
        behaviour=call.oauth,
    )
    auth_url = f"{call.base_url()}{consent_path(connector_type)}?{urlencode({'state': flow.state})}"
    return Reply(200, {"authUrl": auth_url, "state": flow.state, "expiresAt": isoformat(flow.expires_at)})


def complete_oauth(call: Call) -> Reply:
    body = call.inputs.body
    connector = call.tenant.complete_oauth(
        call.inputs.path["type"],
        code=body["code"],
        state=body["state"],
        name=body.get("name"),
        collection=body.get("collection"),
        behaviour=call.oauth,
    )
    return Reply(201, connector.to_json())


HANDLERS: dict[str, Handler] = {
    "listConnectors": list_connectors,
    "createConnector": create_connector,
    "getConnector": get_connector,
    "updateConnector": update_connector,
    "deleteConnector": delete_connector,
    "triggerSync": trigger_sync,
    "getSyncStatus": get_sync_status,
    "authorizeOAuth": authorize_oauth,
    "completeOAuth": complete_oauth,
}
