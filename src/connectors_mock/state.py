"""The fake's memory: one `Tenant` per API key (and team), each with its own copy of the
fixtures. Plain Python, no HTTP: methods are named after the API's operations and raise
`ApiError`s that the HTTP layer renders.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from connectors_mock.clock import Clock, isoformat
from connectors_mock.errors import ApiError, FieldError, not_found, validation_failed
from connectors_mock.ids import IdSource, seeded_random


class SchemaCheck(Protocol):
    def errors(self, instance: object) -> list[FieldError]: ...


@dataclass(slots=True)
class Connector:
    id: str
    name: str
    type: str
    collection: str
    config: dict[str, Any]
    status: str
    created_at: datetime
    updated_at: datetime
    last_sync: datetime | None = None
    last_error: dict[str, Any] | None = None
    # Write-only: kept so the fake behaves like the service, never rendered.
    credentials: dict[str, Any] = field(default_factory=dict, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "status": self.status,
            "collection": self.collection,
            "config": self.config,
            "lastSync": isoformat(self.last_sync) if self.last_sync else None,
            "lastError": self.last_error,
            "createdAt": isoformat(self.created_at),
            "updatedAt": isoformat(self.updated_at),
        }


@dataclass(frozen=True)
class SeedData:
    """What every tenant starts with: the fixtures, already filled in."""

    collections: tuple[str, ...]
    connectors: tuple[Connector, ...]


def merge_config(stored: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """Key by key, as JSON Merge Patch (RFC 7396) does at the top level: `null` removes a key."""
    merged = dict(stored)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


class Tenant:
    def __init__(self, seed: SeedData, clock: Clock, ids: IdSource, config_checks: Mapping[str, SchemaCheck]) -> None:
        self._clock = clock
        self._ids = ids
        self._config_checks = config_checks
        self.collections = frozenset(seed.collections)
        self.connectors: dict[str, Connector] = {c.id: copy.deepcopy(c) for c in seed.connectors}
        self._names = {(c.collection, c.name): c.id for c in self.connectors.values()}

    def list_connectors(self) -> list[Connector]:
        return list(self.connectors.values())

    def get_connector(self, connector_id: str) -> Connector:
        try:
            return self.connectors[connector_id]
        except KeyError:
            raise not_found("Connector", connector_id) from None

    def create_connector(
        self,
        *,
        name: str,
        connector_type: str,
        collection: str,
        config: dict[str, Any],
        credentials: dict[str, Any],
    ) -> Connector:
        if collection not in self.collections:
            known = ", ".join(sorted(self.collections)) or "none"
            raise validation_failed(
                "Unknown collection",
                [FieldError("body", "$.collection", f'collection "{collection}" does not exist (known: {known})')],
            )
        self._check_name_free(collection, name)
        now = self._clock.now()
        connector_id = self._ids.new("conn_")
        while connector_id in self.connectors:
            connector_id = self._ids.new("conn_")
        connector = Connector(
            id=connector_id,
            name=name,
            type=connector_type,
            collection=collection,
            config=config,
            status="active",
            created_at=now,
            updated_at=now,
            credentials=credentials,
        )
        self.connectors[connector_id] = connector
        self._names[(collection, name)] = connector_id
        return connector

    def update_connector(self, connector_id: str, changes: Mapping[str, Any]) -> Connector:
        connector = self.get_connector(connector_id)
        errors = [
            FieldError(
                "body",
                f"$.{key}",
                f"a connector's {key} cannot change (it is {current!r}); create a new connector instead",
            )
            for key, current in (("type", connector.type), ("collection", connector.collection))
            if key in changes and changes[key] != current
        ]
        config = connector.config
        if "config" in changes:
            config = merge_config(connector.config, changes["config"])
            errors += [e.under("$.config") for e in self._config_checks[connector.type].errors(config)]
        if errors:
            raise validation_failed("Update refused", errors)
        name = changes.get("name", connector.name)
        if name != connector.name:
            self._check_name_free(connector.collection, name)
            del self._names[(connector.collection, connector.name)]
            self._names[(connector.collection, name)] = connector.id
        connector.name = name
        connector.config = config
        connector.updated_at = self._clock.now()
        return connector

    def delete_connector(self, connector_id: str) -> None:
        connector = self.get_connector(connector_id)
        del self.connectors[connector_id]
        del self._names[(connector.collection, connector.name)]

    def _check_name_free(self, collection: str, name: str) -> None:
        if (collection, name) in self._names:
            raise ApiError(
                409,
                "already_exists",
                f'A connector named "{name}" already exists in collection "{collection}"',
            )


class Backend:
    """Every tenant, created from the seed data the first time its key is seen."""

    def __init__(
        self,
        seed_data: SeedData,
        clock: Clock,
        config_checks: Mapping[str, SchemaCheck],
        seed: int | None = None,
    ) -> None:
        self.seed_data = seed_data
        self.clock = clock
        self._config_checks = config_checks
        self._seed = seed
        self._tenants: dict[str, Tenant] = {}

    @property
    def tenant_count(self) -> int:
        return len(self._tenants)

    def tenant(self, key: str) -> Tenant:
        tenant = self._tenants.get(key)
        if tenant is None:
            ids = IdSource(seeded_random(self._seed, "tenant", key))
            tenant = self._tenants[key] = Tenant(self.seed_data, self.clock, ids, self._config_checks)
        return tenant
