"""The whole state as one JSON document, and back: what `GET /_mock/state` exports and
`PUT /_mock/state` imports, so a suite can save a state it took many calls to reach and start
each run from it.

A snapshot is read by people other than the keys' owners, so it holds no secrets: a tenant is
named by `tenant_label`, never by its API key, and connector credentials are left out. Jobs are
kept as their start and script, as the fake keeps them, so an imported job goes on against the
clock from where the timeline says it is.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from connectors_mock.auth import tenant_label
from connectors_mock.clock import isoformat, parse_timestamp
from connectors_mock.connectors import Connector, SeedData
from connectors_mock.errors import FieldError, validation_failed
from connectors_mock.jobs import Job, SyncFailure, SyncScript
from connectors_mock.oauth import OAuthFlow
from connectors_mock.spec import Spec
from connectors_mock.state import Backend, Tenant
from connectors_mock.validators import Validator

# 2 adds the clock and the OAuth flows; a version 1 snapshot is still read (it has neither).
SNAPSHOT_VERSION = 2
READABLE_VERSIONS = (1, 2)
# What the fake keeps of a connector beyond what the API shows.
_KEPT = ("fullSyncDone", "currentJobId")


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"oneOf": [schema, {"type": "null"}]}


def _record(properties: dict[str, Any], description: str) -> dict[str, Any]:
    """An object with exactly these fields, all required: a snapshot is written whole."""
    return {
        "type": "object",
        "description": description,
        "required": list(properties),
        "additionalProperties": False,
        "properties": properties,
    }


_SHARE = {"type": "number", "minimum": 0, "maximum": 1}
_TIMESTAMP = {"$ref": "#/$defs/timestamp"}
_JOB_ID = {"$ref": "#/$defs/jobId"}

# Self-contained (its `$id` makes `#/$defs/...` resolve within it wherever it is embedded),
# since the /_mock OpenAPI document publishes it too. Each connector is held to the contract's
# `Connector` by `import_state`, so the shapes here are only what a snapshot adds or needs.
SNAPSHOT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "urn:connectors-mock:state",
    "title": "State snapshot",
    "description": "Every tenant of the fake, with its connectors, sync jobs and OAuth flows, and its clock; "
    "no API key, no credentials, no OAuth code.",
    "type": "object",
    "required": ["version", "tenants"],
    "additionalProperties": False,
    "properties": {
        "version": {"enum": list(READABLE_VERSIONS), "description": f"{SNAPSHOT_VERSION} when exported."},
        "exportedAt": {**_TIMESTAMP, "description": "When it was exported, on the fake's clock."},
        "clock": {
            "type": "object",
            "required": ["now"],
            "additionalProperties": False,
            "description": "The fake's clock when exported. A state file moves the clock there at start-up "
            "if it is behind (it never goes back); an import through the API leaves it alone.",
            "properties": {"now": _TIMESTAMP},
        },
        "tenants": {"type": "array", "items": {"$ref": "#/$defs/tenant"}},
        "oauthFlows": {
            "type": "array",
            "maxItems": 100_000,
            "items": {"$ref": "#/$defs/oauthFlow"},
            "description": "Issued OAuth flows: a pending one gets a new code when read back (none was seen), "
            "an approved one is completed with the code its browser was sent.",
        },
        "standingConsentsUsed": {
            "type": "array",
            "maxItems": 100_000,
            "items": _record(
                {"tenant": {"$ref": "#/$defs/tenantLabel"}, "state": {"type": "string", "minLength": 1}},
                "A fixture's standing consent this tenant has completed.",
            ),
        },
    },
    "$defs": {
        "timestamp": {"type": "string", "format": "date-time"},
        "collectionId": {"type": "string", "pattern": "^col_[A-Za-z0-9]{1,64}$"},
        "connectorId": {"type": "string", "pattern": "^conn_[A-Za-z0-9]{1,64}$"},
        "jobId": {"type": "string", "pattern": "^job_[A-Za-z0-9]{1,64}$"},
        "tenantLabel": {
            "type": "string",
            "pattern": "^key_[0-9a-f]{12}(/.+)?$",
            "description": "`key_` and the start of the key's SHA-256 (hex), then `/` and the "
            "X-Team-ID if any: the tenant of every key with that label.",
        },
        "oauthFlow": _record(
            {
                "state": {"type": "string", "minLength": 1, "maxLength": 128},
                "tenant": {"$ref": "#/$defs/tenantLabel"},
                "type": {"type": "string", "minLength": 1, "maxLength": 64},
                "collection": {"type": ["string", "null"]},
                "name": {"type": ["string", "null"]},
                "redirectUri": {"type": "string"},
                "expiresAt": _TIMESTAMP,
                "status": {"enum": ["pending", "approved", "denied", "used"]},
                "consent": {"enum": ["ask", "approve", "deny"]},
                "codeSha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            },
            "An OAuth flow authorizeOAuth started; its code is kept as its SHA-256 only.",
        ),
        "tenant": _record(
            {
                "tenant": {"$ref": "#/$defs/tenantLabel"},
                "collections": {
                    "type": "array",
                    "minItems": 1,
                    "uniqueItems": True,
                    "items": {"$ref": "#/$defs/collectionId"},
                },
                "connectors": {"type": "array", "items": {"$ref": "#/$defs/connector"}},
                "jobs": {"type": "array", "items": {"$ref": "#/$defs/job"}},
            },
            "One API key's (and team's) data.",
        ),
        "connector": _record(
            {
                "id": {"$ref": "#/$defs/connectorId"},
                "name": {"type": "string"},
                "type": {"type": "string"},
                "status": {"enum": ["active", "syncing", "error"]},
                "collection": {"$ref": "#/$defs/collectionId"},
                "config": {"type": "object"},
                "lastSync": _nullable(_TIMESTAMP),
                "lastError": {"type": ["object", "null"]},
                "createdAt": _TIMESTAMP,
                "updatedAt": _TIMESTAMP,
                "fullSyncDone": {"type": "boolean", "description": "Whether a full sync has completed."},
                "currentJobId": {
                    **_nullable(_JOB_ID),
                    "description": "The job that makes it `syncing`; null unless it is.",
                },
            },
            "A connector as the API shows it (`Connector`), and what the fake keeps besides. "
            "Credentials are never exported; an imported connector has none.",
        ),
        "job": _record(
            {
                "jobId": _JOB_ID,
                "connectorId": {"$ref": "#/$defs/connectorId"},
                "syncMode": {"enum": ["full", "incremental", "auto"]},
                "fileFilter": _nullable({"type": "array", "items": {"type": "string"}}),
                "startedAt": _TIMESTAMP,
                "full": {"type": "boolean", "description": "Whether it syncs everything."},
                "script": {"$ref": "#/$defs/script"},
            },
            "A sync job: its status and progress follow from `startedAt`, the script and the clock.",
        ),
        "script": _record(
            {
                "total": {"type": "integer", "minimum": 0},
                "queuedSeconds": {"type": "number", "minimum": 0},
                "runningSeconds": {"type": "number", "minimum": 0},
                "failure": _nullable(
                    _record(
                        {
                            "at": {**_SHARE, "description": "Share of the run after which it fails."},
                            "code": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,63}$"},
                            "message": {"type": "string"},
                        },
                        "How the job fails.",
                    )
                ),
                "stuckAt": {
                    **_nullable(_SHARE),
                    "description": "Share of the run at which it stops and never finishes.",
                },
            },
            "How the job unfolds.",
        ),
    },
}

_SNAPSHOT_CHECK = Validator(SNAPSHOT_SCHEMA, "body")


@dataclass(frozen=True)
class Snapshot:
    """What a snapshot holds, read and checked: tenants by label, as the state a key of each
    starts from; the OAuth flows; the clock, if it says."""

    tenants: dict[str, SeedData]
    flows: tuple[OAuthFlow, ...] = ()
    standing_used: dict[str, list[str]] = field(default_factory=dict)
    clock: datetime | None = None

    def apply(self, backend: Backend) -> None:
        """Replace the backend's tenants and OAuth flows (not its clock) with these."""
        backend.reset(self.tenants)
        backend.shared.flows.restore(self.flows, self.standing_used)


def export_state(backend: Backend, now: datetime) -> dict[str, Any]:
    """Every tenant, as a read at this moment would find it (finished jobs are folded into
    their connectors first), and the OAuth flows. Tenants by label; connectors in their
    tenant's order."""
    return _export(backend, now, _connector_json)


def export_fragments(backend: Backend, now: datetime) -> dict[str, Any]:
    """`export_state`, each connector as JSON text (`orjson.Fragment`) made from its JSON as
    the API last rendered it. A state file is written every second while the state changes,
    and rendering ten thousand connectors afresh would hold the event loop for 50 ms each time;
    this takes a few, and what it returns holds nothing the state can change, so `orjson.dumps`
    can write it out in another thread."""
    return _export(backend, now, _connector_fragment)


def _export(backend: Backend, now: datetime, connector_json: Callable[[Connector], Any]) -> dict[str, Any]:
    tenants = backend.tenants()
    flows = backend.shared.flows
    return {
        "version": SNAPSHOT_VERSION,
        "exportedAt": isoformat(now),
        "clock": {"now": _precise(now)},
        "tenants": [_tenant_json(label, tenants[label], connector_json) for label in sorted(tenants)],
        "oauthFlows": [_flow_json(flow) for flow in flows.flows()],
        "standingConsentsUsed": [
            {"tenant": tenant, "state": state} for tenant, states in flows.standing_used().items() for state in states
        ],
    }


