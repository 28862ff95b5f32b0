"""A connector as the fake stores it, and the seed data every tenant starts from."""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

import orjson

from connectors_mock.clock import isoformat
from connectors_mock.jobs import Job
from connectors_mock.json_text import to_json_bytes
from connectors_mock.oauth import StandingConsent

# What `Connector` keeps of its own rendering, which setting them does not make stale.
_CACHES = frozenset({"_rendered", "_text"})


@dataclass(slots=True)
class Connector:
    """A stored connector. Its JSON is rendered once and kept until an attribute is set, so
    listing a thousand unchanged connectors copies bytes instead of rendering each again;
    that is why `config` and `last_error` are replaced, never changed in place."""

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
    _rendered: orjson.Fragment | None = field(default=None, init=False, repr=False, compare=False)
    _text: bytes = field(default=b"", init=False, repr=False, compare=False)

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in _CACHES:
            object.__setattr__(self, "_rendered", None)
        object.__setattr__(self, name, value)

    def __getstate__(self) -> dict[str, Any]:
        # A copy renders afresh: an orjson Fragment can be neither copied nor pickled.
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _CACHES}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            setattr(self, name, value)

    def rendered(self) -> orjson.Fragment:
        """`to_json()` as JSON text, for a response body to embed as it is."""
        if self._rendered is None:
            # Copied to its own size: orjson's bytes keep the 4 KiB buffer they were written
            # in, which would make every listed connector cost 4 KiB more.
            self._text = memoryview(to_json_bytes(self.to_json())).tobytes()
            self._rendered = orjson.Fragment(self._text)
        return self._rendered

    def rendered_text(self) -> bytes:
        """`rendered()`'s text."""
        self.rendered()
        return self._text

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
    # Ended jobs of the fixtures, or an imported state's (a connector's `current_job` is one of them).
    jobs: tuple[Job, ...] = ()
    # OAuth consents the fixtures give every tenant (`oauth.StandingConsent`).
    consents: tuple[StandingConsent, ...] = ()


def shared_keys(values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` with its keys interned. Connectors of a type have the same few config and
    credential keys, and each parsed body brings its own copy of every one, some 55 bytes a key."""
    return {sys.intern(key): value for key, value in values.items()}


# Invisible in any text, so left out when names are compared.
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u034f\u180e\u200b\u200c\u200d\u2060\ufeff"))


def comparable_name(name: str) -> str:
    """A name as uniqueness compares it: two names a person cannot tell apart are one. Unicode's
    compatibility normalization (NFKC: "e" and a combining acute accent are "é", the "fi"
    ligature U+FB01 is "fi", a full-width A is "A") with invisible characters (zero-width spaces
    and joiners, the soft hyphen) left out. Case and spaces count: "docs" and "Docs" are two names."""
    return unicodedata.normalize("NFKC", name).translate(_INVISIBLE)


def merge_config(stored: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """Key by key, as JSON Merge Patch (RFC 7396) does at the top level: `null` removes a key."""
    merged = dict(stored)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[sys.intern(key)] = value
    return merged


def rendered_list(connectors: Iterable[Connector]) -> list[orjson.Fragment]:
    """`rendered()` of each, without a call for those rendered already: this is the loop of a
    list of thousands."""
    return [c._rendered if c._rendered is not None else c.rendered() for c in connectors]
