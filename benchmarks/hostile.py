"""What one hostile client can do to everyone else: the "before" (and later "after") figures of
the hardening issue, one row per finding.

    .venv/bin/python benchmarks/hostile.py
    .venv/bin/python benchmarks/hostile.py --quick          # smaller sizes, under a minute
    .venv/bin/python benchmarks/hostile.py --only 1,6       # a subset of the findings

Prints numbers, asserts nothing. Every measurement starts its own `connectors-mock serve
--host 127.0.0.1 --port 0 --seed 1` (the console script next to this Python) and stops it by
pid; nothing but 127.0.0.1 is ever sent a byte. Memory is the server's VmRSS (and VmHWM, its
peak) from /proc/PID/status, so Linux only. Each exchange, and each loop of many, gives up
after `--timeout` seconds (120) and says so (`> 120 s`) instead of waiting for ever. A server
that answers 431, 413, 4xx instead of 500, or refuses or resets the connection, is reported as
such: the script is meant to run unchanged before and after the fixes.

The findings (`--only` takes their numbers):

1.  a body under 1 MiB holding a long array of wrong-typed items (createConnector's
    `spaceKeys`, triggerSync's `file_filter`, `PUT /_mock/state`'s `tenants`): the hostile
    request's time, a bystander's `GET /v1/connectors/conn_abc123` latency meanwhile, the
    server's peak RSS;
2.  one header value of 1, 16, 64, 128 and 300 MiB, on a server of its own each: the
    status, the time, and RSS;
3.  20 refused requests, each with a 10 MiB bearer key or a 10 MiB `X-Team-ID`: RSS after
    them, after `POST /_mock/reset` and after `DELETE /_mock/journal`;
4.  10,000 `GET`s, each with a 60 KB query string: RSS;
5.  10,000 keys that only list once: RSS per tenant (the journal filled first, so it does
    not grow meanwhile); then the most fault rules matching every request that a scenario
    may hold (5,696 in 256 KiB, halved until the server takes them), and 1,000 new keys:
    RSS per key;
6.  scenarios nesting 900 to 1000 levels deep (an error `body`, a `match.headers` value):
    statuses on load, read back and a matched request; `check-scenario` and
    `serve --scenario` on such a file;
7.  a client that closes its socket half way through a body; SIGTERM while a request waits
    in a scenario's latency: the journal, the exit, and the tracebacks in the log;
8.  requests the HTTP parser refuses (raw non-ASCII bytes, a 1 MiB request line, an unknown
    method, a control character in a header) and an `Upgrade: websocket`: what comes back,
    and what is logged;
9.  `Origin: http://evil.example` on `/_mock`: the CORS answer, and a cross-site "simple"
    POST that resets the fake or activates the outage example;
10. connector names: two Unicode normal forms of one name in a collection, a bidi override,
    a control character.

`--quick` sends 20,000 items instead of filling 1 MiB, headers of 1 and 16 MiB only, 1 MiB
keys, 1,000 queries and keys, and 200 keys under the scenario. The full run took seven
minutes on two cores against the code of the issue (findings 1 and 2 five of them: each slow
request runs until it is answered or `--timeout`), `--quick` under one. The header names
where the served `connectors_mock` comes from: set PYTHONPATH to measure another checkout
with the same virtual environment. Ctrl-C (or SIGTERM) stops every process this script
started.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.client
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

from servers import (
    HOST,
    LISTENING,
    Server,
    connect,
    console_script,
    run_interruptibly,
    s3_body,
    send,
    server_environment,
    status_kib,
)

START_TIMEOUT = 60.0
DEFAULT_BUDGET = 120.0
MIB = 1024 * 1024
# The fake's body limit (the guide, "Limits": 413 over 1 MiB); a hostile body stays just under it.
MAX_BODY_BYTES = MIB
# the guide, "The journal": the last 10,000 API requests.
JOURNAL_CAPACITY = 10_000
KEY = "hostile-bench"
BYSTANDER = "bystander-bench"
BYSTANDER_PATH = "/v1/connectors/conn_abc123"
EVIL_ORIGIN = "http://evil.example"
TRACEBACK = "Traceback (most recent call last):"


# --------------------------------------------------------------------------------------------
# Output


class Row(NamedTuple):
    finding: str
    sent: str
    figures: str


def mib(kib: float) -> str:
    return f"{kib / 1024:,.1f} MiB"


def grown(kib: float) -> str:
    return f"{kib / 1024:+,.1f} MiB"


def size(count: int) -> str:
    """A byte count as a person says it: 1 MiB, 60 KB, 512 B."""
    if count >= MIB and count % MIB == 0:
        return f"{count // MIB:,} MiB"
    if count >= MIB:
        return f"{count / MIB:,.1f} MiB"
    if count >= 1000:
        return f"{count / 1000:,.0f} KB"
    return f"{count} B"


def seconds_text(value: float) -> str:
    return f"{value * 1000:,.1f} ms" if value < 1 else f"{value:,.1f} s"


def cell(text: str) -> str:
    """One table cell: one line, no column separator."""
    return " ".join(text.split()).replace("|", "/")


def print_table(rows: Sequence[Row]) -> None:
    print("| finding | what was sent | figure(s) |")
    print("| --- | --- | --- |")
    for row in rows:
        print(f"| {cell(row.finding)} | {cell(row.sent)} | {cell(row.figures)} |")
    print(flush=True)


def quoted(data: bytes | str, limit: int = 70) -> str:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[:limit] + "...")


# --------------------------------------------------------------------------------------------
# Time bounds


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = time.perf_counter()

    def left(self) -> float:
        return max(self.seconds - (time.perf_counter() - self.started), 0.0)

    @property
    def expired(self) -> bool:
        return self.left() <= 0

    def over(self) -> str:
        return f"> {self.seconds:.0f} s"


# --------------------------------------------------------------------------------------------
# Servers


@contextlib.contextmanager
def serving(*extra: str) -> Iterator[Server]:
    """A fresh `connectors-mock serve --host 127.0.0.1 --port 0 --seed 1 EXTRA...` once it
    listens, stopped by pid on the way out."""
    command = [console_script(), "serve", "--host", HOST, "--port", "0", "--seed", "1", *extra]
    with Server(command, capture_stdout=True) as server:
        server.wait_listening(START_TIMEOUT)
        yield server


def hwm_kib(server: Server) -> int:
    return status_kib(server.pid, "VmHWM")


def log_text(server: Server) -> str:
    try:
        return server.logs["stderr"].read_text(errors="replace")
    except (KeyError, OSError):
        return ""


def exceptions_in(log: str) -> list[str]:
    """The exception line closing each traceback in a log (the first line not indented after
    `Traceback (most recent call last):`)."""
    found: list[str] = []
    lines = log.splitlines()
    for index, line in enumerate(lines):
        if line.strip() != TRACEBACK:
            continue
        for after in lines[index + 1 :]:
            if after and not after[0].isspace():
                found.append(after.strip())
                break
    return found


def traceback_summary(log: str) -> str:
    closing = exceptions_in(log)
    if not closing:
        return "no traceback in the log"
    kinds = sorted({line.split(":", 1)[0] for line in closing})
    return f"{len(closing)} traceback(s) in the log ({', '.join(kinds)})"


# --------------------------------------------------------------------------------------------
# HTTP, byte by byte: what the hostile client sends is often no request http.client would make


@dataclass
class Answer:
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    problem: str | None = None  # how the exchange went wrong, if it did
    seconds: float = 0.0  # from connecting to having the whole answer, or giving up
    sent: int = 0
    sent_seconds: float = 0.0  # from connecting to having sent the last byte that went

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip()

    def envelope_code(self) -> str | None:
        """The `error.code` of the API's error envelope, if the body is one."""
        try:
            document = json.loads(self.body)
        except ValueError:
            return None
        error = document.get("error") if isinstance(document, dict) else None
        if isinstance(error, dict) and isinstance(document.get("meta"), dict):
            return str(error.get("code"))
        return None

    def short(self) -> str:
        """`422 validation_failed`, `200`, `400 text/plain 'Invalid ...'`, `no answer: ...`."""
        if self.status is None:
            return f"no answer ({self.problem})"
        code = self.envelope_code()
        if code is not None:
            text = f"{self.status} {code}"
        elif self.content_type == "application/json" or not self.body:
            text = str(self.status)
        else:
            text = f"{self.status} {self.content_type or 'no Content-Type'} {quoted(self.body, 40)}"
        return f"{text} ({self.problem})" if self.problem else text