def _flow_json(flow: OAuthFlow) -> dict[str, Any]:
    return {
        "state": flow.state,
        "tenant": flow.tenant,
        "type": flow.connector_type,
        "collection": flow.collection,
        "name": flow.name,
        "redirectUri": flow.redirect_uri,
        "expiresAt": _precise(flow.expires_at),
        "status": flow.status,
        "consent": flow.consent,
        "codeSha256": flow.digest,
    }


def tenant_json(backend: Backend, key: str) -> dict[str, Any]:
    """One key's tenant, as a snapshot holds it (made from the fixtures if it is new)."""
    return _tenant_json(tenant_label(key), backend.tenant(key))


def import_state(backend: Backend, document: Any, spec: Spec) -> int:
    """Replace all state with `document` (as `export_state` gives it) and return how many
    tenants it holds. Every tenant and OAuth flow goes; from then on a key whose
    `tenant_label` is in the document starts from its tenant there, any other from the
    fixtures. Nothing changes unless the whole document is valid (else a 422 names each
    failing field).

    Imported connectors have no credentials (`{}`): an export never holds them, and the fake
    never uses them.
    """
    snapshot = read_snapshot(document, spec)
    snapshot.apply(backend)
    return len(snapshot.tenants)


def read_snapshot(document: Any, spec: Spec) -> Snapshot:
    """A snapshot's content, checked whole: a 422 names every failing field."""
    errors = _SNAPSHOT_CHECK.errors(document)
    if errors:
        raise validation_failed("State not imported", errors)
    tenants: dict[str, SeedData] = {}
    for index, raw in enumerate(document["tenants"]):
        where = f"$.tenants[{index}]"
        if raw["tenant"] in tenants:
            errors.append(_error(f"{where}.tenant", f'"{raw["tenant"]}" is listed twice'))
        tenants[raw["tenant"]] = _read_tenant(raw, where, spec, errors)
    flows = []
    for index, raw in enumerate(document.get("oauthFlows", [])):
        at = f"$.oauthFlows[{index}]"
        expires_at = _timestamp(raw["expiresAt"], f"{at}.expiresAt", errors)
        flows.append(_read_flow(raw, expires_at))
    if len({flow.state for flow in flows}) < len(flows):
        errors.append(_error("$.oauthFlows", "a state is listed twice"))
    standing: dict[str, list[str]] = {}
    for used in document.get("standingConsentsUsed", []):
        standing.setdefault(used["tenant"], []).append(used["state"])
    clock = document.get("clock")
    now = _timestamp(clock["now"], "$.clock.now", errors) if clock else None
    if errors:
        raise validation_failed("State not imported", errors)
    return Snapshot(tenants, tuple(flows), standing, now)


