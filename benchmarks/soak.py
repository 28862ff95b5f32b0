"""A soak: many clients with a mixed workload against one served fake for ten minutes, while
another client brings a stream of new API keys. Pass or fail, and one Markdown table.

    .venv/bin/python benchmarks/soak.py                  # 600 s, 32 workers, 100,000 keys
    .venv/bin/python benchmarks/soak.py --quick          # 60 s, 20,000 keys, for development
    .venv/bin/python benchmarks/soak.py --duration 90 --keys 15000   # the full run's key rate

The server is `connectors-mock serve --seed SEED --clock real --speed SPEED` (the console script
next to this Python, on a free port of 127.0.0.1), default fixtures, one worker, the journal
recording every API request as it always does. A real clock at speed 50 ends a default sync in
90 ms of wall time, so a client polls it to the end as a real client would, with no control
requests in the way. A manual clock would need a thread advancing it for all 32 clients at once,
which would be the real clock again, with more requests. The seed still makes ids, job sizes and every random
fault draw repeat per key (faults are drawn per rule and key), so a worker's run repeats but for
timing. Retry-After and the polling interval are read in the fake's seconds: the client waits
Retry-After / SPEED.

Three scenarios are loaded (`POST /_mock/scenarios`): the shipped `flaky-network` (50-300 ms on
every request, 5% `503`) and this script's `soak-faults` (`SOAK_FAULTS` below: `503`, a gateway's
`502` page, `429 quota_exceeded`, dropped and reset connections, bodies cut short or broken,
short delays), each bound (`PUT /_mock/binding`) to a quarter of the workers' keys; and the
shipped `sync-fails-midway`, sent per request (`X-Mock-Scenario`) by every worker when it syncs a
connector whose name starts with "Doomed", which must then end `failed` and turn the connector
`error`. The other half of the workers meet no fault.

Each worker has its own API key (its own tenant) and loops over a mixed workload until the
time is up: create (valid bodies of the six types that take credentials, unique names, the three
fixture collections), get, list, update (rename, config merge with keys removed by `null`),
delete, trigger a sync and poll `getSyncStatus` to `completed` or `failed`, an OAuth flow
(`authorizeOAuth` for Google Drive or Notion, the consent form POSTed with `decision=approve`,
the code from the `303`'s Location, `completeOAuth`), and error paths (`404`, `409` for a name
taken, `422`, `400`). It keeps a model of its tenant (ids in listing order; name, type,
collection, config, status, lastSync, lastError of each) and checks every answer against it.
What a fault broke it retries, as an SDK would: reads, updates and deletes are sent again; a
create, a trigger or a `completeOAuth` whose answer was lost (or was a `5xx`) may have happened,
so the worker lists to find out (a create or OAuth connector by its unique name) or, for a
trigger, sends it again and follows the job a `409 sync_in_progress` names.

The new keys come from `--key-threads` threads, key i at start + i x duration / keys: each new
key lists its connectors (they must be the fixtures), and every tenth also creates one and reads
it back. A key is used in that one burst and never again, so a fake that evicted idle tenants
could drop all of them without anyone noticing, while the workers, busy all the time, must never
lose a thing.

Meanwhile one thread samples the server's VmRSS and CPU time (/proc/PID) every
`--sample-seconds`, and another pages through the journal every second: every `5xx` it
recorded without a `fault` is an unexpected `5xx` (an injected one carries the rule in `fault`),
and a dropped connection or a broken body is injected only under a scenario that has one.
At the end every worker compares its model with `GET /v1/connectors` of its key. A worker
that found a difference records it and believes the server from then on, so one lost write
is reported once rather than at every later read.

What the workers make levels off: a worker's connectors stay between 4 and 20, a connector's
jobs go with it when it is deleted, and the journal is full (10,000 entries) within seconds. So
growth over the second half is what the fake keeps of the new keys and of finished OAuth flows.
Where the fake journals `tenant_evicted` events (`--max-tenants`), the monitor counts them, and
a worker's tenant among them fails the run.

The run fails (exit status 1) on any unexpected `5xx` (the journal's, or one a client saw that
the journal does not explain), any dropped connection or broken body no scenario injected, any
difference between a worker's model and the server (during the run or at the end), a worker's
tenant evicted, any job that
did not end as its script says, fewer new keys than asked for, no injected fault at all (the
scenarios did not apply), or RSS growth of 5% or more over the second half (its first sample
to the last). Ctrl-C or SIGTERM stops the server and the clients.

The clients are threads, one keep-alive connection each, speaking HTTP/1.1 over a plain socket
(`Client`): about 60 us of CPU per bare request, where http.client took 165 (it parses every
answer's headers with the email package), httpx 550 (sync) and 2,500 (async, 16 tasks on one
pool). The set-up and the journal reads use the http.client helpers of servers.py. The table
says what the clients and the server each used, per request and as a share of one core. Most
of a worker's time is spent waiting, as a real client's is (polling a sync to its end takes
90 ms at speed 50; Retry-After; injected latency), so neither side need be at 100% of a core.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import io
import json
import os
import platform
import random
import re
import resource
import socket
import sys
import threading
import time
import traceback
from array import array
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from servers import HOST, Server, call, connect, console_script, expect, run_interruptibly, status_kib

START_TIMEOUT = 60.0
# A request the server has not answered in this long is a failure, not a fault.
REQUEST_TIMEOUT = 60.0
# uvicorn closes a keep-alive connection idle for 5 s: one idle longer is opened afresh.
IDLE_RECONNECT_SECONDS = 4.0
MAX_LINE = 65536
MAX_ATTEMPTS = 30
GROWTH_LIMIT_PERCENT = 5.0
JOURNAL_POLL_SECONDS = 1.0
JOURNAL_PAGE = 1000
EXAMPLES_PER_THREAD = 10

FLAKY = "flaky-network"
SOAK = "soak-faults"
FAILING_SYNCS = "sync-fails-midway"
# Which scenario a worker's key is bound to, by its index modulo 4: half meet no fault.
BINDINGS: tuple[str | None, ...] = (None, FLAKY, None, SOAK)
SCENARIO_HEADER = "X-Mock-Scenario"
DOOMED = "Doomed "
REDIRECT_URI = "http://localhost:3000/oauth/callback"
CREATABLE = ("s3", "confluence", "github", "slack", "salesforce", "postgresql")
OAUTH_TYPES = ("google_drive", "notion")
# What a listing shows of a connector that a worker can know (not createdAt and updatedAt).
FIELDS = ("name", "type", "collection", "config", "status", "lastSync", "lastError")
JOB_ID = re.compile(r"job_[A-Za-z0-9]+")
JOB_STAGES = {"queued": 0, "running": 1, "completed": 2, "failed": 2}
FAILED_SYNC_CODE = "source_unavailable"  # sync-fails-midway.yaml

# The soak's own bad day, bound to a quarter of the workers. The first rule with an outcome
# decides; each rule draws per key, repeatably under --seed.
SOAK_FAULTS: dict[str, Any] = {
    "name": SOAK,
    "description": "benchmarks/soak.py: errors, dropped connections and broken bodies a client must ride out",
    "faults": [
        {"name": "soak-latency", "when": {"probability": 0.1}, "latency": {"min_ms": 5, "max_ms": 40}},
        {"name": "soak-503", "when": {"probability": 0.02}, "error": {"status": 503, "retry_after": 1}},
        {
            "name": "soak-502-gateway",
            "when": {"probability": 0.005},
            "error": {
                "status": 502,
                "body": "<html><body><h1>502 Bad Gateway</h1></body></html>",
                "headers": {"Content-Type": "text/html"},
            },
        },
        {
            "name": "soak-quota-429",
            "match": {"operation": ["createConnector", "completeOAuth"]},
            "when": {"probability": 0.02},
            "error": {"status": 429, "code": "quota_exceeded", "retry_after": 1},
        },
        {"name": "soak-drop-close", "when": {"probability": 0.01}, "drop": "close"},
        {
            "name": "soak-drop-reset",
            "match": {"operation": ["updateConnector", "deleteConnector", "triggerSync", "getSyncStatus"]},
            "when": {"probability": 0.01},
            "drop": "reset",
        },
        {
            "name": "soak-truncated",
            "match": {
                "operation": ["createConnector", "updateConnector", "triggerSync", "completeOAuth", "getConnector"]
            },
            "when": {"probability": 0.03},
            "body": "truncated",
        },
        {
            "name": "soak-malformed",
            "match": {"operation": ["listConnectors", "getConnector", "getSyncStatus", "authorizeOAuth"]},
            "when": {"probability": 0.01},
            "body": "malformed",
        },
    ],
}

# What a request under each scenario may meet, as the client sees it: a status with its error
# code (`html` for the gateway page), or an answer lost on the way.
INJECTABLE: dict[str | None, frozenset[str]] = {
    None: frozenset(),
    FAILING_SYNCS: frozenset(),
    FLAKY: frozenset({"503 service_unavailable"}),
    SOAK: frozenset({"503 service_unavailable", "502 html", "429 quota_exceeded", "dropped", "cut short", "malformed"}),
}


def worker_key(index: int) -> str:
    return f"soak-worker-{index:02d}"


def visitor_key(index: int) -> str:
    return f"soak-key-{index:06d}"


def fingerprint(key: str) -> str:
    """How the journal names a key's tenant (the guide, "The journal")."""
    return "key_" + hashlib.sha256(key.encode()).hexdigest()[:12]


