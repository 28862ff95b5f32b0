"""The request journal: what a client sent and what the fake did about it, kept so a person
(or a test) can ask afterwards "did my retry happen?" or "which call got the 503?".

A journal is read by people other than the client that sent the requests, so it keeps no
secrets: credentials and tokens are masked before an entry is made, tenants are named by
`tenant_label`, and bodies too large or not JSON are described rather than kept.

Besides requests it records what the fake itself did that a client would otherwise meet
unexplained (`JournalEvent`): a tenant forgotten to make room for a new one, a file reloaded.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors_mock.clock import isoformat
from connectors_mock.errors import ApiError, FieldError, validation_failed
from connectors_mock.inputs import ABSENT
from connectors_mock.json_text import parse_json, to_json_bytes
from connectors_mock.masking import mask_body

MAX_BODY_BYTES = 64 * 1024
MAX_LIMIT = 1000
# What a journal keeps at most: entries, and bytes in all (`JournalEntry.size`).
DEFAULT_CAPACITY = 10_000
DEFAULT_BUDGET = 32 * 1024 * 1024
# `since` is an entry id: more digits than this is no id the journal will reach.
_MAX_SINCE_DIGITS = 18
_QUOTE_LIMIT = 60


def body_for_journal(
    raw: bytes, limit: int = MAX_BODY_BYTES, size: int | None = None, parsed: Any = ABSENT
) -> str | None:
    """What the journal keeps of a request body, as compact JSON text: its JSON, masked, or a
    description of it. Text, not parsed values: `[{}, {}, ...]` in 64 KiB is 1.5 MB parsed.

    JSON is recognised by content, read as the API reads it (`json_text`), not by its media
    type: a client that sent JSON labelled `text/plain` is told 415, and the journal should
    show it what it sent. `size` is the whole body's, when `raw` is only its start; `parsed`,
    `raw` as the endpoint read it, if it did (handlers never change what they are given).
    """
    size = len(raw) if size is None else size
    if not raw:
        return None
    if size > limit:
        return json.dumps(f"<{size} bytes, not kept>")
    try:
        body = parse_json(raw) if parsed is ABSENT else parsed
    except ApiError:
        # Also one nested past `json_text.MAX_DEPTH`, which the API refuses as it refuses non-JSON.
        return json.dumps(f"<{len(raw)} bytes, not JSON>")
    return to_json_bytes(mask_body(body)).decode("utf-8")


@dataclass(slots=True)
class JournalEntry:
    """One contract request. `query` and `request_body` are masked before an entry is made;
    `request_body` is JSON text (`body_for_journal`)."""

    request_id: str
    at: datetime
    method: str
    path: str
    query: dict[str, str]
    operation_id: str | None
    tenant: str | None
    scenario: str | None
    fault: str | None
    status: int | None
    error_code: str | None
    duration_ms: float
    request_body: str | None
    # What happened besides an answer: "client disconnected", "server stopping".
    note: str | None = None
    # Given by `Journal.record`.
    id: int = 0

    def size(self) -> int:
        """About what the entry costs in memory, in bytes: its text and a fixed part."""
        text = (self.request_id, self.path, self.operation_id, self.tenant, self.scenario, self.fault, self.note)
        query = sum(len(name) + len(value) for name, value in self.query.items())
        return _ENTRY_OVERHEAD + query + sum(len(part or "") for part in text) + len(self.request_body or "")

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "requestId": self.request_id,
            "at": isoformat(self.at),
            "method": self.method,
            "path": self.path,
            "query": dict(self.query),
            "operationId": self.operation_id,
            "tenant": self.tenant,
            "scenario": self.scenario,
            "fault": self.fault,
            "status": self.status,
            "errorCode": self.error_code,
            "durationMs": round(self.duration_ms, 1),
            "requestBody": json.loads(self.request_body) if self.request_body is not None else None,
            "note": self.note,
        }


@dataclass(slots=True)
class JournalEvent:
    """Something the fake did of itself: `event` says what (`tenant_evicted`), `detail` why."""

    at: datetime
    event: str
    tenant: str | None
    detail: str
    id: int = 0

    def size(self) -> int:
        return _ENTRY_OVERHEAD + len(self.event) + len(self.tenant or "") + len(self.detail)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": isoformat(self.at),
            "event": self.event,
            "tenant": self.tenant,
            "detail": self.detail,
        }


Entry = JournalEntry | JournalEvent
# What an entry costs besides its text: the object, its slots, a datetime, the deque's cell.
_ENTRY_OVERHEAD = 400


@dataclass(frozen=True, slots=True)
class JournalFilter:
    """Which entries to return; every field left at its default matches every entry."""

    operation: str | None = None
    method: str | None = None
    path: str | None = None
    status: str | None = None
    tenant: str | None = None
    scenario: str | None = None
    fault: bool | None = None
    request_id: str | None = None
    kind: str | None = None
    # None: the newest entries; an id (0 included): those after it, oldest first.
    since: int | None = None
    limit: int = 100

    def matches(self, entry: Entry) -> bool:
        if entry.id <= (self.since or 0) or (self.tenant is not None and entry.tenant != self.tenant):
            return False
        if isinstance(entry, JournalEvent):
            # A filter only a request can meet (its method, its status...) leaves events out.
            requests_only = (self.operation, self.method, self.path, self.status, self.scenario, self.fault)
            return self.kind != "request" and all(value is None for value in (*requests_only, self.request_id))
        return (
            self.kind != "event"
            and (self.operation is None or entry.operation_id == self.operation)
            and (self.method is None or entry.method.upper() == self.method.upper())
            and (self.path is None or entry.path.startswith(self.path))
            and (self.status is None or _status_matches(self.status, entry.status))
            and (self.scenario is None or entry.scenario == self.scenario)
            and (self.fault is None or (entry.fault is not None) == self.fault)
            and (self.request_id is None or entry.request_id == self.request_id)
        )


_STATUS_CODE = re.compile(r"[1-5][0-9][0-9]")
_TENANT_LABEL = re.compile(r"key_[0-9a-f]{12}(/.+)?", re.DOTALL)
_STATUS_CLASS = re.compile(r"[1-5]xx")


def _status_matches(wanted: str, status: int | None) -> bool:
    wanted = wanted.lower()
    if wanted == "none":
        return status is None
    if status is None:
        return False
    if _STATUS_CLASS.fullmatch(wanted):
        return str(status)[0] == wanted[0]
    return str(status) == wanted


def _quote(value: str) -> str:
    shown = value if len(value) <= _QUOTE_LIMIT else value[:_QUOTE_LIMIT] + "..."
    # As JSON, so a control character or a quote in the value cannot garble the message.
    return json.dumps(shown)


# Each parser returns the filter's value, or raises ValueError saying what was expected.
def _text(value: str) -> str:
    if not value:
        raise ValueError("must not be empty; leave the parameter out to match every entry")
    return value


def _method(value: str) -> str:
    if not (value.isascii() and value.isalpha()):
        raise ValueError(f"must be an HTTP method such as GET or POST, not {_quote(value)}")
    return value


def _path(value: str) -> str:
    if not value.startswith("/"):
        # Every recorded path starts with `/`: without it the filter could only match nothing.
        raise ValueError(f'must be the start of a path, beginning with "/", not {_quote(value)}')
    return value


def _status(value: str) -> str:
    wanted = value.lower()
    if wanted == "none" or _STATUS_CLASS.fullmatch(wanted) or _STATUS_CODE.fullmatch(wanted):
        return wanted
    raise ValueError(f'must be a status code such as "404", a class such as "4xx", or "none", not {_quote(value)}')


def _tenant(value: str) -> str:
    if not _TENANT_LABEL.fullmatch(value):
        # Not quoted: what was sent may well be an API key.
        raise ValueError(
            'must be a tenant label such as "key_1a2b3c4d5e6f", as entries show them (GET /_mock/binding '
            "with your key shows yours), not an API key"
        )
    return value


def _fault(value: str) -> bool:
    if value.lower() not in ("true", "false"):
        raise ValueError(f'must be "true" or "false", not {_quote(value)}')
    return value.lower() == "true"


def _kind(value: str) -> str:
    if value not in ("request", "event"):
        raise ValueError(f'must be "request" or "event", not {_quote(value)}')
    return value


def _since(value: str) -> int:
    if not re.fullmatch(f"[0-9]{{1,{_MAX_SINCE_DIGITS}}}", value):
        raise ValueError(f"must be an entry id: an integer of 0 or more, not {_quote(value)}")
    return int(value)


def _limit(value: str) -> int:
    if not (re.fullmatch("[0-9]{1,4}", value) and 1 <= int(value) <= MAX_LIMIT):
        raise ValueError(f"must be an integer from 1 to {MAX_LIMIT}, not {_quote(value)}")
    return int(value)


_PARSERS: dict[str, Callable[[str], Any]] = {
    "operation": _text,
    "method": _method,
    "path": _path,
    "status": _status,
    "tenant": _tenant,
    "scenario": _text,
    "fault": _fault,
    "request_id": _text,
    "kind": _kind,
    "since": _since,
    "limit": _limit,
}


def journal_filter(params: Mapping[str, str], operations: Collection[str] = ()) -> JournalFilter:
    """The filter a `GET /_mock/journal` query asks for; every refused parameter is named at
    once in one 422, since a typo silently matching nothing would look like a missing request.
    `operations`, when given, are the operationIds an `operation` filter may name."""
    errors: list[FieldError] = []
    fields: dict[str, Any] = {}
    operation = params.get("operation")
    if operations and operation and operation not in operations:
        known = ", ".join(sorted(operations))
        errors.append(FieldError("query", "operation", f"must be an operationId of the contract ({known})"))
    for name, value in params.items():
        parser = _PARSERS.get(name)
        if parser is None:
            # The value is not quoted: an unknown parameter may well be a token sent by mistake.
            known = ", ".join(sorted(_PARSERS))
            errors.append(FieldError("query", name, f"is not a journal filter (known: {known})"))
            continue
        try:
            # An empty value is refused by every filter, not only the text ones.
            fields[name] = parser(_text(value))
        except ValueError as refused:
            errors.append(FieldError("query", name, str(refused)))
    if errors:
        raise validation_failed("Journal query refused", errors)
    return JournalFilter(**fields)


class Journal:
    """The last `capacity` contract requests, oldest first.

    Ids count up from 1 for the life of the journal, through `clear` too, so a client that
    polls with `since` never sees an id twice or misses an entry because of a clear.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY, budget: int = DEFAULT_BUDGET) -> None:
        if capacity < 1:
            raise ValueError(f"a journal's capacity must be at least 1, not {capacity}")
        self._entries: deque[Entry] = deque()
        self._capacity = capacity
        # All it keeps (paths, queries, labels, bodies: `Entry.size`) stays within this.
        self._budget = budget
        self._bytes = 0
        self._last_id = 0
        # Told of every entry as it is kept (the request log of `serve --access-log`).
        self.listeners: list[Callable[[Entry], None]] = []

    def record(self, entry: Entry) -> Entry:
        """Keep `entry` under the next id (whatever id it came with)."""
        self._last_id += 1
        entry.id = self._last_id
        for listener in self.listeners:
            listener(entry)
        self._entries.append(entry)
        self._bytes += entry.size()
        while len(self._entries) > self._capacity or self._bytes > self._budget:
            self._bytes -= self._entries.popleft().size()
        return entry

    @property
    def size(self) -> int:
        """What the entries kept cost, by `Entry.size`."""
        return self._bytes

    def entries(self, query: JournalFilter = JournalFilter()) -> list[Entry]:
        """Matching entries, oldest first. With `since`, the first `limit` after it, so a client
        polling with the last id it saw pages forward and misses nothing; without, the newest
        `limit`."""
        if query.since is not None:
            found: list[Entry] = []
            for entry in self._entries:
                if entry.id > query.since and query.matches(entry):
                    found.append(entry)
                    if len(found) >= query.limit:
                        break
            return found
        newest: list[Entry] = []
        for entry in reversed(self._entries):
            if len(newest) >= query.limit:
                break
            if query.matches(entry):
                newest.append(entry)
        newest.reverse()
        return newest

    def newest_after(self, since: int) -> Iterator[Entry]:
        """The entries after id `since`, newest first: a reader that wants only the latest few
        stops early, however many came in. Read it whole before the next entry is recorded."""
        for entry in reversed(self._entries):
            if entry.id <= since:
                return
            yield entry

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def last_id(self) -> int:
        """The id of the latest entry ever recorded (0 before the first), kept through `clear`,
        so a client can take it as its `since` and then see only what comes after."""
        return self._last_id