def _read_flow(raw: dict[str, Any], expires_at: datetime) -> OAuthFlow:
    return OAuthFlow(
        state=raw["state"],
        tenant=raw["tenant"],
        connector_type=raw["type"],
        collection=raw["collection"],
        name=raw["name"],
        redirect_uri=raw["redirectUri"],
        expires_at=expires_at,
        code="",
        status=raw["status"],
        consent=raw["consent"],
        digest=raw["codeSha256"],
    )


def _tenant_json(
    label: str, tenant: Tenant, connector_json: Callable[[Connector], Any] | None = None
) -> dict[str, Any]:
    connector_json = connector_json or _connector_json
    return {
        "tenant": label,
        "collections": sorted(tenant.collections),
        "connectors": [connector_json(connector) for connector in tenant.list_connectors()],
        "jobs": [_job_json(job) for job in tenant.jobs()],
    }


def _connector_json(connector: Connector) -> dict[str, Any]:
    # Not copied: `to_json` makes a new dict, and a connector's `config` and `lastError` are
    # replaced when they change, never changed in place (`Connector`).
    shown = connector.to_json()
    job = connector.current_job
    return {**shown, "fullSyncDone": connector.full_sync_done, "currentJobId": job.id if job else None}


def _connector_fragment(connector: Connector) -> orjson.Fragment:
    """`_connector_json` as JSON text: the connector's rendered object, its closing brace
    replaced by what the fake keeps besides (two more members)."""
    job = connector.current_job
    kept = orjson.dumps({"fullSyncDone": connector.full_sync_done, "currentJobId": job.id if job else None})
    return orjson.Fragment(connector.rendered_text()[:-1] + b"," + kept[1:])


def _job_json(job: Job) -> dict[str, Any]:
    script, failure = job.script, job.script.failure
    return {
        "jobId": job.id,
        "connectorId": job.connector_id,
        "syncMode": job.mode,
        "fileFilter": list(job.file_filter) if job.file_filter is not None else None,
        "startedAt": _precise(job.started_at),
        "full": job.full,
        "script": {
            "total": script.total,
            "queuedSeconds": script.queued_seconds,
            "runningSeconds": script.running_seconds,
            "failure": {"at": failure.at, "code": failure.code, "message": failure.message} if failure else None,
            "stuckAt": script.stuck_at,
        },
    }


def _precise(moment: datetime) -> str:
    """`isoformat`, with the microseconds when there are any: a job started half a second in
    must end at the same moment after an import."""
    text = isoformat(moment)
    return f"{text[:-1]}.{moment.microsecond:06d}Z" if moment.microsecond else text


