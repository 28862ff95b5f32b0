"""What the proxy remembers of the traffic, to hold the service to what it said before: the
connectors written through it (as last answered), those deleted, the sync jobs started and how
they ended. Bounded: past `limit` of each, the least recently seen is forgotten.

Requests overlap, so an answer is only compared with what was settled before its request
started: every exchange takes a number from one sequence when its request arrives
(`started`) and another when its answer has been judged (`settled`); a connector with a write
in flight is not judged at all, since the read may have seen the write or not.
"""

from __future__ import annotations

import itertools
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from connectors_mock.validators import quoted

DEFAULT_MAX_RESOURCES = 10_000
# The fields a client writes; everything else (status, lastSync, updatedAt) the service may change.
WRITTEN_FIELDS = ("name", "type", "collection", "config")
ACTIVE_JOB = ("queued", "running")
K = TypeVar("K")
V = TypeVar("V")


class Bounded(OrderedDict[K, V], Generic[K, V]):
    """A dict that forgets its least recently set entry past `limit`."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def __setitem__(self, key: K, value: V) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.limit:
            self.popitem(last=False)


@dataclass
class KnownConnector:
    written: dict[str, Any]  # WRITTEN_FIELDS as the service last answered a write (or first read)
    settled: int
    created_here: bool = False
    deleted: int | None = None  # when its delete settled


@dataclass
class KnownJob:
    connector: str
    settled: int
    seen_at: float  # time.monotonic() of its trigger's answer
    started_at: str | None
    reported_stuck: bool = False


@dataclass
class EndedJob:
    job: str
    status: str
    started_at: str | None
    settled: int


@dataclass
class Finding:
    """One contradiction: the check's name, where, what was expected, what was found."""

    check: str
    where: str
    expected: str
    found: str