# --------------------------------------------------------------------------------------------
# Bodies


def create_body(kind: str, name: str, collection: str, serial: int) -> dict[str, Any]:
    """A valid createConnector body of `kind`, a little different for every `serial`."""
    configs: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
        "s3": (
            {"bucket": f"soak-bucket-{serial}", "region": "eu-west-1", "prefix": f"/docs/{serial}/"},
            {"accessKeyId": "AKIASOAK", "secretAccessKey": "soak-secret"},
        ),
        "confluence": (
            {"instanceUrl": f"https://acme{serial}.atlassian.net/wiki", "spaceKeys": ["ENG", f"S{serial}"]},
            {"email": "bot@acme.example", "apiToken": "soak-token"},
        ),
        "github": ({"repos": [f"acme/repo-{serial}"], "branch": "main"}, {"token": "ghp_soak"}),
        "slack": ({"channels": ["#general", f"#team-{serial}"]}, {"botToken": "xoxb-soak-1"}),
        "salesforce": ({"objects": ["Case", "Lead"]}, {"username": "soak@acme.example", "password": "pw"}),
        "postgresql": (
            {"host": f"db{serial}.internal", "port": 5432, "database": "app"},
            {"username": "reader", "password": "pw"},
        ),
    }
    config, credentials = configs[kind]
    return {"name": name, "type": kind, "collection": collection, "config": config, "credentials": credentials}


def config_change(kind: str, serial: int, rng: random.Random) -> dict[str, Any] | None:
    """A valid config change for `kind` (`None` values remove a key), or None for the OAuth
    types, whose config has no keys."""
    choices: dict[str, list[dict[str, Any]]] = {
        "s3": [{"prefix": f"/docs/{serial}/"}, {"prefix": None}, {"endpoint": f"https://minio{serial}.example.com"}],
        "confluence": [{"spaceKeys": ["ENG", f"S{serial}"]}, {"spaceKeys": None}],
        "github": [{"branch": f"release-{serial}"}, {"pathFilter": "docs/**/*.md"}, {"pathFilter": None}],
        "slack": [
            {"channels": ["#general", f"#team-{serial}"]},
            {"dateRange": {"from": "2024-01-01", "to": "2024-12-31"}},
            {"dateRange": None},
        ],
        "salesforce": [{"soqlFilter": f"CreatedDate = LAST_N_DAYS:{serial % 90 + 1}"}, {"soqlFilter": None}],
        "postgresql": [{"port": 5433 + serial % 100}, {"schema": f"tenant_{serial}"}, {"schema": None}],
    }
    options = choices.get(kind)
    return rng.choice(options) if options else None


def merged(config: Mapping[str, Any], change: Mapping[str, Any]) -> dict[str, Any]:
    """The update's merge: key by key, `null` removes a key."""
    result = dict(config)
    for key, value in change.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def projection(connector: Mapping[str, Any]) -> dict[str, Any]:
    return {name: connector.get(name) for name in FIELDS}


def differences(expected: Mapping[str, Any], got: Mapping[str, Any]) -> str:
    return "; ".join(
        f"{name}: believed {expected.get(name)!r}, server {got.get(name)!r}"
        for name in FIELDS
        if expected.get(name) != got.get(name)
    )


# --------------------------------------------------------------------------------------------
# HTTP