def _read_tenant(raw: dict[str, Any], where: str, spec: Spec, errors: list[FieldError]) -> SeedData:
    # The jobs are read first, for the connectors to find theirs; their errors follow the
    # connectors', as they do in the document.
    job_errors: list[FieldError] = []
    connector_ids = {connector["id"] for connector in raw["connectors"]}
    jobs: dict[tuple[str, str], Job] = {}
    for index, job_raw in enumerate(raw["jobs"]):
        at = f"{where}.jobs[{index}]"
        key = (job_raw["connectorId"], job_raw["jobId"])
        if key[0] not in connector_ids:
            job_errors.append(_error(f"{at}.connectorId", f'"{key[0]}" is not a connector of this tenant'))
        if key in jobs:
            job_errors.append(_error(f"{at}.jobId", f'"{key[1]}" is used twice for connector "{key[0]}"'))
        jobs[key] = _read_job(job_raw, at, job_errors)

    collections = raw["collections"]
    seen_ids: set[str] = set()
    seen_names: set[tuple[str, str]] = set()
    connectors = []
    for index, connector_raw in enumerate(raw["connectors"]):
        at = f"{where}.connectors[{index}]"
        shown = {key: value for key, value in connector_raw.items() if key not in _KEPT}
        errors.extend(error.under(at) for error in spec.connector_check.errors(shown))
        connector_id, collection, name = shown["id"], shown["collection"], shown["name"]
        if collection not in collections:
            errors.append(_error(f"{at}.collection", f'"{collection}" is not one of this tenant\'s collections'))
        if connector_id in seen_ids:
            errors.append(_error(f"{at}.id", f'"{connector_id}" is used twice'))
        if (collection, name) in seen_names:
            errors.append(_error(f"{at}.name", f'"{name}" is used twice in collection "{collection}"'))
        seen_ids.add(connector_id)
        seen_names.add((collection, name))
        current_id = connector_raw["currentJobId"]
        current = jobs.get((connector_id, current_id)) if current_id is not None else None
        if current_id is not None and current is None:
            errors.append(_error(f"{at}.currentJobId", f'"{current_id}" is not a job of this connector'))
        if (shown["status"] == "syncing") != (current_id is not None):
            # A syncing connector waits for its job to end; any other must not have one.
            errors.append(_error(f"{at}.currentJobId", "is set if, and only if, the status is syncing"))
        connectors.append(_read_connector(shown, current, connector_raw["fullSyncDone"], at, errors))
    errors.extend(job_errors)
    return SeedData(tuple(collections), tuple(connectors), tuple(jobs.values()))


def _read_connector(
    shown: dict[str, Any], current: Job | None, full_sync_done: bool, at: str, errors: list[FieldError]
) -> Connector:
    last_sync = shown["lastSync"]
    return Connector(
        id=shown["id"],
        name=shown["name"],
        type=shown["type"],
        collection=shown["collection"],
        config=copy.deepcopy(shown["config"]),
        status=shown["status"],
        created_at=_timestamp(shown["createdAt"], f"{at}.createdAt", errors),
        updated_at=_timestamp(shown["updatedAt"], f"{at}.updatedAt", errors),
        last_sync=_timestamp(last_sync, f"{at}.lastSync", errors) if last_sync is not None else None,
        last_error=copy.deepcopy(shown["lastError"]),
        current_job=current,
        full_sync_done=full_sync_done,
    )


def _read_job(raw: dict[str, Any], at: str, errors: list[FieldError]) -> Job:
    script, failure = raw["script"], raw["script"]["failure"]
    file_filter = raw["fileFilter"]
    return Job(
        id=raw["jobId"],
        connector_id=raw["connectorId"],
        mode=raw["syncMode"],
        file_filter=tuple(file_filter) if file_filter is not None else None,
        started_at=_timestamp(raw["startedAt"], f"{at}.startedAt", errors),
        script=SyncScript(
            # JSON Schema takes 5.0 for an integer; counters must still read 5.
            total=int(script["total"]),
            queued_seconds=script["queuedSeconds"],
            running_seconds=script["runningSeconds"],
            failure=SyncFailure(failure["at"], failure["code"], failure["message"]) if failure else None,
            stuck_at=script["stuckAt"],
        ),
        full=raw["full"],
    )


def _timestamp(text: str, path: str, errors: list[FieldError]) -> datetime:
    """`text` as a moment. RFC 3339 allows a few Python cannot hold: in UTC, the first hour
    of year 1 written with a positive offset is in year 0."""
    try:
        # RFC 3339 also allows a lower-case `t` and `z`.
        return parse_timestamp(text.upper())
    except (ValueError, OverflowError):
        errors.append(_error(path, f'"{text}" is not a moment this server can hold'))
        return datetime.min  # never kept: the error refuses the import


def _error(path: str, message: str) -> FieldError:
    return FieldError("body", path, message)
