"""`GET /_mock/events`: the dashboard's one live stream, as server-sent events.

Each viewer wakes every `TICK_SECONDS` (or at once when poked: `Viewers.poke`) and sends what is
new since it last looked: the journal's latest entries (at most `JOURNAL_BATCH` a wake, with a
count of those left out: a person cannot read thousands a second), the tenant it watches when
that changed (its requests, a `/_mock` change, or every `PROGRESS_SECONDS` while one of its jobs
runs under a real clock), and after a `/_mock` change the clock and the scenarios. An API
request does nothing for a viewer; the viewer's reads are its whole cost.

A viewer that stops reading is dropped: a write that waits `STALL_SECONDS` for the socket ends
the connection. One that goes away is noticed at once. When the server stops, every stream ends
with a `bye` event, so viewers never hold the server past its grace period.

Nothing here is on an API request's path. A viewer finds the API's requests in the journal,
which it reads when it wakes; what is changed through `/_mock` (the clock advanced, a scenario
activated, a reset) pokes every viewer awake at once. Nothing is queued for a viewer: each
time it wakes it reads what is new since it last looked, so a slow one cannot make anything
pile up, and the number of viewers is bounded (`MAX_VIEWERS`).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any

from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from connectors_mock.clock import VirtualClock
from connectors_mock.errors import ApiError, FieldError, validation_failed
from connectors_mock.journal import Entry, Journal, JournalFilter, journal_filter
from connectors_mock.json_text import to_json_bytes
from connectors_mock.responses import Envelope
from connectors_mock.server import connection
from connectors_mock.tenancy import TenantRoster
from connectors_mock.tenant_view import TenantDirectory

EVENTS_PATH = "/_mock/events"
TICK_SECONDS = 0.25
# However often `/_mock` pokes (a test suite forgets a tenant per test), a viewer sends at most
# this often: the pokes in between are one picture.
MIN_GAP_SECONDS = 0.1
PROGRESS_SECONDS = 0.5
# The tenant list is sent again at most this often while new keys keep arriving.
TENANTS_SECONDS = 1.0
JOURNAL_BATCH = 50
KEEPALIVE_SECONDS = 15.0
STALL_SECONDS = 5.0
STREAM_PARAMETERS = ("tenant", "status", "operation", "only_tenant")
Header = tuple[bytes, bytes]
# Enough for a team's dashboards; each one costs a little at every wake (`TICK_SECONDS`).
MAX_VIEWERS = 16


class Viewer:
    """One open stream: set `wake` to have it look now."""

    __slots__ = ("poked", "wake")

    def __init__(self) -> None:
        self.wake = asyncio.Event()
        # A change made through `/_mock`: send everything again, not only what the journal says.
        self.poked = False


class Viewers:
    def __init__(self, limit: int = MAX_VIEWERS) -> None:
        self.limit = limit
        self._viewers: set[Viewer] = set()

    def __len__(self) -> int:
        return len(self._viewers)

    def join(self) -> Viewer | None:
        """A new viewer, or None when `limit` are watching already."""
        if len(self._viewers) >= self.limit:
            return None
        viewer = Viewer()
        self._viewers.add(viewer)
        return viewer

    def leave(self, viewer: Viewer) -> None:
        self._viewers.discard(viewer)

    def poke(self) -> None:
        """Something changed through `/_mock`: every viewer looks again."""
        for viewer in self._viewers:
            viewer.poked = True
            viewer.wake.set()


@dataclass(frozen=True)
class Sources:
    """Where a viewer reads what it shows."""

    journal: Journal
    directory: TenantDirectory
    roster: TenantRoster
    clock: VirtualClock
    clock_json: Callable[[], dict[str, Any]]
    scenarios_json: Callable[[], list[dict[str, Any]]]


def event(name: str, data: Any) -> bytes:
    # orjson writes no newline, so the data is one `data:` line.
    return b"event: " + name.encode() + b"\ndata: " + to_json_bytes(data) + b"\n\n"


class Feed:
    """What one viewer has seen, and the events that bring it up to date."""

    def __init__(self, sources: Sources, label: str | None, query: JournalFilter) -> None:
        self.sources = sources
        self.label = label
        self.query = replace(query, limit=JOURNAL_BATCH, since=None)
        self.journal_seen = 0
        self.roster_version = -1
        self.tenants_sent_at = -math.inf
        self.tenant_sent_at = -math.inf
        # Whether the tenant had a job running when last sent: its bars move with the clock.
        self.tenant_running = False

    def everything(self) -> bytes:
        """The whole picture: on connecting, and after a change made through `/_mock`."""
        journal = self.sources.journal
        entries = journal.entries(self.query)
        self.journal_seen = journal.last_id
        # `replace`: the journal may have been cleared; the viewer starts its list again.
        page = {"entries": [e.to_json() for e in entries], "skipped": 0, "lastId": journal.last_id, "replace": True}
        return b"".join(
            [
                event("clock", self.sources.clock_json()),
                event("scenarios", self.sources.scenarios_json()),
                self._tenants(),
                self._tenant(),
                event("journal", page),
            ]
        )

    def news(self) -> bytes:
        """What changed since the last look, without a `/_mock` change."""
        parts = []
        batch, touched = self._journal()
        if batch:
            parts.append(batch)
        now = time.monotonic()
        roster = self.sources.roster
        if roster.version != self.roster_version and now - self.tenants_sent_at >= TENANTS_SECONDS:
            parts.append(self._tenants())
            touched = True
        ticking = self.tenant_running and self.sources.clock.mode == "real"
        if self.label is not None and (touched or (ticking and now - self.tenant_sent_at >= PROGRESS_SECONDS)):
            parts.append(self._tenant())
        return b"".join(parts)

    def _journal(self) -> tuple[bytes, bool]:
        """The newest new entries the filter takes, and whether any new one is the watched
        tenant's (a change to show)."""
        journal = self.sources.journal
        last = journal.last_id
        if last == self.journal_seen:
            return b"", False
        batch: list[Entry] = []
        matched, touched = 0, False
        for entry in journal.newest_after(self.journal_seen):
            touched = touched or (self.label is not None and entry.tenant == self.label)
            if self.query.matches(entry):
                matched += 1
                if len(batch) < JOURNAL_BATCH:
                    batch.append(entry)
        self.journal_seen = last
        if not matched:
            return b"", touched
        entries = [entry.to_json() for entry in reversed(batch)]
        page = {"entries": entries, "skipped": matched - len(batch), "lastId": last, "replace": False}
        return event("journal", page), touched

    def _tenants(self) -> bytes:
        self.roster_version = self.sources.roster.version
        self.tenants_sent_at = time.monotonic()
        return event("tenants", self.sources.directory.listing())

    def _tenant(self) -> bytes:
        """The watched tenant; null when none is, or none of its label is known yet."""
        self.tenant_sent_at = time.monotonic()
        tenant = self.sources.directory.find(self.label) if self.label is not None else None
        if self.label is None or tenant is None:
            self.tenant_running = False
            return event("tenant", None)
        view = self.sources.directory.view(self.label, tenant)
        self.tenant_running = any(job["status"] in ("queued", "running") for job in view["jobs"])
        return event("tenant", view)