class Lost(Exception):
    """An answer that never arrived whole: the connection dropped or was reset, the body was cut
    short or is not JSON, or nothing came in time. The request may or may not have been done."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind  # dropped, cut short, malformed, timeout


@dataclass(slots=True)
class Answer:
    status: int
    data: Any  # the JSON's `data`, if any
    error_code: str | None
    error_message: str
    request_id: str
    retry_after: float | None
    location: str | None
    html: bool

    @property
    def outcome(self) -> str:
        """How INJECTABLE names it: the status and the error code, or `html`."""
        return f"{self.status} {'html' if self.html else self.error_code}"


@dataclass
class Tally:
    """What one client thread sent and got, merged at the end (no locks while running)."""

    classes: Counter[str] = field(default_factory=Counter)
    latencies: array[float] = field(default_factory=lambda: array("d"))
    api_requests: int = 0
    injected: Counter[str] = field(default_factory=Counter)
    # Every 5xx seen: (request id, status and code, who and what, whether a scenario explains it).
    server_errors: list[tuple[str, str, str, bool]] = field(default_factory=list)

    def merge(self, other: Tally) -> None:
        self.classes.update(other.classes)
        self.latencies.extend(other.latencies)
        self.api_requests += other.api_requests
        self.injected.update(other.injected)
        self.server_errors.extend(other.server_errors)


@dataclass
class Findings:
    """Everything that makes the run fail, counted by kind, with the first few described."""

    counts: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def add(self, kind: str, text: str) -> None:
        self.counts[kind] += 1
        if len(self.examples) < EXAMPLES_PER_THREAD:
            self.examples.append(f"{kind}: {text}")

    def merge(self, other: Findings) -> None:
        self.counts.update(other.counts)
        self.examples.extend(other.examples)


class Client:
    """One keep-alive connection (opened again after a failure or a long idle), counting every
    request, its status class and its time from sending to having the whole body.

    It speaks HTTP/1.1 itself: the request's bytes out; the status line, the headers and a
    Content-Length (or chunked) body back. http.client parses every answer's headers with the
    email package, which was two thirds of the clients' CPU: 165 us a request against 60."""

    def __init__(self, port: int, tally: Tally) -> None:
        self.port = port
        self.tally = tally
        self._socket: socket.socket | None = None
        self._reader: io.BufferedReader | None = None
        self._last_used = 0.0

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
        if self._socket is not None:
            self._socket.close()
        self._socket = self._reader = None

    def _connection(self, now: float) -> tuple[socket.socket, io.BufferedReader]:
        if self._socket is None or self._reader is None or now - self._last_used > IDLE_RECONNECT_SECONDS:
            self.close()
            self._socket = socket.create_connection((HOST, self.port), timeout=REQUEST_TIMEOUT)
            self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._reader = self._socket.makefile("rb")
        return self._socket, self._reader

    def send(
        self,
        method: str,
        path: str,
        *,
        key: str | None = None,
        body: Any = None,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{self.port}"]
        if key is not None:
            lines.append(f"Authorization: Bearer {key}")
        data = b""
        if body is not None:
            data = json.dumps(body).encode()
            lines.append("Content-Type: application/json")
        elif form is not None:
            data = urlencode(form).encode()
            lines.append("Content-Type: application/x-www-form-urlencoded")
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        if data or method != "GET":
            lines.append(f"Content-Length: {len(data)}")
        request = ("\r\n".join(lines) + "\r\n\r\n").encode() + data
        if not path.startswith("/_mock/"):
            self.tally.api_requests += 1
        started = time.perf_counter()
        status: int | None = None
        try:
            sock, reader = self._connection(started)
            sock.sendall(request)
            status_line = reader.readline(MAX_LINE)
            if not status_line:
                raise EOFError("the connection closed with no answer")
            status = int(status_line.split(b" ", 2)[1])
            received = read_headers(reader)
            payload = read_body(reader, status, received)
        except TimeoutError as error:
            self.close()
            self.tally.classes["no answer"] += 1
            raise Lost("timeout", f"{method} {path}: no answer in {REQUEST_TIMEOUT:.0f} s") from error
        except (OSError, EOFError, ValueError, IndexError) as error:
            self.close()
            kind = "dropped" if status is None else "cut short"
            self.tally.classes["no answer" if status is None else "cut short"] += 1
            raise Lost(kind, f"{method} {path}: {type(error).__name__}: {error}") from None
        finished = time.perf_counter()
        self._last_used = finished
        self.tally.latencies.append(finished - started)
        if received.get("connection", "").lower() == "close":
            self.close()
        return self._answer(method, path, status, received, payload)

    def _answer(self, method: str, path: str, status: int, received: dict[str, str], payload: bytes) -> Answer:
        content_type = received.get("content-type", "")
        document: Any = None
        if payload and content_type.startswith("application/json"):
            try:
                document = json.loads(payload)
            except ValueError:
                self.tally.classes["malformed"] += 1
                raise Lost("malformed", f"{method} {path}: {status} with a body that is not JSON") from None
        self.tally.classes[f"{status // 100}xx"] += 1
        retry_after = received.get("retry-after", "")
        envelope_error = document.get("error") if isinstance(document, dict) else None
        return Answer(
            status=status,
            data=document.get("data") if isinstance(document, dict) else None,
            error_code=envelope_error.get("code") if isinstance(envelope_error, dict) else None,
            error_message=str(envelope_error.get("message", "")) if isinstance(envelope_error, dict) else "",
            request_id=received.get("x-request-id", ""),
            retry_after=float(retry_after) if retry_after.isdigit() else None,
            location=received.get("location"),
            html=content_type.startswith("text/html"),
        )


def read_headers(reader: io.BufferedReader) -> dict[str, str]:
    received: dict[str, str] = {}
    while True:
        line = reader.readline(MAX_LINE)
        if not line:
            raise EOFError("the connection closed in the headers")
        if line in (b"\r\n", b"\n"):
            return received
        name, _, value = line.decode("latin-1").partition(":")
        received[name.strip().lower()] = value.strip()


def read_body(reader: io.BufferedReader, status: int, received: Mapping[str, str]) -> bytes:
    """The whole body, or EOFError if the connection ends before it does."""
    if status in (204, 304) or status < 200:
        return b""
    if received.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while size := int(reader.readline(MAX_LINE).split(b";")[0], 16):
            chunks.append(read_exactly(reader, size))
            read_exactly(reader, 2)
        read_headers(reader)  # the trailer
        return b"".join(chunks)
    length = received.get("content-length")
    if length is None:
        return reader.read()  # to the end of the connection
    return read_exactly(reader, int(length))


def read_exactly(reader: io.BufferedReader, size: int) -> bytes:
    data = reader.read(size)
    if len(data) < size:
        raise EOFError(f"the connection closed after {len(data)} of {size} bytes")
    return data


# --------------------------------------------------------------------------------------------
# The workers


class GaveUp(Exception):
    """A request that met nothing but faults MAX_ATTEMPTS times."""


@dataclass
class Run:
    """What every client thread shares: where, how fast, until when."""

    port: int
    speed: float
    seed: int
    started: float
    deadline: float
    halt: threading.Event


class Worker:
    """One API key, a mixed workload, and a model of what the key's tenant holds."""

    def __init__(self, index: int, run: Run) -> None:
        self.index = index
        self.key = worker_key(index)
        self.binding = BINDINGS[index % len(BINDINGS)]
        self.run_info = run
        self.rng = random.Random(f"{run.seed}-worker-{index}")
        self.tally = Tally()
        self.findings = Findings()
        self.done: Counter[str] = Counter()
        self.client = Client(run.port, self.tally)
        # id -> projection, in listing order (oldest first).
        self.model: dict[str, dict[str, Any]] = {}
        self.collections: list[str] = []
        self.deleted: list[str] = []
        self.serial = 0
        self.final_mismatches = 0
        self.crash: str | None = None
        # Whether any attempt of the last `call` may have been carried out without its answer.
        self.ambiguous = False

    # Requests ------------------------------------------------------------------------------

    def pause(self, attempt: int, retry_after: float | None) -> None:
        if retry_after is not None:
            time.sleep(retry_after / self.run_info.speed)  # the fake's seconds
        else:
            time.sleep(min(0.2, 0.005 * 2**attempt) * self.rng.uniform(0.5, 1.5))

    def call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = True,
    ) -> Answer | None:
        """Send until an answer that is not a fault: a 429 is sent again after Retry-After; a lost
        answer or a 5xx is sent again if `idempotent`, else None says "it may have happened"."""
        scenario = (headers or {}).get(SCENARIO_HEADER, self.binding)
        self.ambiguous = False
        for attempt in range(MAX_ATTEMPTS):
            try:
                answer = self.client.send(method, path, key=self.key, body=body, headers=headers)
            except Lost as lost:
                self.fault(lost.kind, scenario, f"{what}: {lost}")
                if lost.kind == "timeout":
                    raise GaveUp(f"{self.key} {what}: {lost}") from None  # a hung server: no retrying
                self.ambiguous = True
                if not idempotent:
                    return None
                self.pause(attempt, None)
                continue
            if answer.status != 429 and answer.status < 500:
                return answer
            self.fault(answer.outcome, scenario, f"{what}: {answer.status} {answer.error_code}", answer)
            self.pause(attempt, answer.retry_after)
            if answer.status >= 500:
                self.ambiguous = True
                if not idempotent:
                    return None
        raise GaveUp(f"{self.key} {what}: no answer but faults in {MAX_ATTEMPTS} attempts")

    def fault(self, outcome: str, scenario: str | None, text: str, answer: Answer | None = None) -> None:
        explained = outcome in INJECTABLE.get(scenario, frozenset())
        if answer is not None and answer.status >= 500:
            # Judged at the end, by the journal's `fault`, where the journal has it.
            self.tally.server_errors.append((answer.request_id, answer.outcome, f"{self.key} {text}", explained))
        elif not explained:
            self.findings.add("unexpected fault", f"{self.key} (scenario {scenario}) {text}")
        if explained:
            self.tally.injected[outcome] += 1

    def listing(self) -> list[dict[str, Any]]:
        answer = self.call("GET", "/v1/connectors", "listConnectors")
        assert answer is not None
        if answer.status != 200 or not isinstance(answer.data, list):
            raise GaveUp(f"{self.key} listConnectors: {answer.status} {answer.error_code}")
        return answer.data

    def unexpected(self, what: str, answer: Answer, wanted: str) -> None:
        self.findings.add(
            "unexpected answer",
            f"{self.key} {what}: {answer.status} {answer.error_code} (request {answer.request_id}), wanted {wanted}",
        )

    # The model -----------------------------------------------------------------------------

    def baseline(self) -> None:
        """Believe what the server lists: at the start, and after a failure was recorded."""
        listed = self.listing()
        self.model = {connector["id"]: projection(connector) for connector in listed}
        # The fixtures' collections, from the first listing: the ones a tenant has.
        self.collections = self.collections or sorted({connector["collection"] for connector in listed})

    def compare(self, listed: list[dict[str, Any]], when: str) -> int:
        """Differences between the model and a listing, each recorded; their number."""
        found = 0
        ids = [connector["id"] for connector in listed]
        by_id = {connector["id"]: connector for connector in listed}
        for missing in [i for i in self.model if i not in by_id]:
            found += 1
            self.findings.add(
                f"state mismatch ({when})", f"{self.key}: {missing} is gone, believed {self.model[missing]}"
            )
        for extra in [i for i in ids if i not in self.model]:
            found += 1
            self.findings.add(
                f"state mismatch ({when})", f"{self.key}: {extra} was never made: {projection(by_id[extra])}"
            )
        for connector_id, believed in self.model.items():
            got = by_id.get(connector_id)
            if got is not None and projection(got) != believed:
                found += 1
                self.findings.add(
                    f"state mismatch ({when})", f"{self.key} {connector_id}: {differences(believed, got)}"
                )
        if not found and ids != list(self.model):
            found += 1
            self.findings.add(
                f"state mismatch ({when})", f"{self.key}: listed in order {ids}, created {list(self.model)}"
            )
        return found

    def check(self, what: str, connector_id: str, got: Mapping[str, Any]) -> None:
        believed = self.model.get(connector_id)
        if believed is None or projection(got) != believed:
            shown = differences(believed, got) if believed else f"unknown connector {projection(got)}"
            self.findings.add("state mismatch (during the run)", f"{self.key} {what} {connector_id}: {shown}")

    def new_name(self) -> str:
        self.serial += 1
        prefix = self.rng.choices(("Docs ", "Wiki ", "Archive ", DOOMED), (3, 3, 2, 2))[0]
        return f"{prefix}{self.index:02d}-{self.serial:06d}"

    def pick(self) -> str:
        return self.rng.choice(list(self.model))

    # The workload --------------------------------------------------------------------------

    def run(self) -> None:
        run = self.run_info
        try:
            self.baseline()
            while not run.halt.is_set() and time.monotonic() < run.deadline:
                try:
                    self.step()
                except GaveUp as error:
                    self.findings.add("gave up", str(error))
                    self.baseline()
            if not run.halt.is_set():
                self.final_mismatches = self.compare(self.listing(), "at the end")
        except Exception:
            self.crash = f"{self.key}: {traceback.format_exc()}"
        finally:
            self.client.close()

    def step(self) -> None:
        count = len(self.model)
        if count < 4:
            operation = self.create
        elif count > 20:
            operation = self.delete
        else:
            operations: list[Callable[[], None]] = [
                self.create,
                self.get,
                self.list,
                self.update,
                self.delete,
                self.sync,
                self.oauth,
                self.error_path,
            ]
            operation = self.rng.choices(operations, (13, 18, 8, 14, 11, 14, 5, 10))[0]
        operation()

    def create(self) -> None:
        kind = self.rng.choice(CREATABLE)
        name, collection = self.new_name(), self.rng.choice(self.collections)
        body = create_body(kind, name, collection, self.serial)
        expected = {**projection(body), "status": "active"}
        for _ in range(MAX_ATTEMPTS):
            answer = self.call("POST", "/v1/connectors", "createConnector", body=body, idempotent=False)
            if answer is None:
                # Lost, or a 5xx: a listing says whether it was made; if not, it is sent again.
                self.done["outcomes resolved by listing"] += 1
                if self.adopt_by_name(expected, "create"):
                    return
                continue
            if answer.status == 201:
                self.model[answer.data["id"]] = expected
                self.check("createConnector", answer.data["id"], answer.data)
                self.done["create"] += 1
            else:
                self.unexpected("createConnector", answer, "201")
            return
        raise GaveUp(f"{self.key} createConnector {name}: never answered")

    def adopt_by_name(self, expected: dict[str, Any], done: str) -> bool:
        """Whether the listing has the connector `expected` describes (names are unique in a
        collection); if so, it joins the model."""
        for connector in self.listing():
            if connector["collection"] == expected["collection"] and connector["name"] == expected["name"]:
                self.model[connector["id"]] = expected
                self.check(f"{done} (found by listing)", connector["id"], connector)
                self.done[done] += 1
                return True
        return False

    def get(self) -> None:
        connector_id = self.pick()
        answer = self.call("GET", f"/v1/connectors/{connector_id}", "getConnector")
        assert answer is not None
        if answer.status == 200:
            self.check("getConnector", connector_id, answer.data)
            self.done["get"] += 1
        else:
            self.unexpected(f"getConnector {connector_id}", answer, "200")

    def list(self) -> None:
        if self.compare(self.listing(), "during the run"):
            self.baseline()
        self.done["list"] += 1

    def update(self) -> None:
        connector_id = self.pick()
        believed = self.model[connector_id]
        change: dict[str, Any] = {}
        config = config_change(believed["type"], self.serial, self.rng)
        roll = self.rng.random()
        if roll < 0.5 or config is None:
            change["name"] = self.new_name()
        if roll >= 0.3 and config is not None:
            change["config"] = config
        if self.rng.random() < 0.1:
            change["type"] = believed["type"]  # sent back unchanged: allowed
        answer = self.call("PUT", f"/v1/connectors/{connector_id}", "updateConnector", body=change)
        assert answer is not None
        if answer.status != 200:
            self.unexpected(f"updateConnector {connector_id} {change}", answer, "200")
            return
        believed["name"] = change.get("name", believed["name"])
        if "config" in change:
            believed["config"] = merged(believed["config"], change["config"])
        self.check("updateConnector", connector_id, answer.data)
        self.done["update"] += 1

    def delete(self) -> None:
        connector_id = self.pick()
        answer = self.call("DELETE", f"/v1/connectors/{connector_id}", "deleteConnector")
        assert answer is not None
        if answer.status == 204 or (answer.status == 404 and self.ambiguous):
            del self.model[connector_id]
            self.deleted = [*self.deleted[-9:], connector_id]
            self.done["delete"] += 1
        else:
            self.unexpected(f"deleteConnector {connector_id}", answer, "204")

    def sync(self) -> None:
        connector_id = self.pick()
        believed = self.model[connector_id]
        doomed = believed["name"].startswith(DOOMED)
        headers = {SCENARIO_HEADER: FAILING_SYNCS} if doomed else None
        body = self.rng.choice([None, {"sync_mode": "full"}, {"sync_mode": "incremental"}])
        path = f"/v1/connectors/{connector_id}/sync"
        job_id = None
        tried_before = False
        for _ in range(MAX_ATTEMPTS):
            answer = self.call("POST", path, "triggerSync", body=body, headers=headers, idempotent=False)
            if answer is None:
                tried_before = True  # may have started: a second trigger finds out
                continue
            if answer.status == 202:
                job_id = answer.data["jobId"]
            elif answer.status == 409 and answer.error_code == "sync_in_progress":
                # Its message names the running job: the first trigger did start it.
                if not tried_before:
                    self.unexpected(f"triggerSync {connector_id}", answer, "202: no sync of it was running")
                found = JOB_ID.search(answer.error_message)
                job_id = found.group(0) if found else None
                self.done["outcomes resolved by listing"] += 1
            else:
                self.unexpected(f"triggerSync {connector_id}", answer, "202")
                return
            break
        if job_id is None:
            raise GaveUp(f"{self.key} triggerSync {connector_id}: no job to follow")
        self.follow(connector_id, job_id, doomed)

    def follow(self, connector_id: str, job_id: str, doomed: bool) -> None:
        """Poll the job every half second of the fake's clock until it ends; check that its
        progress never goes back; then believe what it did to the connector."""
        path = f"/v1/connectors/{connector_id}/sync/{job_id}"
        previous, stage = (0, 0, 0), 0
        give_up = time.monotonic() + max(10.0, 300 / self.run_info.speed)
        job: dict[str, Any] = {}
        while time.monotonic() < give_up:
            answer = self.call("GET", path, "getSyncStatus")
            assert answer is not None
            if answer.status != 200:
                self.unexpected(f"getSyncStatus {job_id}", answer, "200")
                self.baseline()
                return
            job = answer.data
            progress = job["progress"]
            counters = (progress["collected"], progress["parsed"], progress["indexed"])
            if not counters[0] >= counters[1] >= counters[2] or any(
                now < before for now, before in zip(counters, previous, strict=True)
            ):
                self.findings.add("sync outcome", f"{self.key} {job_id}: progress {previous} then {counters}")
            previous = counters
            now_stage = JOB_STAGES.get(job["status"], -1)
            if now_stage < stage:
                self.findings.add("sync outcome", f"{self.key} {job_id}: {job['status']} after a later status")
            stage = max(stage, now_stage)
            if job["status"] in ("completed", "failed"):
                break
            time.sleep(0.5 / self.run_info.speed)
        else:
            self.findings.add("sync outcome", f"{self.key} {job_id}: still {job.get('status')} after polling")
            self.baseline()
            return
        believed = self.model[connector_id]
        if job["status"] == "completed":
            believed.update(status="active", lastSync=job["completedAt"], lastError=None)
            self.done["sync completed"] += 1
        else:
            believed.update(status="error", lastError=job["error"])
            self.done["sync failed"] += 1
        # Doomed connectors sync under sync-fails-midway; every other under the default script.
        wanted = ("failed", FAILED_SYNC_CODE) if doomed else ("completed", None)
        got = (job["status"], (job.get("error") or {}).get("code"))
        if got != wanted:
            self.findings.add("sync outcome", f"{self.key} {job_id} of {connector_id}: {got}, wanted {wanted}")

    def oauth(self) -> None:
        kind = self.rng.choice(OAUTH_TYPES)
        name, collection = self.new_name(), self.rng.choice(self.collections)
        expected: dict[str, Any] = {
            "name": name,
            "type": kind,
            "collection": collection,
            "config": {},
            "status": "active",
            "lastSync": None,
            "lastError": None,
        }
        for _ in range(3):
            query = urlencode({"collection": collection, "name": name, "redirect_uri": REDIRECT_URI})
            answer = self.call("GET", f"/v1/connectors/oauth/{kind}/authorize?{query}", "authorizeOAuth")
            assert answer is not None
            if answer.status != 200:
                self.unexpected("authorizeOAuth", answer, "200")
                return
            state = answer.data["state"]
            code = self.consent(kind, answer.data["authUrl"], state)
            if code is None:
                return
            outcome = self.complete(kind, code, state, expected)
            if outcome != "start again":
                return
            self.done["OAuth flows started again (state expired)"] += 1
        self.findings.add("unexpected answer", f"{self.key} OAuth {name}: three flows expired")

    def consent(self, kind: str, auth_url: str, state: str) -> str | None:
        """Approve on the consent page, as its form does; the code from the redirect. The page
        is the fake's own (/_mock): no scenario reaches it."""
        path = urlsplit(auth_url).path
        try:
            answer = self.client.send("POST", path, form={"state": state, "decision": "approve"})
        except Lost as lost:
            self.findings.add("unexpected fault", f"{self.key} consent page: {lost}")
            return None
        location = answer.location or ""
        returned = {name: values[-1] for name, values in parse_qs(urlsplit(location).query).items()}
        if answer.status != 303 or not location.startswith(REDIRECT_URI) or returned.get("state") != state:
            self.findings.add("unexpected answer", f"{self.key} consent for {kind}: {answer.status} to {location!r}")
            return None
        return returned.get("code")

    def complete(self, kind: str, code: str, state: str, expected: dict[str, Any]) -> str:
        """`completeOAuth`: "done", or "start again" when the state expired."""
        path = f"/v1/connectors/oauth/{kind}/callback"
        name = expected["name"]
        may_be_done = False
        for _ in range(MAX_ATTEMPTS):
            answer = self.call("POST", path, "completeOAuth", body={"code": code, "state": state}, idempotent=False)
            if answer is None or (may_be_done and answer.error_code == "state_already_used"):
                may_be_done = True
                self.done["outcomes resolved by listing"] += 1
                if self.adopt_by_name(expected, "oauth"):
                    return "done"
                if answer is not None:
                    self.findings.add(
                        "state mismatch (during the run)", f"{self.key} OAuth {name}: state used, no connector"
                    )
                    return "done"
                continue
            if answer.status == 201:
                self.model[answer.data["id"]] = expected
                self.check("completeOAuth", answer.data["id"], answer.data)
                self.done["oauth"] += 1
            elif answer.error_code == "state_expired":
                return "start again"
            else:
                self.unexpected(f"completeOAuth {name}", answer, "201")
            return "done"
        raise GaveUp(f"{self.key} completeOAuth {name}: never answered")

    def error_path(self) -> None:
        connector_id = self.pick()
        believed = self.model[connector_id]
        serial = self.rng.randrange(10**6)
        cases: list[tuple[str, str, Any, int, str]] = [
            ("GET", f"/v1/connectors/conn_nosuch{serial}", None, 404, "not_found"),
            ("GET", f"/v1/connectors/{connector_id}/sync/job_nosuch{serial}", None, 404, "not_found"),
            (
                "POST",
                "/v1/connectors",
                create_body("s3", believed["name"], believed["collection"], serial),
                409,
                "already_exists",
            ),
            (
                "POST",
                "/v1/connectors",
                {
                    **create_body("postgresql", f"Invalid {serial}", "col_xyz", serial),
                    "config": {"host": "db", "port": 70000},
                },
                422,
                "validation_failed",
            ),
            (
                "PUT",
                f"/v1/connectors/{connector_id}",
                {"type": "s3" if believed["type"] != "s3" else "github"},
                422,
                "validation_failed",
            ),
            ("GET", "/v1/connectors/oauth/s3/authorize?collection=col_xyz", None, 400, "invalid_parameter"),
        ]
        if self.deleted:
            cases.append(("GET", f"/v1/connectors/{self.rng.choice(self.deleted)}", None, 404, "not_found"))
        method, path, body, status, code = self.rng.choice(cases)
        # A refused request changes nothing, so sending it again is safe.
        answer = self.call(method, path, f"error path {method} {path}", body=body)
        assert answer is not None
        if answer.status != status or answer.error_code != code:
            self.unexpected(f"{method} {path}", answer, f"{status} {code}")
        self.done["error path"] += 1