def error_name(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, ConnectionResetError):
        return "connection reset"
    if isinstance(error, BrokenPipeError):
        return "connection closed by the server"
    if isinstance(error, http.client.RemoteDisconnected):
        return "closed without an answer"
    return f"{type(error).__name__}: {error}"


def request_head(
    method: str, target: bytes | str, headers: Iterable[tuple[str, bytes | str]] = (), *, length: int | None = None
) -> bytes:
    """A request line and headers, as bytes; `Host` and `Connection: close` added."""
    raw_target = target.encode("latin-1") if isinstance(target, str) else target
    lines = [method.encode("latin-1") + b" " + raw_target + b" HTTP/1.1", f"Host: {HOST}".encode()]
    for name, value in headers:
        lines.append(name.encode("latin-1") + b": " + (value.encode("latin-1") if isinstance(value, str) else value))
    if length is not None:
        lines.append(f"Content-Length: {length}".encode())
    lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n"


def exchange(
    port: int,
    parts: Iterable[bytes],
    timeout: float,
    *,
    method: str = "GET",
    read: bool = True,
) -> Answer:
    """Send `parts` on a new connection, then read the answer (even after a failed send: a
    server may answer 431 and close while the rest is still on its way)."""
    answer = Answer()
    deadline = Deadline(timeout)
    try:
        sock = socket.create_connection((HOST, port), timeout=max(timeout, 0.1))
    except OSError as error:
        answer.problem = error_name(error)
        return answer
    with sock:
        try:
            for part in parts:
                if deadline.expired:
                    raise TimeoutError
                sock.settimeout(deadline.left())
                sock.sendall(part)
                answer.sent += len(part)
                answer.sent_seconds = time.perf_counter() - deadline.started
        except OSError as error:
            answer.problem = f"{error_name(error)} after {size(answer.sent)} sent"
            if isinstance(error, TimeoutError):
                answer.problem = f"{deadline.over()} sending, {size(answer.sent)} sent"
        if read:
            read_answer(sock, answer, deadline, method)
    answer.seconds = time.perf_counter() - deadline.started
    return answer


def read_answer(sock: socket.socket, answer: Answer, deadline: Deadline, method: str) -> None:
    sock.settimeout(max(deadline.left(), 0.1))
    response = http.client.HTTPResponse(sock, method=method)
    try:
        response.begin()
        answer.status = response.status
        answer.headers = {name.lower(): value for name, value in response.getheaders()}
        answer.body = response.read()
    except TimeoutError:
        answer.problem = deadline.over() if answer.status is None else f"body not whole at {deadline.over()}"
    except (OSError, http.client.HTTPException) as error:
        if answer.problem is None or answer.status is not None:
            answer.problem = error_name(error)
    finally:
        response.close()


def fetch(
    port: int,
    method: str,
    target: bytes | str,
    *,
    headers: Sequence[tuple[str, bytes | str]] = (),
    body: bytes | None = None,
    timeout: float = 30.0,
) -> Answer:
    """One request on a connection of its own."""
    length = len(body) if body is not None else (0 if method in {"POST", "PUT"} else None)
    head = request_head(method, target, headers, length=length)
    return exchange(port, [head, body or b""], timeout, method=method)


def bearer(key: str | bytes) -> tuple[str, bytes | str]:
    return ("Authorization", b"Bearer " + key if isinstance(key, bytes) else f"Bearer {key}")


JSON = ("Content-Type", "application/json")


def compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def journal_entries(port: int, query: str = "limit=20") -> list[dict[str, Any]]:
    answer = fetch(port, "GET", f"/_mock/journal?{query}")
    if answer.status != 200:
        return []
    entries: list[dict[str, Any]] = json.loads(answer.body)["data"]["entries"]
    return entries