def stream_feed(sources: Sources, params: Mapping[str, str], operations: Collection[str]) -> Feed:
    """The feed a stream's query asks for, or a 422 naming every refused parameter."""
    errors = [
        FieldError("query", name, f"is not a parameter here (known: {', '.join(STREAM_PARAMETERS)})")
        for name in params
        if name not in STREAM_PARAMETERS
    ]
    label = params.get("tenant")
    only = params.get("only_tenant", "false")
    if only not in ("true", "false"):
        errors.append(FieldError("query", "only_tenant", f'must be "true" or "false", not "{only[:20]}"'))
    if only == "true" and label is None:
        errors.append(FieldError("query", "only_tenant", "needs tenant: whose requests to show"))
    wanted = {name: params[name] for name in ("status", "operation") if name in params}
    if label is not None:
        wanted["tenant"] = label
    try:
        query = journal_filter(wanted, operations)
    except ApiError as refused:
        errors += refused.field_errors
        query = JournalFilter()
    if errors:
        raise validation_failed("Event stream refused", errors)
    if only != "true":
        query = replace(query, tenant=None)
    return Feed(sources, label, query)


class _Watch:
    """Why a stream should stop looking, set from outside its loop."""

    __slots__ = ("gone", "stopping")

    def __init__(self) -> None:
        self.gone = False
        self.stopping = False


