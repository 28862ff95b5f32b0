"""Fixture files: collections and connectors every tenant starts with. Faker fills whatever a
fixture leaves out, from one seeded source, so `--seed` makes the filled data repeat.

The file's shape is checked by a small JSON Schema; each connector, once filled, is checked
against the contract itself (`Connector`, and the type's credentials).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from faker import Faker

from connectors_mock.clock import isoformat, parse_timestamp
from connectors_mock.connectors import Connector, SeedData, comparable_name
from connectors_mock.errors import FieldError
from connectors_mock.ids import IdSource, seeded_random
from connectors_mock.jobs import TYPICAL_DOCUMENTS, Job, SyncFailure, SyncScript
from connectors_mock.oauth import StandingConsent
from connectors_mock.spec import Spec, read_document
from connectors_mock.validators import Validator

FIXTURE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["collections"],
    "additionalProperties": False,
    "properties": {
        "collections": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"type": "string"}},
        "connectors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "collection"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string"},
                    "name": {"type": "string"},
                    "type": {"type": "string"},
                    # `syncing` needs a job, which a fixture cannot hold.
                    "status": {"enum": ["active", "error"]},
                    "collection": {"type": "string"},
                    "config": {"type": "object"},
                    "credentials": {"type": "object"},
                    "createdAt": {},
                    "updatedAt": {},
                    "lastSync": {},
                    "lastError": {"type": ["object", "null"]},
                    # The job that ended at `lastSync` (or at `lastError`, failing).
                    "lastJob": {
                        "type": "object",
                        "required": ["id"],
                        "additionalProperties": False,
                        "properties": {
                            "id": {"type": "string"},
                            "startedAt": {},
                            "documents": {"type": "integer", "minimum": 1, "maximum": 10_000_000},
                        },
                    },
                },
            },
        },
        "oauthFlows": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "state", "code"],
                "additionalProperties": False,
                "properties": {
                    "type": {"type": "string"},
                    "state": {"type": "string"},
                    "code": {"type": "string"},
                    "collection": {"type": "string"},
                    "name": {"type": "string"},
                },
            },
        },
    },
}

_FIXTURE_CHECK = Validator(FIXTURE_SCHEMA)

LABELS = {
    "s3": "S3",
    "google_drive": "Google Drive",
    "confluence": "Confluence",
    "github": "GitHub",
    "slack": "Slack",
    "notion": "Notion",
    "salesforce": "Salesforce",
    "postgresql": "Postgres",
}

AWS_REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"]
SALESFORCE_OBJECTS = ["Account", "Contact", "Case", "Opportunity", "Lead", "KnowledgeArticle__c"]


class FixtureError(Exception):
    """A fixture file that cannot be loaded; the message names the file and the place."""


def _word(fake: Faker) -> str:
    """A lower-case ASCII word (faker's words may be capitalised)."""
    return "".join(c for c in str(fake.word()).lower() if c.isascii() and c.isalnum()) or "docs"


def _slug(fake: Faker) -> str:
    return f"{_word(fake)}-{_word(fake)}"


def _token(fake: Faker, length: int) -> str:
    return str(fake.lexify("?" * length, letters="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"))


# For each type: a plausible config and credentials, as a person setting it up would enter them.
Filler = Callable[[Faker], tuple[dict[str, Any], dict[str, Any]]]
FILLERS: dict[str, Filler] = {
    "s3": lambda f: (
        {"bucket": f"{_slug(f)}-docs", "region": f.random_element(AWS_REGIONS), "prefix": f"/{_word(f)}/"},
        {"accessKeyId": "AKIA" + _token(f, 16).upper(), "secretAccessKey": _token(f, 40)},
    ),
    "google_drive": lambda f: ({}, {"accessToken": "ya29." + _token(f, 64), "refreshToken": _token(f, 48)}),
    "confluence": lambda f: (
        {"instanceUrl": f"https://{_word(f)}.atlassian.net/wiki", "spaceKeys": [_word(f).upper()]},
        {"email": f.company_email(), "apiToken": _token(f, 24)},
    ),
    "github": lambda f: (
        {"repos": [f"{_word(f)}/{_slug(f)}"], "branch": "main", "pathFilter": "docs/**/*.md"},
        {"token": "ghp_" + _token(f, 36)},
    ),
    "slack": lambda f: (
        {"channels": [f"#{_word(f)}", f"#{_word(f)}-help"]},
        {"botToken": "xoxb-" + f.numerify("############-#############-") + _token(f, 24)},
    ),
    "notion": lambda f: ({}, {"accessToken": "secret_" + _token(f, 43)}),
    "salesforce": lambda f: (
        {"objects": f.random_elements(SALESFORCE_OBJECTS, length=2, unique=True)},
        {"username": f.company_email(), "password": f.password(length=16), "securityToken": _token(f, 24)},
    ),
    "postgresql": lambda f: (
        {"host": f"db.{f.domain_name()}", "port": 5432, "database": f"{_word(f)}_prod", "schema": "public"},
        {"username": f.user_name()[:63], "password": f.password(length=20)},
    ),
}


def _timestamp(value: Any, where: str) -> datetime:
    # YAML reads an unquoted 2024-01-15T10:00:00Z as a datetime already.
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        return parse_timestamp(str(value))
    except ValueError:
        raise FixtureError(f"{where}: {value!r} is not an ISO 8601 timestamp such as 2024-01-15T10:00:00Z") from None


def load_seed_data(path: Path, spec: Spec, now: datetime, seed: int | None) -> SeedData:
    """Read a fixture file, fill in what it leaves out, and check the result against the spec."""
    try:
        document = read_document(path)
    except (OSError, yaml.YAMLError) as exc:
        raise FixtureError(f"{path}: {exc}") from exc
    if not _FIXTURE_CHECK.is_valid(document):
        # Imported only now: jsonschema costs start-up time, and only a broken file needs it.
        # (jsonschema-rs also says no to YAML's timestamps, which jsonschema reads as they are.)
        from jsonschema import Draft202012Validator  # noqa: PLC0415

        shape_errors = sorted(Draft202012Validator(FIXTURE_SCHEMA).iter_errors(document), key=lambda e: e.json_path)
        if shape_errors:
            raise FixtureError("\n".join(f"{path}: {e.json_path}: {e.message}" for e in shape_errors))

    # Without --seed the filled-in data still stays put from one start to the next, so a
    # front end can keep a fixture's id; only what clients create later is random.
    fill_seed = seed if seed is not None else 0
    fake = Faker()
    fake.seed_instance(fill_seed)
    ids = IdSource(seeded_random(fill_seed, "fixtures"))
    collection_check = spec.schema_validator("CollectionId")
    problems: list[str] = []
    for index, collection in enumerate(document["collections"]):
        problems += _lines(collection_check.errors(collection), f"$.collections[{index}]")
    connectors: list[Connector] = []
    jobs: list[Job] = []
    seen_ids: set[str] = set()
    seen_names: set[tuple[str, str]] = set()
    for index, raw in enumerate(document.get("connectors") or []):
        where = f"$.connectors[{index}]"
        if raw["type"] not in FILLERS:
            problems.append(f"{where}.type: unknown type {raw['type']!r} (known: {', '.join(FILLERS)})")
            continue
        try:
            connector = _fill(raw, fake, ids, now, where)
            job = _last_job(raw.get("lastJob"), connector, f"{where}.lastJob")
        except FixtureError as exc:
            problems.append(str(exc))
            continue
        problems += _check(connector, where, spec, document["collections"])
        if job is not None:
            problems += _lines(spec.schema_validator("JobId").errors(job.id), f"{where}.lastJob.id")
            jobs.append(job)
        if connector.id in seen_ids:
            problems.append(f"{where}.id: {connector.id!r} is used twice")
        if (connector.collection, comparable_name(connector.name)) in seen_names:
            problems.append(f"{where}.name: {connector.name!r} is used twice in {connector.collection}")
        seen_ids.add(connector.id)
        seen_names.add((connector.collection, comparable_name(connector.name)))
        connectors.append(connector)
    consents = [
        StandingConsent(raw["state"], raw["code"], raw["type"], raw.get("collection"), raw.get("name"))
        for raw in document.get("oauthFlows") or []
    ]
    problems += _consent_problems(consents, spec, document["collections"])
    if problems:
        raise FixtureError("\n".join(f"{path}: {problem}" for problem in problems))
    # Listed oldest first, as the contract promises; later creations append in time order.
    connectors.sort(key=lambda c: c.created_at)
    return SeedData(tuple(document["collections"]), tuple(connectors), tuple(jobs), tuple(consents))


def _fill(raw: dict[str, Any], fake: Faker, ids: IdSource, now: datetime, where: str) -> Connector:
    config, credentials = FILLERS[raw["type"]](fake)
    created = raw.get("createdAt") or fake.date_time_between(now - timedelta(days=180), now - timedelta(days=1), UTC)
    created_at = _timestamp(created, f"{where}.createdAt").replace(microsecond=0)
    status = raw.get("status", "active")
    last_error = raw.get("lastError")
    if status == "error" and last_error is None:
        last_error = {"code": "source_unreachable", "message": "The source did not answer within 30 seconds"}
    if last_error is not None:
        occurred = last_error.get("occurredAt") or created_at + timedelta(days=1)
        last_error = {**last_error, "occurredAt": isoformat(_timestamp(occurred, f"{where}.lastError.occurredAt"))}
    return Connector(
        id=raw.get("id") or ids.new("conn_"),
        name=raw.get("name") or f"{fake.company()} {LABELS[raw['type']]}",
        type=raw["type"],
        collection=raw["collection"],
        config=raw.get("config", config),
        status=status,
        created_at=created_at,
        updated_at=_timestamp(raw["updatedAt"], f"{where}.updatedAt") if "updatedAt" in raw else created_at,
        last_sync=_timestamp(raw["lastSync"], f"{where}.lastSync") if raw.get("lastSync") else None,
        # A fixture that has synced is taken to have synced in full once.
        full_sync_done=bool(raw.get("lastSync")),
        last_error=last_error,
        credentials=raw.get("credentials", credentials),
    )


def _last_job(raw: dict[str, Any] | None, connector: Connector, where: str) -> Job | None:
    """The job that left the connector as the fixture has it: completed at `lastSync`, or
    failed at `lastError.occurredAt` with that error, half way through."""
    if raw is None:
        return None
    error = connector.last_error if connector.status == "error" else None
    ended = _timestamp(error["occurredAt"], where) if error else connector.last_sync
    if ended is None:
        raise FixtureError(f"{where}: only a connector with lastSync or lastError has a last job")
    failure = SyncFailure(0.5, error["code"], error["message"]) if error else None
    script = SyncScript(total=raw.get("documents", TYPICAL_DOCUMENTS[connector.type]), failure=failure)
    default_start = ended - timedelta(seconds=script.finishes_after)
    started = _timestamp(raw["startedAt"], f"{where}.startedAt") if "startedAt" in raw else default_start
    if started > default_start:
        raise FixtureError(f"{where}.startedAt: is later than {isoformat(default_start)}, too late to end by then")
    # Queued for the default time; running for the rest of the time until it ended.
    runs = ((ended - started).total_seconds() - script.queued_seconds) / (failure.at if failure else 1.0)
    script = SyncScript(script.total, script.queued_seconds, runs, failure)
    return Job(raw["id"], connector.id, "auto", None, started, script, full=True)


def _consent_problems(consents: list[StandingConsent], spec: Spec, collections: list[str]) -> list[str]:
    """Standing consents' values as `completeOAuth` will meet them."""
    problems = []
    for index, consent in enumerate(consents):
        where = f"$.oauthFlows[{index}]"
        if consent.connector_type not in spec.oauth_types:
            problems.append(f"{where}.type: {consent.connector_type!r} is not an OAuth type")
        problems += _lines(spec.schema_validator("OAuthState").errors(consent.state), f"{where}.state")
        problems += _lines(spec.schema_validator("OAuthCode").errors(consent.code), f"{where}.code")
        if consent.name is not None:
            problems += _lines(spec.schema_validator("ConnectorName").errors(consent.name), f"{where}.name")
        if consent.collection is not None and consent.collection not in collections:
            problems.append(f'{where}.collection: "{consent.collection}" is not listed under collections')
    if len({consent.state for consent in consents}) < len(consents):
        problems.append("$.oauthFlows: a state is used twice")
    return problems


def _lines(errors: list[FieldError], prefix: str) -> list[str]:
    return [f"{e.path}: {e.message}" for e in (error.under(prefix) for error in errors)]


def _check(connector: Connector, where: str, spec: Spec, collections: list[str]) -> list[str]:
    """One filled-in connector against the contract, and against what a client would trip over."""
    problems = _lines(spec.connector_check.errors(connector.to_json()), where)
    credential_check = spec.credential_validators.get(connector.type)
    if credential_check is not None:
        problems += _lines(credential_check.errors(connector.credentials), f"{where}.credentials")
    if connector.collection not in collections:
        problems.append(f'{where}.collection: "{connector.collection}" is not listed under collections')
    if connector.status == "active" and connector.last_error is not None:
        problems.append(f"{where}.lastError: an active connector has no last error (use status: error)")
    if connector.updated_at < connector.created_at:
        problems.append(f"{where}.updatedAt: is earlier than createdAt")
    if connector.last_sync is not None and connector.last_sync < connector.created_at:
        problems.append(f"{where}.lastSync: is earlier than createdAt")
    return problems