@dataclass
class Memory:
    limit: int = DEFAULT_MAX_RESOURCES
    # How long a job may stay queued or running before that is a violation (`--job-timeout`).
    job_timeout: float = 600.0
    sequence: Iterator[int] = field(default_factory=itertools.count)
    connectors: Bounded[tuple[str, str], KnownConnector] = field(init=False)
    creators: Bounded[str, str] = field(init=False)
    jobs: Bounded[tuple[str, str], KnownJob] = field(init=False)
    latest_job: Bounded[tuple[str, str], tuple[str, int]] = field(init=False)
    ended: Bounded[tuple[str, str], EndedJob] = field(init=False)
    in_flight: dict[tuple[str, str], int] = field(default_factory=dict)
    last_write_started: Bounded[tuple[str, str], int] = field(init=False)

    def __post_init__(self) -> None:
        self.connectors = Bounded(self.limit)
        self.creators = Bounded(self.limit)
        self.jobs = Bounded(self.limit)
        self.latest_job = Bounded(self.limit)
        self.ended = Bounded(self.limit)
        self.last_write_started = Bounded(self.limit)

    def tick(self) -> int:
        return next(self.sequence)

    # Writes in flight -------------------------------------------------------------------------

    def write_begins(self, tenant: str, connector_id: str, started: int) -> None:
        key = (tenant, connector_id)
        self.in_flight[key] = self.in_flight.get(key, 0) + 1
        self.last_write_started[key] = started

    def write_ends(self, tenant: str, connector_id: str) -> None:
        key = (tenant, connector_id)
        left = self.in_flight.get(key, 0) - 1
        if left > 0:
            self.in_flight[key] = left
        else:
            self.in_flight.pop(key, None)

    def _settled_before(self, tenant: str, connector_id: str, started: int) -> bool:
        """Nothing was being written to the connector while this request was served."""
        key = (tenant, connector_id)
        # A write's own answer is judged after it left `in_flight`, its start equal to `started`.
        return key not in self.in_flight and self.last_write_started.get(key, -1) <= started

    # What the answers say ---------------------------------------------------------------------

    def created(self, tenant: str, sent: Any, connector: dict[str, Any], settled: int) -> list[Finding]:
        findings = []
        if isinstance(sent, dict):
            for name in ("name", "type", "collection"):
                if name in sent and connector.get(name) != sent[name]:
                    findings.append(_differs("created_as_sent", f"$.data.{name}", sent[name], connector.get(name)))
            config: dict[str, Any] = connector["config"] if isinstance(connector.get("config"), dict) else {}
            for key, value in (sent.get("config") or {}).items():
                if config.get(key) != value:
                    findings.append(_differs("created_as_sent", f"$.data.config.{key}", value, config.get(key)))
        connector_id = str(connector.get("id"))
        self.connectors[(tenant, connector_id)] = KnownConnector(_written(connector), settled, created_here=True)
        self.creators[connector_id] = tenant
        return findings

    def updated(
        self, tenant: str, connector_id: str, sent: Any, connector: dict[str, Any], *, started: int, settled: int
    ) -> list[Finding]:
        findings = self.read(tenant, connector_id, None, started, check_fields=False)
        known = self.connectors.get((tenant, connector_id))
        alone = self._settled_before(tenant, connector_id, started)
        if known is not None and known.deleted is None and known.settled < started and alone and isinstance(sent, dict):
            expected = dict(known.written)
            if "name" in sent:
                expected["name"] = sent["name"]
            if isinstance(sent.get("config"), dict) and isinstance(expected.get("config"), dict):
                merged = {**expected["config"], **sent["config"]}
                expected["config"] = {key: value for key, value in merged.items() if value is not None}
            for name in ("name", "config"):
                if name in expected and connector.get(name) != expected[name]:
                    findings.append(_differs("updated_as_sent", f"$.data.{name}", expected[name], connector.get(name)))
        previous = known.created_here if known else False
        self.connectors[(tenant, connector_id)] = KnownConnector(_written(connector), settled, created_here=previous)
        return findings

    def deleted(self, tenant: str, connector_id: str, settled: int) -> None:
        known = self.connectors.get((tenant, connector_id))
        if known is None:
            known = KnownConnector({}, settled)
        known.deleted = settled
        self.connectors[(tenant, connector_id)] = known

    def read(
        self,
        tenant: str,
        connector_id: str,
        connector: dict[str, Any] | None,
        started: int,
        *,
        check_fields: bool = True,
    ) -> list[Finding]:
        """A 2xx that names the connector (a read, an update, a sync): contradicts a settled
        delete, another team's create, or (for a read) what was last written."""
        findings = []
        # In a list, the item's id; else the answer itself.
        where = "$.data.id" if connector is not None else "status"
        creator = self.creators.get(connector_id)
        if creator is not None and creator != tenant:
            findings.append(
                Finding(
                    "teams_see_only_their_own",
                    where,
                    "404: another team's connector",
                    f"{connector_id}, created by {creator}, answered to {tenant}",
                )
            )
        if not self._settled_before(tenant, connector_id, started):
            return findings
        known = self.connectors.get((tenant, connector_id))
        if known is None:
            if connector is not None:
                self.connectors[(tenant, connector_id)] = KnownConnector(_written(connector), self.tick())
            return findings
        if known.deleted is not None and known.deleted < started:
            findings.append(
                Finding("deleted_stays_deleted", where, f"404: {connector_id} was deleted", "an answer showing it")
            )
            return findings
        if check_fields and connector is not None and known.settled < started:
            for name, value in known.written.items():
                if connector.get(name) != value:
                    findings.append(_differs("reads_back_as_written", f"$.data.{name}", value, connector.get(name)))
        if connector is not None:
            findings += self._shows_last_sync(tenant, connector_id, connector, started)
        return findings

    def listed(self, tenant: str, items: list[Any], started: int) -> list[Finding]:
        findings = []
        present = set()
        for index, item in enumerate(items):
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                present.add(item["id"])
                for finding in self.read(tenant, item["id"], item, started):
                    finding.where = finding.where.replace("$.data", f"$.data[{index}]", 1)
                    findings.append(finding)
        for (owner, connector_id), known in self.connectors.items():
            if (
                owner == tenant
                and known.created_here
                and known.deleted is None
                and known.settled < started
                and connector_id not in present
                and self._settled_before(tenant, connector_id, started)
            ):
                findings.append(Finding("lists_hold_what_was_created", "$.data", f"{connector_id} listed", "missing"))
        return findings

    # Jobs -------------------------------------------------------------------------------------

    def sync_started(self, tenant: str, connector_id: str, job: dict[str, Any], settled: int) -> None:
        job_id = str(job.get("jobId"))
        started_at = job.get("startedAt") if isinstance(job.get("startedAt"), str) else None
        self.jobs[(tenant, job_id)] = KnownJob(connector_id, settled, time.monotonic(), started_at)
        self.latest_job[(tenant, connector_id)] = (job_id, settled)

    def job_read(self, tenant: str, connector_id: str, job: dict[str, Any], started: int) -> list[Finding]:
        findings = []
        job_id = str(job.get("jobId"))
        known = self.jobs.get((tenant, job_id))
        if known is not None and known.connector != connector_id:
            findings.append(
                Finding(
                    "job_belongs_to_its_connector",
                    "status",
                    f"404: job {job_id} belongs to {known.connector}",
                    f"an answer through {connector_id}",
                )
            )
            return findings
        status = job.get("status")
        latest = self.latest_job.get((tenant, connector_id))
        if status in ACTIVE_JOB:
            if (
                latest is not None
                and latest[0] != job_id
                and latest[1] < started
                and known is not None
                and known.settled < latest[1]
            ):
                findings.append(
                    Finding(
                        "one_sync_at_a_time",
                        "$.data.status",
                        f"ended: a later job {latest[0]} of the connector was started",
                        str(status),
                    )
                )
            if known is not None and not known.reported_stuck and time.monotonic() - known.seen_at > self.job_timeout:
                known.reported_stuck = True
                findings.append(
                    Finding(
                        "jobs_end",
                        "$.data.status",
                        f"completed or failed within {self.job_timeout:g} s (--job-timeout)",
                        f"{status} {time.monotonic() - known.seen_at:.0f} s after it was started",
                    )
                )
        elif status in ("completed", "failed") and latest is not None and latest[0] == job_id:
            started_at = job.get("startedAt") if isinstance(job.get("startedAt"), str) else None
            self.ended[(tenant, connector_id)] = EndedJob(job_id, str(status), started_at, self.tick())
        return findings

    def _shows_last_sync(
        self, tenant: str, connector_id: str, connector: dict[str, Any], started: int
    ) -> list[Finding]:
        ended = self.ended.get((tenant, connector_id))
        latest = self.latest_job.get((tenant, connector_id))
        if ended is None or ended.settled >= started or latest is None or latest[0] != ended.job:
            return []
        if ended.status == "completed":
            last_sync = connector.get("lastSync")
            if not isinstance(last_sync, str) or _before(last_sync, ended.started_at):
                return [
                    Finding(
                        "connector_shows_its_last_sync",
                        "$.data.lastSync",
                        f"at or after {ended.started_at}, when job {ended.job} (completed) started",
                        repr(last_sync),
                    )
                ]
        elif connector.get("lastError") is None:
            return [Finding("connector_shows_its_last_sync", "$.data.lastError", f"why job {ended.job} failed", "null")]
        return []


def _written(connector: dict[str, Any]) -> dict[str, Any]:
    return {name: connector[name] for name in WRITTEN_FIELDS if name in connector}


def _differs(check: str, where: str, expected: Any, found: Any) -> Finding:
    return Finding(check, where, _shown(expected), _shown(found))


def _shown(value: Any) -> str:
    return quoted(value)


def _before(text: str, other: str | None) -> bool:
    """Whether instant `text` is before `other`; False when either cannot be read."""
    try:
        return other is not None and datetime.fromisoformat(text) < datetime.fromisoformat(other)
    except (ValueError, TypeError):
        return False