# --------------------------------------------------------------------------------------------
# The new keys


class Visitors:
    """`keys` new API keys over the run, spread evenly, from `threads` threads: each lists its
    connectors (the fixtures), every tenth creates one and reads it back, and none comes back."""

    def __init__(self, run: Run, keys: int, threads: int, fixtures: list[dict[str, Any]]) -> None:
        self.run_info = run
        self.keys = keys
        self.threads = threads
        self.fixtures = fixtures
        self.fixture_ids = [connector["id"] for connector in fixtures]
        self.tallies = [Tally() for _ in range(threads)]
        self.findings = [Findings() for _ in range(threads)]
        self.brought = [0] * threads
        self.late = [0.0] * threads  # the most a key started after its time, seconds
        self.grace = max(5.0, (run.deadline - run.started) / 20)
        self.crash: str | None = None

    def run(self, thread: int) -> None:
        run = self.run_info
        client = Client(run.port, self.tallies[thread])
        interval = (run.deadline - run.started) / self.keys
        try:
            for index in range(thread, self.keys, self.threads):
                due = run.started + index * interval
                now = time.monotonic()
                # Every key is due before the deadline; one late by more than the grace is not brought.
                if run.halt.is_set() or now >= run.deadline + self.grace:
                    return
                if due > now:
                    time.sleep(due - now)
                self.late[thread] = max(self.late[thread], now - due)
                self.visit(client, index, self.findings[thread])
                self.brought[thread] += 1
        except Exception:
            self.crash = f"new keys, thread {thread}: {traceback.format_exc()}"
        finally:
            client.close()

    def visit(self, client: Client, index: int, findings: Findings) -> None:
        key = visitor_key(index)
        try:
            listed = client.send("GET", "/v1/connectors", key=key)
            if listed.status != 200 or [c["id"] for c in listed.data] != self.fixture_ids:
                findings.add("unexpected answer", f"{key} listConnectors: {listed.status}, not the fixtures")
            elif [projection(c) for c in listed.data] != [projection(c) for c in self.fixtures]:
                findings.add("state mismatch (during the run)", f"{key}: a new key's fixtures differ")
            if index % 10:
                return
            body = create_body("s3", f"Visitor {index:06d}", "col_abc123", index)
            created = client.send("POST", "/v1/connectors", key=key, body=body)
            if created.status != 201:
                findings.add("unexpected answer", f"{key} createConnector: {created.status} {created.error_code}")
                return
            read = client.send("GET", f"/v1/connectors/{created.data['id']}", key=key)
            if read.status != 200 or projection(read.data) != {**projection(body), "status": "active"}:
                findings.add("state mismatch (during the run)", f"{key} getConnector after create: {read.status}")
        except Lost as lost:
            # No scenario applies to these keys.
            findings.add("unexpected fault", f"{key}: {lost}")

    @property
    def brought_total(self) -> int:
        return sum(self.brought)