# --------------------------------------------------------------------------------------------
# Many requests at once, bounded in time


def bulk(port: int, count: int, work: Callable[[http.client.HTTPConnection, int], int], deadline: Deadline) -> Counts:
    """`work(connection, i)` for i in range(count), over two keep-alive connections, until the
    deadline: how many were done and the statuses `work` returned."""
    threads = 2
    counts = Counts()
    lock = threading.Lock()

    def worker(offset: int) -> None:
        connection = connect(port, timeout=max(deadline.left(), 0.1))
        try:
            for index in range(offset, count, threads):
                if deadline.expired:
                    return
                sent = time.perf_counter()
                try:
                    status = work(connection, index)
                except (OSError, http.client.HTTPException) as error:
                    with lock:
                        counts.done += 1
                        counts.problems[error_name(error)] = counts.problems.get(error_name(error), 0) + 1
                    connection.close()
                    connection = connect(port, timeout=max(deadline.left(), 0.1))
                    continue
                with lock:
                    counts.done += 1
                    counts.times.append(time.perf_counter() - sent)
                    counts.statuses[status] = counts.statuses.get(status, 0) + 1
        finally:
            connection.close()

    workers = [threading.Thread(target=worker, args=(offset,), daemon=True) for offset in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        while thread.is_alive():
            thread.join(0.2)
    counts.seconds = time.perf_counter() - deadline.started
    return counts


@dataclass
class Counts:
    done: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    problems: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    times: list[float] = field(default_factory=list)  # of each answered request

    def text(self) -> str:
        parts = [f"{count:,} x {status}" for status, count in sorted(self.statuses.items())]
        parts += [f"{count:,} x {problem}" for problem, count in sorted(self.problems.items())]
        return ", ".join(parts) or "none sent"


# --------------------------------------------------------------------------------------------
# 1. Validation of a long wrong-typed array holds the event loop


class Poller:
    """A bystander: `GET /v1/connectors/conn_abc123` again and again on a keep-alive
    connection, each timed, until stopped."""

    def __init__(self, port: int, timeout: float) -> None:
        self.port = port
        self.timeout = timeout
        self.polls: list[tuple[float, float]] = []  # (sent, answered), perf_counter
        self.failures = 0
        self.in_flight_since: float | None = None
        self.halt = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        connection = connect(self.port, timeout=self.timeout)
        try:
            while not self.halt.is_set():
                self.in_flight_since = sent = time.perf_counter()
                try:
                    status, _ = send(connection, "GET", BYSTANDER_PATH, key=BYSTANDER)
                except (OSError, http.client.HTTPException):
                    status = 0
                    connection.close()
                    connection = connect(self.port, timeout=self.timeout)
                self.in_flight_since = None
                if status == 200:
                    self.polls.append((sent, time.perf_counter()))
                else:
                    self.failures += 1
                    time.sleep(0.01)
        finally:
            connection.close()

    def __enter__(self) -> Poller:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.halt.set()
        self.thread.join(2.0)

    def between(self, start: float, end: float) -> list[float]:
        """The latencies of the polls that overlapped [start, end], and of one still waiting."""
        waits = [answered - sent for sent, answered in list(self.polls) if answered >= start and sent <= end]
        pending = self.in_flight_since
        if pending is not None and pending <= end:
            waits.append(time.perf_counter() - pending)
        return waits


def latency_text(waits: list[float]) -> str:
    if not waits:
        return "no poll answered"
    ordered = sorted(waits)
    p99 = statistics.quantiles(ordered, n=100, method="inclusive")[98] if len(ordered) > 1 else ordered[0]
    return (
        f"{len(ordered):,} polls, p50 {seconds_text(statistics.median(ordered))}, "
        f"p99 {seconds_text(p99)}, max {seconds_text(ordered[-1])}"
    )


def filled_array(prefix: bytes, suffix: bytes, items: int | None) -> tuple[bytes, int]:
    """`prefix [1,1,...] suffix`: `items` ones, or as many as keep it under the body limit."""
    if items is None:
        items = (MAX_BODY_BYTES - 64 - len(prefix) - len(suffix) + 1) // 2
    return prefix + b"[" + b",".join([b"1"] * items) + b"]" + suffix, items


@dataclass(frozen=True)
class Flood:
    name: str
    method: str
    path: str
    prefix: bytes
    suffix: bytes
    small: bytes  # the same mistake in a tiny body, sent first to warm validation up


FLOODS = (
    Flood(
        "confluence `config.spaceKeys` (strings)",
        "POST",
        "/v1/connectors",
        b'{"name":"Flood","type":"confluence","collection":"col_abc123","config":{"instanceUrl":'
        b'"https://acme.atlassian.net/wiki","spaceKeys":',
        b'},"credentials":{"email":"a@acme.example","apiToken":"t"}}',
        b'{"name":"Flood","type":"confluence","collection":"col_abc123","config":{"instanceUrl":'
        b'"https://acme.atlassian.net/wiki","spaceKeys":[1]},"credentials":{}}',
    ),
    Flood(
        "`file_filter` (strings)",
        "POST",
        "/v1/connectors/conn_abc123/sync",
        b'{"sync_mode":"incremental","file_filter":',
        b"}",
        b'{"sync_mode":"incremental","file_filter":[1]}',
    ),
    Flood(
        "`tenants` (objects)",
        "PUT",
        "/_mock/state",
        b'{"version":1,"tenants":',
        b"}",
        b'{"version":2,"tenants":[1]}',
    ),
)


def flood(flood: Flood, items: int | None, budget: float) -> Row:
    body, count = filled_array(flood.prefix, flood.suffix, items)
    sent = f"{flood.method} {flood.path}, a {len(body):,}-byte body, {flood.name} given {count:,} integers"
    with serving() as server:
        headers = [bearer(KEY), JSON]
        fetch(server.port, flood.method, flood.path, headers=headers, body=flood.small)
        fetch(server.port, "GET", BYSTANDER_PATH, headers=[bearer(BYSTANDER)])
        with Poller(server.port, budget) as poller:
            time.sleep(1.0)
            calm = poller.between(0, time.perf_counter())
            before_kib = server.rss_kib()
            start = time.perf_counter()
            answer = fetch(server.port, flood.method, flood.path, headers=headers, body=body, timeout=budget)
            end = time.perf_counter()
            waits = poller.between(start, end)
        peak_kib = hwm_kib(server)
    figures = (
        f"hostile request: {answer.short()} after {seconds_text(answer.seconds)}; "
        f"bystander GET conn_abc123 meanwhile: {latency_text(waits)} "
        f"(before: p50 {seconds_text(statistics.median(calm)) if calm else 'n/a'}); "
        f"peak RSS {grown(peak_kib - before_kib)} over {mib(before_kib)} (VmHWM {mib(peak_kib)})"
    )
    return Row("1. validation holds the event loop", sent, figures)


def finding_1(args: argparse.Namespace) -> list[Row]:
    items = 20_000 if args.quick else None
    return [
        run_part("1. validation holds the event loop", functools.partial(flood, f, items, args.timeout)) for f in FLOODS
    ]


# --------------------------------------------------------------------------------------------
# 2. Headers have no size limit


def big_header(megabytes: int, budget: float) -> Row:
    head = request_head("GET", BYSTANDER_PATH, [bearer(KEY)])[: -len(b"\r\n")]  # still open for one more header
    chunk = b"a" * MIB
    parts = [head, b"X-Filler: ", *([chunk] * megabytes), b"\r\n\r\n"]
    with serving() as server:
        fetch(server.port, "GET", BYSTANDER_PATH, headers=[bearer(KEY)])
        before_kib = server.rss_kib()
        answer = exchange(server.port, parts, budget)
        after_kib = server.rss_kib() if server.running().poll() is None else 0
        peak_kib = hwm_kib(server) if after_kib else 0
    memory = (
        f"peak RSS {grown(peak_kib - before_kib)}, RSS after {grown(after_kib - before_kib)}"
        if after_kib
        else "server gone"
    )
    return Row(
        "2. headers have no size limit",
        f"GET {BYSTANDER_PATH} with one `X-Filler` header value of {megabytes:,} MiB",
        f"{answer.short()} after {seconds_text(answer.seconds)} ({size(answer.sent)} sent in "
        f"{seconds_text(answer.sent_seconds)}); {memory} (over {mib(before_kib)})",
    )


def finding_2(args: argparse.Namespace) -> list[Row]:
    sizes = (1, 16) if args.quick else (1, 16, 64, 128, 300)
    return [run_part("2. headers have no size limit", functools.partial(big_header, n, args.timeout)) for n in sizes]


# --------------------------------------------------------------------------------------------
# 3. What a refused request carried stays in memory


def refused_carriers(what: str, count: int, each: int, budget: float) -> Row:
    deadline = Deadline(budget)
    filler = b"x" * each
    statuses: dict[str, int] = {}
    with serving() as server:
        fetch(server.port, "GET", BYSTANDER_PATH, headers=[bearer(KEY)])
        fetch(server.port, "POST", "/v1/connectors", headers=[bearer(KEY), JSON], body=b"{}")
        before_kib = server.rss_kib()
        for index in range(count):
            if deadline.expired:
                break
            tag = f"{index:04d}".encode()
            carried = [bearer(tag + filler)] if what == "bearer key" else [bearer(KEY), ("X-Team-ID", tag + filler)]
            # `{}` is no connector: refused with 422 before anything is created.
            answer = fetch(server.port, "POST", "/v1/connectors", headers=[*carried, JSON], body=b"{}", timeout=60)
            statuses[answer.short()] = statuses.get(answer.short(), 0) + 1
        done = sum(statuses.values())
        after_kib = server.rss_kib()
        journal = fetch(server.port, "GET", "/_mock/journal?limit=1000", timeout=deadline.left() or 1)
        reset = fetch(server.port, "POST", "/_mock/reset")
        reset_kib = server.rss_kib()
        cleared = fetch(server.port, "DELETE", "/_mock/journal")
        cleared_kib = server.rss_kib()
    answered = ", ".join(f"{n} x {status}" for status, n in statuses.items())
    stopped = "" if done == count else f" (stopped at {deadline.over()} after {done})"
    return Row(
        "3. what a refused request carried stays",
        f"{count} x POST /v1/connectors `{{}}` (refused), each with a distinct {size(each)} {what}{stopped}",
        f"{answered}; RSS {mib(before_kib)} before, {grown(after_kib - before_kib)} after them "
        f"({grown((after_kib - before_kib) / max(done, 1))} each; GET /_mock/journal then answers "
        f"{status_only(journal)} with {size(len(journal.body))}), {grown(reset_kib - before_kib)} after "
        f"POST /_mock/reset ({status_only(reset)}), {grown(cleared_kib - before_kib)} after DELETE /_mock/journal "
        f"({status_only(cleared)})",
    )


def finding_3(args: argparse.Namespace) -> list[Row]:
    each = MIB if args.quick else 10 * MIB
    return [
        run_part(
            "3. what a refused request carried stays", functools.partial(refused_carriers, w, 20, each, args.timeout)
        )
        for w in ("bearer key", "X-Team-ID")
    ]


# --------------------------------------------------------------------------------------------
# 4. The journal's budget counts bodies only


def long_queries(count: int, query_bytes: int, budget: float) -> Row:
    filler = "q" * query_bytes

    def one(connection: http.client.HTTPConnection, index: int) -> int:
        status, _ = send(connection, "GET", f"/v1/connectors?q={index:06d}{filler}", key=KEY)
        return status

    with serving() as server:
        fetch(server.port, "GET", "/v1/connectors", headers=[bearer(KEY)])
        before_kib = server.rss_kib()
        counts = bulk(server.port, count, one, Deadline(budget))
        after_kib = server.rss_kib()
        cleared = fetch(server.port, "DELETE", "/_mock/journal")
        cleared_kib = server.rss_kib()
    stopped = "" if counts.done == count else f"; stopped at {Deadline(budget).over()} after {counts.done:,}"
    per_request = (after_kib - before_kib) * 1024 / max(counts.done, 1)
    return Row(
        "4. the journal's budget counts bodies only",
        f"{count:,} x GET /v1/connectors?q=... with a {size(query_bytes)} query string, one key",
        f"{counts.text()} in {seconds_text(counts.seconds)}{stopped}; RSS {grown(after_kib - before_kib)} over "
        f"{mib(before_kib)} ({per_request / 1024:,.1f} KiB per request); {grown(cleared_kib - before_kib)} after "
        f"DELETE /_mock/journal ({status_only(cleared)})",
    )


def finding_4(args: argparse.Namespace) -> list[Row]:
    count = 1_000 if args.quick else 10_000
    return [run_part("4. the journal's budget counts bodies only", lambda: long_queries(count, 60_000, args.timeout))]


# --------------------------------------------------------------------------------------------
# 5. Tenants are never evicted; a large scenario keeps a counter per rule per key


def fill_journal(port: int, budget: float) -> Counts:
    """10,000 requests of one key: the journal is full, and the entries the measured requests
    add replace as many of the same size, so what grows is not the journal."""

    def one(connection: http.client.HTTPConnection, index: int) -> int:
        return send(connection, "GET", "/v1/connectors", key=KEY)[0]

    return bulk(port, JOURNAL_CAPACITY, one, Deadline(budget))


def new_keys(port: int, prefix: str, count: int, budget: float) -> Counts:
    def one(connection: http.client.HTTPConnection, index: int) -> int:
        return send(connection, "GET", "/v1/connectors", key=f"{prefix}-{index:06d}")[0]

    return bulk(port, count, one, Deadline(budget))


def median_time(counts: Counts) -> str:
    return seconds_text(statistics.median(counts.times)) if counts.times else "n/a"


def per_key(kib: float, count: int) -> str:
    return f"{kib / max(count, 1):,.1f} KiB" if count else "n/a"


def tenants(count: int, budget: float) -> Row:
    with serving() as server:
        fill_journal(server.port, budget)
        before_kib = server.rss_kib()
        counts = new_keys(server.port, "tenant", count, budget)
        after_kib = server.rss_kib()
        reset = fetch(server.port, "POST", "/_mock/reset")
        reset_kib = server.rss_kib()
    stopped = "" if counts.done == count else f"; stopped at {Deadline(budget).over()} after {counts.done:,}"
    return Row(
        "5. tenants are never evicted",
        f"{count:,} distinct keys, one GET /v1/connectors each (journal already full)",
        f"{counts.text()} in {seconds_text(counts.seconds)}{stopped}; RSS {grown(after_kib - before_kib)} over "
        f"{mib(before_kib)}: {per_key(after_kib - before_kib, counts.done)} per tenant; "
        f"{grown(reset_kib - before_kib)} after POST /_mock/reset ({status_only(reset)})",
    )


# One rule: matches every request (no `match`), counts its calls per key, never fires.
COUNTING_RULE = "  - {when: {calls: [999999999]}, drop: close}\n"
SCENARIO_LIMIT = 256 * 1024  # the guide, "Limits": at most 256 KiB


def many_rules_scenario(rules: int | None = None) -> tuple[bytes, int]:
    """A scenario of `rules` counting rules, or of as many as fit in the size limit."""
    head = "name: many-rules\nfaults:\n"
    if rules is None:
        rules = (SCENARIO_LIMIT - 64 - len(head)) // len(COUNTING_RULE)
    return (head + COUNTING_RULE * rules).encode(), rules


def load_largest(port: int, deadline: Deadline) -> tuple[Answer, int, list[tuple[int, str]]]:
    """Load and activate the largest scenario of counting rules the server takes, halving the
    number of rules after each refusal: its answer, its rules, and the refusals before it."""
    text, rules = many_rules_scenario()
    refused: list[tuple[int, str]] = []
    while True:
        answer = fetch(port, "POST", "/_mock/scenarios?activate=true", body=text, timeout=max(deadline.left(), 1))
        if answer.status == 201 or rules <= 1 or deadline.expired:
            return answer, rules, refused
        refused.append((rules, answer.short()))
        text, rules = many_rules_scenario(rules // 2)


def rule_counters(count: int, budget: float) -> Row:
    with serving() as server:
        fill_journal(server.port, budget)
        plain_kib = server.rss_kib()
        plain = new_keys(server.port, "plain", count, budget)
        plain_after_kib = server.rss_kib()
        loaded, rules, refused = load_largest(server.port, Deadline(budget))
        before_kib = server.rss_kib()
        counted = new_keys(server.port, "counted", count, budget)
        after_kib = server.rss_kib()
        reset = fetch(server.port, "POST", "/_mock/reset")
        reset_kib = server.rss_kib()
    without = plain_after_kib - plain_kib
    first = ""
    if refused:
        answers = " or ".join(sorted({text for _, text in refused}))
        first = f"{answers} at {refused[0][0]:,} down to {refused[-1][0]:,} rules (halved each time), then "
    return Row(
        "5. a large scenario keeps a counter per rule per key",
        f"the most fault rules matching every request that a scenario may hold (?activate=true; at most "
        f"{SCENARIO_LIMIT // 1024} KiB of YAML), then {count:,} new keys, one GET /v1/connectors each",
        f"load: {first}{loaded.short()} at {rules:,} rules, RSS {grown(before_kib - plain_after_kib)}; "
        f"{counted.text()} in {seconds_text(counted.seconds)} (p50 {median_time(counted)} a request, "
        f"{median_time(plain)} before the scenario); RSS {grown(after_kib - before_kib)}: "
        f"{per_key(after_kib - before_kib, counted.done)} per key, against {per_key(without, plain.done)} per key "
        f"for {plain.done:,} keys before the scenario; {grown(reset_kib - before_kib)} after POST /_mock/reset "
        f"({status_only(reset)})",
    )


def finding_5(args: argparse.Namespace) -> list[Row]:
    return [
        run_part("5. tenants are never evicted", lambda: tenants(1_000 if args.quick else 10_000, args.timeout)),
        run_part(
            "5. a large scenario keeps a counter per rule per key",
            lambda: rule_counters(200 if args.quick else 1_000, args.timeout),
        ),
    ]


# --------------------------------------------------------------------------------------------
# 6. Deep nesting in a scenario


def deep_scenario(name: str, where: str, depth: int) -> bytes:
    nested = "[" * depth + "]" * depth
    if where == "body":
        rule = f'{{"match":{{"operation":"getConnector"}},"error":{{"status":503,"body":{nested}}}}}'
    else:
        rule = f'{{"match":{{"operation":"getConnector","headers":{{"X-Deep":{nested}}}}},"error":{{"status":503}}}}'
    return f'{{"name":"{name}","faults":[{rule}]}}'.encode()


def by_depth(outcomes: Sequence[tuple[int, str]]) -> str:
    """`201 at 900-985, 500 at 990-995`: consecutive depths with one outcome, grouped."""
    if not outcomes:
        return "none"
    groups: list[tuple[int, int, str]] = []
    for depth, outcome in outcomes:
        if groups and groups[-1][2] == outcome:
            groups[-1] = (groups[-1][0], depth, outcome)
        else:
            groups.append((depth, depth, outcome))
    return ", ".join(f"{o} at {a}" if a == b else f"{o} at {a}-{b}" for a, b, o in groups)


def status_only(answer: Answer) -> str:
    if answer.status is None:
        return f"no answer ({answer.problem})"
    return str(answer.status)


def deep_on_server(where: str, depths: Sequence[int], budget: float) -> Row:
    loads: list[tuple[int, str]] = []
    reads: list[tuple[int, str]] = []
    matched: list[tuple[int, str]] = []
    deadline = Deadline(budget)
    with serving() as server:
        for depth in depths:
            if deadline.expired:
                break
            name = f"deep-{where}-{depth}"
            load = fetch(server.port, "POST", "/_mock/scenarios", body=deep_scenario(name, where, depth))
            loads.append((depth, status_only(load)))
            if load.status != 201:
                continue
            reads.append((depth, status_only(fetch(server.port, "GET", f"/_mock/scenarios/{name}"))))
            api = fetch(server.port, "GET", BYSTANDER_PATH, headers=[bearer(KEY), ("X-Mock-Scenario", name)])
            matched.append((depth, status_only(api)))
        log = log_text(server)
    return Row(
        "6. deep nesting in a scenario",
        f"POST /_mock/scenarios (JSON) whose rule's {'error `body`' if where == 'body' else '`match.headers` value'} "
        f"is a list nested {depths[0]} to {depths[-1]} deep (every {depths[1] - depths[0]})",
        f"load: {by_depth(loads)}; GET /_mock/scenarios/NAME: {by_depth(reads)}; "
        f"GET {BYSTANDER_PATH} with X-Mock-Scenario: {by_depth(matched)}; {traceback_summary(log)}",
    )


def check_outcome(path: Path, timeout: float) -> tuple[str, str]:
    """What `connectors-mock check-scenario FILE` does: a short outcome and its first line."""
    try:
        done = subprocess.run(
            [console_script(), "check-scenario", str(path)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=server_environment(),
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"> {timeout:.0f} s", ""
    output = (done.stdout + done.stderr).strip()
    first = output.splitlines()[0] if output else ""
    if TRACEBACK in output:
        kind = (exceptions_in(output) or ["?"])[-1].split(":", 1)[0]
        return f"traceback ({kind}), exit {done.returncode}", first
    if done.returncode == 0:
        return "OK, exit 0", first
    return f"problem list, exit {done.returncode}", first


def serve_outcome(path: Path, timeout: float) -> str:
    """What `connectors-mock serve --scenario FILE` does: listens, or exits with what on stderr."""
    command = [console_script(), "serve", "--host", HOST, "--port", "0", "--scenario", str(path)]
    with Server(command, capture_stdout=True) as server:
        process = server.running()
        deadline = Deadline(timeout)
        while not deadline.expired:
            if LISTENING.search(server.logs["stdout"].read_bytes()):
                return "starts and listens"
            if process.poll() is not None:
                log = log_text(server).strip()
                first = log.splitlines()[0] if log else "(nothing on stderr)"
                kind = f", {traceback_summary(log)}" if TRACEBACK in log else ""
                return f"exit {process.returncode}{kind}, first line {quoted(first)}"
            time.sleep(0.05)
    return f"{deadline.over()} neither listening nor exited"


def deep_offline(depths: Sequence[int], budget: float) -> Row:
    outcomes: list[tuple[int, str]] = []
    firsts: dict[str, str] = {}
    deadline = Deadline(budget)
    with tempfile.TemporaryDirectory(prefix="hostile-deep-") as workdir:
        for depth in depths:
            if deadline.expired:
                break
            path = Path(workdir, f"deep{depth}.json")
            path.write_bytes(deep_scenario("deep", "body", depth))
            outcome, first = check_outcome(path, max(deadline.left(), 1))
            outcomes.append((depth, outcome))
            firsts.setdefault(outcome, first)
        worst = next((d for d, o in outcomes if o.startswith("traceback")), None)
        served = "n/a"
        if worst is not None or outcomes:
            depth = worst if worst is not None else outcomes[-1][0]
            path = Path(workdir, f"deep{depth}.json")
            served = f"at depth {depth}: {serve_outcome(path, min(max(deadline.left(), 5), 60))}"
    first_lines = "; ".join(f"{outcome}: {quoted(first)}" for outcome, first in firsts.items())
    return Row(
        "6. deep nesting in a scenario",
        f"`connectors-mock check-scenario FILE`, then `serve --scenario FILE`, an error `body` nested "
        f"{depths[0]} to {depths[-1]} deep",
        f"check-scenario: {by_depth(outcomes)} (first lines: {first_lines}); serve --scenario {served}",
    )


def finding_6(args: argparse.Namespace) -> list[Row]:
    step = 10 if args.quick else 5
    depths = list(range(900, 1001, step))
    return [
        run_part("6. deep nesting in a scenario", lambda: deep_on_server("body", depths, args.timeout)),
        run_part("6. deep nesting in a scenario", lambda: deep_on_server("headers", depths, args.timeout)),
        run_part("6. deep nesting in a scenario", lambda: deep_offline(depths, args.timeout)),
    ]


# --------------------------------------------------------------------------------------------
# 7. Disconnects and stops


def half_body(budget: float) -> Row:
    whole = compact(s3_body("Half Sent"))
    declared, body = len(whole), whole[: len(whole) // 2]
    head = request_head("POST", "/v1/connectors", [bearer(KEY), JSON], length=declared)
    with serving() as server:
        fetch(server.port, "GET", BYSTANDER_PATH, headers=[bearer(KEY)])
        exchange(server.port, [head, body], budget, read=False)  # then closes the socket
        deadline = Deadline(min(budget, 10))
        entries: list[dict[str, Any]] = []
        while not deadline.expired and not entries:
            time.sleep(0.2)
            entries = journal_entries(server.port, "method=POST&limit=5")
        log = log_text(server)
    if entries:
        entry = entries[-1]
        recorded = (
            f"journal: status {json.dumps(entry.get('status'))}, errorCode {json.dumps(entry.get('errorCode'))}, "
            f"requestBody {quoted(json.dumps(entry.get('requestBody')), 40)}"
        )
    else:
        recorded = f"journal: no entry after {deadline.seconds:.0f} s"
    return Row(
        "7. a client that disconnects mid-body",
        f"POST /v1/connectors declaring Content-Length {declared:,}, {len(body):,} bytes sent, then the socket closed",
        f"{recorded}; {traceback_summary(log)}",
    )


SLOW_SCENARIO = b"name: very-slow\nfaults:\n  - latency: {ms: 60000}\n"


def stop_in_latency(budget: float) -> Row:
    outcome: list[Answer] = []
    with serving() as server:
        loaded = fetch(server.port, "POST", "/_mock/scenarios?activate=true", body=SLOW_SCENARIO)
        waiting = threading.Thread(
            target=lambda: outcome.append(
                fetch(server.port, "GET", BYSTANDER_PATH, headers=[bearer(KEY)], timeout=min(budget, 90))
            ),
            daemon=True,
        )
        waiting.start()
        time.sleep(1.0)
        process = server.running()
        signalled = time.perf_counter()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=min(budget, 30))
            exited = f"exit {process.returncode} {seconds_text(time.perf_counter() - signalled)} after SIGTERM"
        except subprocess.TimeoutExpired:
            exited = "still running 30 s after SIGTERM"
        waiting.join(5)
        log = log_text(server)
    client = outcome[0].short() if outcome else "still waiting"
    return Row(
        "7. SIGTERM during scenario latency",
        f"a 60 s latency rule loaded ({status_only(loaded)}), GET {BYSTANDER_PATH} waiting in it, SIGTERM 1 s later",
        f"{exited}; the waiting client got: {client}; {traceback_summary(log)}",
    )


def finding_7(args: argparse.Namespace) -> list[Row]:
    return [
        run_part("7. a client that disconnects mid-body", lambda: half_body(args.timeout)),
        run_part("7. SIGTERM during scenario latency", lambda: stop_in_latency(args.timeout)),
    ]


# --------------------------------------------------------------------------------------------
# 8. What the HTTP parser refuses


def malformed_cases() -> list[tuple[str, bytes]]:
    auth = [bearer(KEY)]
    return [
        ("raw byte 0xFF in the path", request_head("GET", b"/v1/connectors/conn_\xff", auth)),
        ("raw bytes 0xC3 0xA9 in the query", request_head("GET", b"/v1/connectors?name=caf\xc3\xa9", auth)),
        ("a request line of 1 MiB (path)", request_head("GET", "/v1/connectors/" + "a" * MIB, auth)),
        ("unknown method BREW", request_head("BREW", "/v1/connectors", auth)),
        (
            "control character 0x01 in a header value",
            request_head("GET", "/v1/connectors", [*auth, ("X-Test", b"a\x01b")]),
        ),
        ("space before a header's colon", request_head("GET", "/v1/connectors", [*auth, ("X-Test ", "a")])),
        (
            "`Upgrade: websocket` on an API path",
            request_head(
                "GET",
                "/v1/connectors",
                [
                    *auth,
                    ("Upgrade", "websocket"),
                    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                    ("Sec-WebSocket-Version", "13"),
                ],
            ).replace(b"Connection: close", b"Connection: Upgrade"),
        ),
    ]


def kind_of(answer: Answer) -> str:
    """An answer, and whether an error came in the API's envelope."""
    if answer.status is None:
        return answer.short()
    if answer.status < 400:
        return f"{answer.short()} {answer.content_type or 'no Content-Type'}: served as usual"
    if answer.envelope_code():
        return f"{answer.short()}: the JSON envelope"
    return f"{answer.short()}: not the envelope"


def malformed(budget: float) -> list[Row]:
    rows = []
    with serving() as server:
        for what, request in malformed_cases():
            seen = len(log_text(server))
            answer = exchange(server.port, [request], min(budget, 30))
            time.sleep(0.2)  # let the server write what it logs
            new_lines = [line for line in log_text(server)[seen:].splitlines() if line.strip()]
            logged = f"{len(new_lines)} line(s)" + "".join(f", {quoted(line, 90)}" for line in new_lines[:3])
            rows.append(Row("8. the HTTP parser answers for the fake", what, f"{kind_of(answer)}; logged {logged}"))
    return rows


def finding_8(args: argparse.Namespace) -> list[Row]:
    try:
        return malformed(args.timeout)
    except Exception as error:
        return [failed("8. the HTTP parser answers for the fake", error)]


# --------------------------------------------------------------------------------------------
# 9. Any web page can drive /_mock


def cors_headers(answer: Answer) -> str:
    shown = [
        f"{name}: {answer.headers[name]}"
        for name in ("access-control-allow-origin", "access-control-allow-credentials", "vary")
        if name in answer.headers
    ]
    return ", ".join(shown) or "no CORS headers"


def connector_count(port: int) -> str:
    answer = fetch(port, "GET", "/v1/connectors", headers=[bearer(KEY)])
    return str(len(json.loads(answer.body)["data"])) if answer.status == 200 else answer.short()


def cross_site(budget: float) -> Row:
    origin = ("Origin", EVIL_ORIGIN)
    with serving() as server:
        fetch(server.port, "POST", "/v1/connectors", headers=[bearer(KEY), JSON], body=compact(s3_body("Mine")))
        before = connector_count(server.port)
        state = fetch(server.port, "GET", "/_mock/state", headers=[origin], timeout=budget)
        tenants = len(json.loads(state.body)["data"]["tenants"]) if state.status == 200 else 0
        readable = state.headers.get("access-control-allow-origin") in {"*", EVIL_ORIGIN}
        reset = fetch(server.port, "POST", "/_mock/reset", headers=[origin, ("Content-Type", "text/plain")], body=b"x")
        after = connector_count(server.port)
        outage = fetch(server.port, "POST", "/_mock/scenarios?example=outage&activate=true", headers=[origin])
        api = fetch(server.port, "GET", "/v1/connectors", headers=[bearer(KEY)])
    return Row(
        "9. any web page can drive /_mock",
        f"with `Origin: {EVIL_ORIGIN}` and no admin token: GET /_mock/state; POST /_mock/reset "
        "(Content-Type text/plain); POST /_mock/scenarios?example=outage&activate=true (no body)",
        f"GET /_mock/state: {state.short()}, {cors_headers(state)}, {tenants} tenant(s) in it, "
        f"{'readable' if readable else 'not readable'} by a page on {EVIL_ORIGIN}; "
        f"reset: {reset.short()}, {cors_headers(reset)} (a key's connectors: {before} before, "
        f"{after} after); "
        f"outage: {outage.short()}, then GET /v1/connectors: {api.short()}",
    )


def finding_9(args: argparse.Namespace) -> list[Row]:
    return [run_part("9. any web page can drive /_mock", lambda: cross_site(args.timeout))]


# --------------------------------------------------------------------------------------------
# 10. Names


def names(budget: float) -> list[Row]:
    def create(port: int, name: str) -> Answer:
        return fetch(port, "POST", "/v1/connectors", headers=[bearer(KEY), JSON], body=compact(s3_body(name)))

    with serving() as server:
        composed = create(server.port, "Caf\u00e9 Docs")
        decomposed = create(server.port, "Cafe\u0301 Docs")
        listed = fetch(server.port, "GET", "/v1/connectors", headers=[bearer(KEY)], timeout=budget)
        stored = [c["name"] for c in json.loads(listed.body)["data"]] if listed.status == 200 else []
        cafes = sum(name.startswith("Caf") for name in stored)
        bidi = create(server.port, "Invoice \u202egpj.exe")
        control = create(server.port, "Bell\u0007Name")
        nul = create(server.port, "Null\u0000Name")
    return [
        Row(
            "10. names: Unicode normal forms",
            '"Caf\\u00e9 Docs" (NFC), then "Cafe\\u0301 Docs" (NFD), both s3 in col_abc123',
            f"{composed.short()}, then {decomposed.short()}; {cafes} of them listed in col_abc123",
        ),
        Row(
            "10. names: invisible and control characters",
            'names "Invoice \\u202egpj.exe" (bidi override), "Bell\\u0007Name", "Null\\u0000Name"',
            f"bidi override: {bidi.short()}; BEL: {control.short()}; NUL: {nul.short()}",
        ),
    ]


def finding_10(args: argparse.Namespace) -> list[Row]:
    try:
        return names(args.timeout)
    except Exception as error:
        return [failed("10. names", error)]


# --------------------------------------------------------------------------------------------
# Main


def failed(finding: str, error: BaseException) -> Row:
    message = str(error).strip().splitlines()
    return Row(finding, "(the measurement failed)", f"{type(error).__name__}: {message[0] if message else ''}")


def run_part(finding: str, part: Callable[[], Row]) -> Row:
    """One measurement; its failure is a row of the table, not the end of the run."""
    try:
        return part()
    except Exception as error:
        return failed(finding, error)


FINDINGS: Mapping[int, Callable[[argparse.Namespace], list[Row]]] = {
    1: finding_1,
    2: finding_2,
    3: finding_3,
    4: finding_4,
    5: finding_5,
    6: finding_6,
    7: finding_7,
    8: finding_8,
    9: finding_9,
    10: finding_10,
}


def numbers(text: str) -> list[int]:
    try:
        chosen = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from None
    unknown = [number for number in chosen if number not in FINDINGS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"findings are 1 to {len(FINDINGS)}, not {text!r}")
    return chosen


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", type=numbers, default=list(FINDINGS), help="findings to measure: 1,2,...")
    parser.add_argument(
        "--quick", action="store_true", help="smaller sizes (1 MiB instead of 10, 1,000 instead of 10,000)"
    )
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_BUDGET, help="seconds before one measurement gives up (%(default)s)"
    )
    return parser.parse_args(argv)


def served_package() -> str:
    """Where the served `connectors_mock` comes from, as the console script's Python finds it
    (PYTHONPATH included): the before and after runs of one checkout may differ only there."""
    command = [sys.executable, "-c", "import connectors_mock; print(connectors_mock.__file__)"]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=30, env=server_environment(), check=False
        )
    except subprocess.TimeoutExpired:
        return "unknown"
    return str(Path(done.stdout.strip()).parent) if done.returncode == 0 else "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(
        f"# connectors-mock {metadata.version('connectors-mock')}: one hostile client against everyone else. "
        f"Serving {served_package()}; Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"load average {load} at start; "
        f"findings {','.join(map(str, args.only))}{' (--quick)' if args.quick else ''}, "
        f"each measurement bounded at {args.timeout:.0f} s\n",
        flush=True,
    )
    rows: list[Row] = []
    for number in args.only:
        started = time.perf_counter()
        found = FINDINGS[number](args)
        rows += found
        print(f"finding {number}: {len(found)} row(s) in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(run_interruptibly(main))
