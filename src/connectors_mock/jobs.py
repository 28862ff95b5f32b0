"""Sync jobs. A job stores only what it was asked and its script; its status and counters are
a pure function of the script and the virtual time since it started, computed when read (as
moto does), so any clock, advanced by any steps, gives the same answer for the same moment.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from connectors_mock.clock import isoformat

JobStatus = Literal["queued", "running", "completed", "failed"]
SyncMode = Literal["full", "incremental", "auto"]
ACTIVE: frozenset[JobStatus] = frozenset({"queued", "running"})

# Documents are collected, then parsed, then indexed: each stage starts a little after the one
# before and takes the same share of the run, so at every moment collected >= parsed >= indexed.
STAGE_DELAYS = (0.0, 0.15, 0.3)
STAGE_SHARE = 1 - STAGE_DELAYS[-1]

# A full sync's typical size by type; each job draws within a quarter either side.
TYPICAL_DOCUMENTS = {
    "s3": 1200,
    "google_drive": 800,
    "confluence": 450,
    "github": 300,
    "slack": 2400,
    "notion": 350,
    "salesforce": 5000,
    "postgresql": 8000,
}
# What an incremental sync finds changed, as a share of a full one.
INCREMENTAL_SHARE = (0.03, 0.12)


@dataclass(frozen=True)
class SyncFailure:
    """Where in the run a job fails (0 = as it starts running, 1 = at the very end) and why."""

    at: float
    code: str
    message: str


@dataclass(frozen=True)
class SyncScript:
    """How one job unfolds. The default: queued for half a second, running for four.
    `stuck_at` (a share of the run) makes a job that gets that far and never finishes."""

    total: int
    queued_seconds: float = 0.5
    running_seconds: float = 4.0
    failure: SyncFailure | None = None
    stuck_at: float | None = None

    @property
    def finishes_after(self) -> float:
        if self.stuck_at is not None:
            return math.inf
        share = self.failure.at if self.failure else 1.0
        return self.queued_seconds + self.running_seconds * share


@dataclass(frozen=True)
class Progress:
    collected: int
    parsed: int
    indexed: int

    def to_json(self) -> dict[str, int]:
        return {"collected": self.collected, "parsed": self.parsed, "indexed": self.indexed}


@dataclass(frozen=True)
class JobState:
    status: JobStatus
    progress: Progress
    error: SyncFailure | None = None


def progress_at(total: int, share_of_run: float) -> Progress:
    """The counters when `share_of_run` (0 to 1) of the run has passed."""
    # The nudge keeps float error from losing a document: 0.4 of 1000 is 400, not 399.99...
    counts = [
        math.floor(total * min(1.0, max(0.0, (share_of_run - delay) / STAGE_SHARE)) + 1e-9) for delay in STAGE_DELAYS
    ]
    return Progress(*counts)


def share_when_collected(fraction: float) -> float:
    """The share of the run by which `fraction` of the documents have been collected: how a
    scenario's "fail at half" or "stuck at 40%" becomes a moment of the run."""
    return min(1.0, STAGE_DELAYS[0] + STAGE_SHARE * fraction)


def job_state(script: SyncScript, elapsed: float) -> JobState:
    """The job `elapsed` virtual seconds after it started."""
    if elapsed < script.queued_seconds:
        return JobState("queued", Progress(0, 0, 0))
    if elapsed >= script.finishes_after:
        if script.failure:
            return JobState("failed", progress_at(script.total, script.failure.at), script.failure)
        return JobState("completed", Progress(script.total, script.total, script.total))
    share = (elapsed - script.queued_seconds) / script.running_seconds if script.running_seconds else 1.0
    if script.stuck_at is not None:
        share = min(share, script.stuck_at)
    return JobState("running", progress_at(script.total, share))


@dataclass(frozen=True)
class SyncRequest:
    """What a script is chosen by: the connector, and what the trigger asked for."""

    connector_id: str
    connector_type: str
    connector_name: str
    mode: SyncMode
    file_filter: tuple[str, ...] | None
    # Whether the job syncs everything: `full`, or `auto` before any full sync has completed.
    full: bool


def is_full_sync(mode: SyncMode, full_sync_done: bool) -> bool:
    return mode == "full" or (mode == "auto" and not full_sync_done)


ScriptSource = Callable[[SyncRequest, random.Random], SyncScript]


def requested_sync(body: Mapping[str, Any] | None) -> tuple[SyncMode, tuple[str, ...] | None]:
    """The mode and paths a trigger body asks for. The schema has already held it to its rules
    (`file_filter` only with `incremental`, `force_full_sync: true` only with `full` or alone)."""
    body = body or {}
    mode: SyncMode = "full" if body.get("force_full_sync") else body.get("sync_mode", "auto")
    file_filter = body.get("file_filter")
    return mode, tuple(file_filter) if file_filter is not None else None


def default_script(request: SyncRequest, rng: random.Random) -> SyncScript:
    """Totals that look like the source: by type, smaller when only changes are synced, one
    per listed path."""
    if request.file_filter is not None:
        return SyncScript(total=len(request.file_filter))
    total = round(TYPICAL_DOCUMENTS.get(request.connector_type, 1000) * rng.uniform(0.75, 1.25))
    if not request.full:
        total = max(1, round(total * rng.uniform(*INCREMENTAL_SHARE)))
    return SyncScript(total=total)


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    connector_id: str
    mode: SyncMode
    file_filter: tuple[str, ...] | None
    started_at: datetime
    script: SyncScript
    full: bool

    def state(self, now: datetime) -> JobState:
        return job_state(self.script, (now - self.started_at).total_seconds())

    @property
    def finished_at(self) -> datetime:
        """When the job ends; read only once it has (a stuck job never does)."""
        return self.started_at + timedelta(seconds=self.script.finishes_after)

    def to_json(self, now: datetime) -> dict[str, Any]:
        state = self.state(now)
        finished = state.status not in ACTIVE
        return {
            "jobId": self.id,
            "connectorId": self.connector_id,
            "status": state.status,
            "syncMode": self.mode,
            "fileFilter": list(self.file_filter) if self.file_filter is not None else None,
            "progress": state.progress.to_json(),
            "startedAt": isoformat(self.started_at),
            "completedAt": isoformat(self.finished_at) if finished else None,
            "error": failure_json(state.error, self.finished_at) if state.error else None,
        }


def failure_json(failure: SyncFailure, occurred_at: datetime) -> dict[str, str]:
    return {"code": failure.code, "message": failure.message, "occurredAt": isoformat(occurred_at)}