# --------------------------------------------------------------------------------------------
# Watching the server


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process, from /proc/PID/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rfind(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def client_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Sample:
    seconds: float  # since the load began
    rss_kib: int
    server_cpu: float
    client_cpu: float


class Sampler:
    def __init__(self, pid: int, started: float, every: float) -> None:
        self.pid = pid
        self.started = started
        self.every = every
        self.samples: list[Sample] = []
        self.stop = threading.Event()

    def take(self) -> Sample:
        sample = Sample(
            time.monotonic() - self.started, status_kib(self.pid, "VmRSS"), cpu_seconds(self.pid), client_cpu_seconds()
        )
        self.samples.append(sample)
        return sample

    def run(self) -> None:
        while not self.stop.wait(max(0.0, self.started + len(self.samples) * self.every - time.monotonic())):
            self.take()


class JournalMonitor:
    """Pages through the journal while the run goes on: every entry a fault rule acted on, and
    every 5xx without one (the fake's own, unexpected). The journal keeps the last 10,000
    requests, so it is read every second; `missed` counts entries gone before they were read."""

    def __init__(self, port: int, since: int, *, events: bool, workers: set[str]) -> None:
        self.port = port
        # Never 0: `since=0` asks for the newest entries, not the first.
        self.first_id = since
        self.cursors = {"fault=true": since, "status=5xx&fault=false": since}
        # Where the journal records what the fake did of itself (`kind=event`), those too.
        self.events_journaled = events
        if events:
            self.cursors["kind=event"] = since
        self.events: Counter[str] = Counter()
        self.workers = workers  # the workers' tenants, by fingerprint
        self.workers_evicted: list[dict[str, Any]] = []
        self.injected: Counter[str] = Counter()
        self.injected_5xx: set[str] = set()
        self.unexpected: list[dict[str, Any]] = []
        self.missed = 0
        self.last_id = since
        self.reads = 0
        self.stop = threading.Event()
        self.crash: str | None = None

    def read(self, connection: http.client.HTTPConnection, query: str) -> dict[str, Any]:
        self.reads += 1
        connection.request("GET", f"/_mock/journal?{query}")
        response = connection.getresponse()
        payload = response.read()
        data: dict[str, Any] = expect((response.status, payload), 200, f"GET /_mock/journal?{query}")
        return data

    def poll(self) -> None:
        with contextlib.closing(connect(self.port, timeout=REQUEST_TIMEOUT)) as connection:
            oldest_cursor = min(self.cursors.values())
            probe = self.read(connection, f"since={oldest_cursor}&limit=1")
            if probe["entries"] and probe["entries"][0]["id"] > oldest_cursor + 1:
                self.missed += probe["entries"][0]["id"] - oldest_cursor - 1
            for query in self.cursors:
                while True:
                    page = self.read(connection, f"{query}&since={self.cursors[query]}&limit={JOURNAL_PAGE}")
                    for entry in page["entries"]:
                        self.note(entry)
                    self.last_id = max(self.last_id, page["lastId"])
                    if len(page["entries"]) < JOURNAL_PAGE:
                        self.cursors[query] = page["lastId"]
                        break
                    self.cursors[query] = page["entries"][-1]["id"]

    def note(self, entry: dict[str, Any]) -> None:
        if "event" in entry:
            self.events[str(entry["event"])] += 1
            if entry["event"] == "tenant_evicted" and entry.get("tenant") in self.workers:
                self.workers_evicted.append(entry)
            return
        status, fault = entry.get("status"), entry.get("fault")
        if fault is None:
            self.unexpected.append(entry)
            return
        outcomes = [part for part in str(fault).split(", ") if not part.startswith("latency")]
        kind = outcomes[0].split(" (")[0] if outcomes else "latency only"
        self.injected[kind] += 1
        if status is not None and status >= 500:
            self.injected_5xx.add(str(entry.get("requestId")))

    def run(self) -> None:
        try:
            while not self.stop.wait(JOURNAL_POLL_SECONDS):
                self.poll()
            self.poll()
        except Exception:
            self.crash = f"journal monitor: {traceback.format_exc()}"


# --------------------------------------------------------------------------------------------
# The run


@dataclass
class Outcome:
    args: argparse.Namespace
    load_seconds: float
    workers: list[Worker]
    visitors: Visitors
    samples: list[Sample]
    journal: JournalMonitor
    server_log: str
    crashes: list[str]


def set_up(port: int, workers: int) -> tuple[list[dict[str, Any]], int, bool]:
    """Load the scenarios, bind the workers' keys, and read the fixtures a new key starts with;
    those, the journal's last id (the set-up's listing: at least 1), and whether the journal
    records events (a version without them refuses the `kind` filter with a 422)."""
    expect(call(port, "POST", f"/_mock/scenarios?example={FLAKY}"), 201, f"load {FLAKY}")
    expect(call(port, "POST", f"/_mock/scenarios?example={FAILING_SYNCS}"), 201, f"load {FAILING_SYNCS}")
    expect(call(port, "POST", "/_mock/scenarios", body=SOAK_FAULTS), 201, f"load {SOAK}")
    for index in range(workers):
        scenario = BINDINGS[index % len(BINDINGS)]
        if scenario is not None:
            answer = call(port, "PUT", "/_mock/binding", key=worker_key(index), body={"scenario": scenario})
            expect(answer, 200, f"bind {worker_key(index)} to {scenario}")
    fixtures: list[dict[str, Any]] = expect(call(port, "GET", "/v1/connectors", key="soak-fixtures"), 200, "fixtures")
    journal = expect(call(port, "GET", "/_mock/journal?limit=1"), 200, "GET /_mock/journal")
    events = call(port, "GET", "/_mock/journal?kind=event&limit=1")[0] == 200
    return fixtures, int(journal["lastId"]), events


def soak(args: argparse.Namespace) -> Outcome:
    command = [
        console_script(),
        "serve",
        *("--host", HOST, "--port", "0"),
        *("--seed", str(args.seed), "--clock", "real", "--speed", f"{args.speed:g}"),
    ]
    with Server(command, capture_stdout=True) as server:
        port = server.wait_listening(START_TIMEOUT)
        fixtures, journal_start, events = set_up(port, args.workers)
        started = time.monotonic()
        run = Run(port, args.speed, args.seed, started, started + args.duration, threading.Event())
        workers = [Worker(index, run) for index in range(args.workers)]
        visitors = Visitors(run, args.keys, args.key_threads, fixtures)
        sampler = Sampler(server.pid, started, args.sample_seconds)
        keys = {fingerprint(worker_key(index)) for index in range(args.workers)}
        journal = JournalMonitor(port, journal_start, events=events, workers=keys)
        threads = [threading.Thread(target=worker.run, name=worker.key, daemon=True) for worker in workers]
        threads += [
            threading.Thread(target=visitors.run, args=(index,), name=f"keys-{index}", daemon=True)
            for index in range(args.key_threads)
        ]
        helpers = [
            threading.Thread(target=sampler.run, name="sampler", daemon=True),
            threading.Thread(target=journal.run, name="journal", daemon=True),
        ]
        try:
            for thread in [*helpers, *threads]:
                thread.start()
            while time.monotonic() < run.deadline:
                time.sleep(min(0.2, max(0.0, run.deadline - time.monotonic())))
            sampler.stop.set()
            helpers[0].join()
            if not sampler.samples or time.monotonic() - started - sampler.samples[-1].seconds > 0.5:
                sampler.take()  # the last sample: the load ends here
            load_seconds = time.monotonic() - started
            for thread in threads:
                while thread.is_alive():
                    thread.join(0.2)
            journal.stop.set()
            while helpers[1].is_alive():
                helpers[1].join(0.2)
        finally:
            run.halt.set()
            sampler.stop.set()
            journal.stop.set()
        server_log = server.logs["stderr"].read_text(errors="replace")
    crashes = [crash for crash in [*(w.crash for w in workers), visitors.crash, journal.crash] if crash]
    return Outcome(args, load_seconds, workers, visitors, sampler.samples, journal, server_log, crashes)


# --------------------------------------------------------------------------------------------
# The report


def percentile(ordered: Sequence[float], share: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def latency_text(latencies: array[float]) -> str:
    ordered = sorted(latencies)
    return f"{percentile(ordered, 0.5) * 1000:.1f} / {percentile(ordered, 0.99) * 1000:.1f}"


def mib(kib: float) -> str:
    return f"{kib / 1024:,.1f}"


def server_log_errors(log: str) -> list[str]:
    return [line for line in log.splitlines() if re.search(r"Traceback|ERROR|Exception", line)]


@dataclass
class Totals:
    """Every client's counts merged, the 5xx judged, the samples read."""

    outcome: Outcome
    start: Sample
    middle: Sample  # the first sample of the second half
    end: Sample
    tally: Tally = field(default_factory=Tally)
    groups: dict[str, Tally] = field(default_factory=dict)
    findings: Findings = field(default_factory=Findings)
    done: Counter[str] = field(default_factory=Counter)
    unexpected_5xx: int = 0
    mismatches_during: int = 0
    mismatches_end: int = 0
    other_failures: int = 0
    log_errors: list[str] = field(default_factory=list)

    @property
    def growth(self) -> float:
        return (self.end.rss_kib - self.middle.rss_kib) / self.middle.rss_kib * 100

    @property
    def injected(self) -> int:
        journal = self.outcome.journal.injected
        return sum(journal.values()) - journal["latency only"]


def gather(outcome: Outcome) -> Totals:
    samples = outcome.samples
    middle = next(s for s in samples if s.seconds >= outcome.args.duration / 2)
    totals = Totals(outcome, samples[0], middle, samples[-1])
    for worker in outcome.workers:
        totals.findings.merge(worker.findings)
        totals.done.update(worker.done)
        group = f"workers bound to {worker.binding}" if worker.binding else "workers without faults"
        totals.groups.setdefault(group, Tally()).merge(worker.tally)
    keys = totals.groups["new keys"] = Tally()
    for thread_tally, thread_findings in zip(outcome.visitors.tallies, outcome.visitors.findings, strict=True):
        keys.merge(thread_tally)
        totals.findings.merge(thread_findings)
    for tally in totals.groups.values():
        totals.tally.merge(tally)
    # Unexpected 5xx: those the journal recorded with no fault, and any a client saw that the
    # journal does not explain and no scenario of the request could have sent.
    journal = outcome.journal
    unexpected_ids = {entry.get("requestId") for entry in journal.unexpected}
    unexplained = [
        text
        for request_id, _, text, explained in totals.tally.server_errors
        if request_id not in journal.injected_5xx and request_id not in unexpected_ids and not explained
    ]
    totals.unexpected_5xx = len(unexpected_ids) + len(unexplained)
    for entry in journal.unexpected[:EXAMPLES_PER_THREAD]:
        shown = {name: entry.get(name) for name in ("id", "requestId", "method", "path", "status", "errorCode")}
        totals.findings.add("unexpected 5xx", f"journal {shown} tenant {entry.get('tenant')}")
    for text in unexplained[:EXAMPLES_PER_THREAD]:
        totals.findings.add("unexpected 5xx", text)
    for crash in outcome.crashes:
        totals.findings.add("crash", crash)
    for entry in journal.workers_evicted[:EXAMPLES_PER_THREAD]:
        totals.findings.add("worker's tenant evicted", f"journal {entry}")
    counts = totals.findings.counts
    totals.mismatches_end = sum(worker.final_mismatches for worker in outcome.workers)
    totals.mismatches_during = counts["state mismatch (during the run)"]
    totals.other_failures = sum(
        count
        for kind, count in counts.items()
        if not kind.startswith(("unexpected 5xx", "unexpected fault", "state", "worker's tenant"))
    )
    totals.log_errors = server_log_errors(outcome.server_log)
    return totals


def evictions(journal: JournalMonitor) -> str:
    if not journal.events_journaled:
        return "not journaled by this version of the fake"
    return f"{journal.events['tenant_evicted']:,} / {len(journal.workers_evicted)}"


def criteria(totals: Totals) -> list[tuple[str, bool]]:
    args, workers = totals.outcome.args, totals.outcome.workers
    return [
        ("no unexpected 5xx", totals.unexpected_5xx == 0),
        ("no dropped connection or broken body but injected ones", totals.findings.counts["unexpected fault"] == 0),
        (
            "every worker's model equals the server, during the run and at the end",
            totals.mismatches_during + totals.mismatches_end == 0,
        ),
        ("no worker's tenant evicted", not totals.outcome.journal.workers_evicted),
        (
            "every answer and every job as expected, nothing crashed",
            totals.other_failures == 0 and not totals.log_errors,
        ),
        (f"all {args.keys:,} new keys brought", totals.outcome.visitors.brought_total == args.keys),
        ("the scenarios injected faults", totals.injected > 0 or not any(w.binding for w in workers)),
        (f"RSS growth over the second half under {GROWTH_LIMIT_PERCENT:g}%", totals.growth < GROWTH_LIMIT_PERCENT),
    ]


def table_rows(totals: Totals, verdict: list[tuple[str, bool]]) -> list[tuple[str, str]]:
    outcome, done, classes = totals.outcome, totals.done, totals.tally.classes
    args, workers, visitors = outcome.args, outcome.workers, outcome.visitors
    start, middle, end = totals.start, totals.middle, totals.end
    seconds = outcome.load_seconds
    requests = sum(classes.values())
    lost = classes["no answer"] + classes["cut short"] + classes["malformed"]
    bound = Counter(worker.binding for worker in workers)
    brought = visitors.brought_total
    second_half_keys = brought - min(brought, args.keys // 2)
    per_key = (end.rss_kib - middle.rss_kib) / second_half_keys if second_half_keys else float("nan")
    server_cpu, client_cpu = end.server_cpu - start.server_cpu, end.client_cpu - start.client_cpu
    injected = ", ".join(f"{count:,} {kind}" for kind, count in sorted(outcome.journal.injected.items()))
    rows = [
        (
            "load",
            f"{seconds:.0f} s; {len(workers)} workers ({bound[FLAKY]} bound to `{FLAKY}`, {bound[SOAK]} to `{SOAK}`); "
            f"real clock at speed {args.speed:g}",
        ),
        ("requests (API and consent page)", f"{requests:,} ({requests / seconds:,.0f}/s)"),
        (
            "answers: 2xx / 3xx / 4xx / 5xx / lost",
            " / ".join(f"{classes[c]:,}" for c in ("2xx", "3xx", "4xx", "5xx")) + f" / {lost:,}",
        ),
        ("faults injected (journal `fault`)", injected or "none"),
        ("unexpected 5xx", f"{totals.unexpected_5xx:,}"),
        ("unexpected lost answers", f"{totals.findings.counts['unexpected fault']:,}"),
        ("state mismatches: during the run / at the end", f"{totals.mismatches_during:,} / {totals.mismatches_end:,}"),
        (
            "worker operations",
            f"{done['create']:,} creates, {done['get']:,} gets, {done['list']:,} lists, {done['update']:,} updates, "
            f"{done['delete']:,} deletes, {done['error path']:,} error paths",
        ),
        (
            "syncs polled to the end: completed / failed as scripted",
            f"{done['sync completed']:,} / {done['sync failed']:,}",
        ),
        ("OAuth flows completed", f"{done['oauth']:,}"),
        ("lost or 5xx outcomes resolved by listing or a second trigger", f"{done['outcomes resolved by listing']:,}"),
        ("new keys brought", f"{brought:,} of {args.keys:,} (the latest {max(visitors.late):.2f} s after its time)"),
        ("tenants evicted (journal `tenant_evicted`): all / workers'", evictions(outcome.journal)),
    ]
    rows += [(f"latency p50 / p99 ms: {name}", latency_text(group.latencies)) for name, group in totals.groups.items()]
    rows += [
        ("RSS MiB: start / middle / end", f"{mib(start.rss_kib)} / {mib(middle.rss_kib)} / {mib(end.rss_kib)}"),
        (
            "RSS growth over the second half",
            f"{totals.growth:+.1f}% ({(end.rss_kib - middle.rss_kib) / 1024:+,.1f} MiB, "
            f"{per_key:,.1f} KiB per new key)",
        ),
        (
            "CPU: server / clients (of one core; per request)",
            f"{server_cpu / seconds:.0%} / {client_cpu / seconds:.0%}; "
            f"{server_cpu / requests * 1e6:,.0f} / {client_cpu / requests * 1e6:,.0f} us",
        ),
    ]
    failed = [name for name, ok in verdict if not ok]
    rows.append(("result", "**fail**: " + "; ".join(failed) if failed else "**pass**"))
    return rows


def details(totals: Totals, verdict: list[tuple[str, bool]]) -> None:
    outcome, journal = totals.outcome, totals.outcome.journal
    print("Criteria:")
    for name, ok in verdict:
        print(f"- [{'x' if ok else ' '}] {name}")
    every = outcome.args.duration / 10
    timeline = [outcome.samples[0]]
    for sample in outcome.samples[1:]:
        if sample.seconds >= timeline[-1].seconds + every * 0.95 or sample is outcome.samples[-1]:
            timeline.append(sample)
    print("\nRSS MiB by time: " + ", ".join(f"{s.seconds:.0f} s {mib(s.rss_kib)}" for s in timeline))
    events = sum(journal.events.values())
    print(
        f"Journal: {journal.last_id - journal.first_id - events:,} API requests recorded during the run, "
        f"{totals.tally.api_requests:,} sent by the clients; {events:,} events "
        f"({', '.join(f'{count:,} {name}' for name, count in journal.events.items()) or 'none'}); "
        f"{journal.missed:,} entries gone before the monitor read them ({journal.reads:,} reads)."
    )
    print(f"Faults the clients met, as they saw them: {dict(sorted(totals.tally.injected.items()))}")
    restarted = totals.done["OAuth flows started again (state expired)"]
    if restarted:
        print(f"OAuth flows started again after their state expired: {restarted}")
    if totals.log_errors:
        print(f"\nThe server logged {len(totals.log_errors)} error lines; the first:")
        print("\n".join(totals.log_errors[:5]))
    if totals.findings.counts:
        counts = totals.findings.counts.most_common()
        print("\nFindings: " + ", ".join(f"{count:,} {kind}" for kind, count in counts))
        for example in totals.findings.examples[:40]:
            print(f"- {example}")


def report(outcome: Outcome) -> int:
    """Print the table and the details; the exit status."""
    totals = gather(outcome)
    verdict = criteria(totals)
    print("| soak | |")
    print("| --- | --- |")
    for name, value in table_rows(totals, verdict):
        print(f"| {name} | {value} |")
    print()
    details(totals, verdict)
    return 0 if all(ok for _, ok in verdict) else 1


# --------------------------------------------------------------------------------------------
# Main


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, help="seconds of load (default: 600; 60 with --quick)")
    parser.add_argument("--workers", type=positive, default=32, help="worker clients, one key each (default: 32)")
    parser.add_argument(
        "--keys", type=positive, help="new keys brought over the run (default: 100000; 20000 with --quick)"
    )
    parser.add_argument("--speed", type=float, default=50.0, help="the fake's clock speed (default: %(default)g)")
    parser.add_argument(
        "--seed", type=int, default=1, help="the fake's --seed, and the workers' (default: %(default)s)"
    )
    parser.add_argument("--key-threads", type=positive, default=16, help="threads bringing new keys (default: 16)")
    parser.add_argument("--sample-seconds", type=float, default=2.0, help="RSS sampling interval (default: 2)")
    parser.add_argument("--quick", action="store_true", help="60 s and 20,000 keys unless given: for development")
    args = parser.parse_args(argv)
    args.duration = args.duration or (60.0 if args.quick else 600.0)
    args.keys = args.keys or (20_000 if args.quick else 100_000)
    if args.duration < 4 * args.sample_seconds:
        parser.error("--duration must cover at least four RSS samples")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(
        f"# connectors-mock {metadata.version('connectors-mock')} soak: {args.duration:g} s, {args.workers} workers, "
        f"{args.keys:,} new keys, speed {args.speed:g}, seed {args.seed}; Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average {load} at start\n",
        flush=True,
    )
    return report(soak(args))


if __name__ == "__main__":
    sys.exit(run_interruptibly(main))