class EventStream:
    """The ASGI app of `GET /_mock/events`. `check` refuses a request before it streams
    (the admin token, a page on another origin), by raising an `ApiError`."""

    def __init__(
        self,
        sources: Sources,
        viewers: Viewers,
        *,
        envelope: Envelope,
        operations: Collection[str],
        check: Callable[[Request], None],
        stall_seconds: float = STALL_SECONDS,
    ) -> None:
        self.sources = sources
        self.viewers = viewers
        self.envelope = envelope
        self.operations = operations
        self.check = check
        self.stall_seconds = stall_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        self.check(request)
        feed = stream_feed(self.sources, request.query_params, self.operations)
        headers = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-store"),
            (b"x-request-id", self.envelope.request_id(request).encode()),
        ]
        if scope["method"] == "HEAD":
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        viewer = self.viewers.join()
        if viewer is None:
            raise ApiError(
                503,
                "service_unavailable",
                f"{self.viewers.limit} viewers are watching already, the most there may be; close a dashboard first",
            )
        try:
            await self._stream(scope, receive, send, viewer=viewer, feed=feed, headers=headers)
        finally:
            self.viewers.leave(viewer)

    async def _stream(
        self, scope: Scope, receive: Receive, send: Send, *, viewer: Viewer, feed: Feed, headers: list[Header]
    ) -> None:
        watch = _Watch()
        watchers = [asyncio.create_task(_until_gone(receive, viewer, watch))]
        conn = connection(scope)
        if conn is not None:
            watchers.append(asyncio.create_task(_until_stopping(conn.stopping, viewer, watch)))
        try:
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            sent = await self._write(scope, send, feed.everything(), watch)
            last_write = time.monotonic()
            while sent and not watch.gone:
                try:
                    async with asyncio.timeout(TICK_SECONDS):
                        await viewer.wake.wait()
                except TimeoutError:
                    pass
                gap = last_write + MIN_GAP_SECONDS - time.monotonic()
                if gap > 0 and not watch.stopping:
                    await asyncio.sleep(gap)
                viewer.wake.clear()
                if watch.gone:
                    return
                if watch.stopping:
                    sent = await self._write(scope, send, event("bye", {"reason": "the server is stopping"}), watch)
                    break
                poked, viewer.poked = viewer.poked, False
                chunk = feed.everything() if poked else feed.news()
                if not chunk and time.monotonic() - last_write >= KEEPALIVE_SECONDS:
                    # A comment: it tells a proxy the stream is alive, and us whether the peer is.
                    chunk = b": keepalive\n\n"
                if chunk:
                    sent = await self._write(scope, send, chunk, watch)
                    last_write = time.monotonic()
            if sent and not watch.gone:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            elif not sent:
                # Reset: let the server see the connection gone before the app returns, or it
                # reports a response left unfinished.
                await asyncio.wait(watchers[:1], timeout=1)
        finally:
            for task in watchers:
                task.cancel()

    async def _write(self, scope: Scope, send: Send, chunk: bytes, watch: _Watch) -> bool:
        """Send a chunk; False when the viewer did not take it within the stall time, and is
        dropped: its connection is reset, since a graceful close would wait for it too."""
        try:
            async with asyncio.timeout(self.stall_seconds):
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except TimeoutError:
            conn = connection(scope)
            if conn is not None:
                conn.reset()
            watch.gone = True
            return False
        return True


async def _until_gone(receive: Receive, viewer: Viewer, watch: _Watch) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    watch.gone = True
    viewer.wake.set()


async def _until_stopping(stopping: asyncio.Event, viewer: Viewer, watch: _Watch) -> None:
    await stopping.wait()
    watch.stopping = True
    viewer.wake.set()
