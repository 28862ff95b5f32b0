"""A connector as the fake stores it, and the seed data every tenant starts from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connectors_mock.clock import isoformat
from connectors_mock.jobs import Job


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
    # The job that made the status `syncing`, until a read finds it finished.
    current_job: Job | None = None
    # Until a full sync completes, an `auto` sync is a full one.
    full_sync_done: bool = False

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
    """What a tenant starts with: the fixtures, already filled in, or an imported state."""

    collections: tuple[str, ...]
    connectors: tuple[Connector, ...]
    # Only an imported state has jobs (a connector's `current_job` is one of them).
    jobs: tuple[Job, ...] = ()


def merge_config(stored: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """Key by key, as JSON Merge Patch (RFC 7396) does at the top level: `null` removes a key."""
    merged = dict(stored)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged
