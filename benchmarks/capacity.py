"""How the fake scales with what it stores: memory per connector and per sync job, the cost of
listing many connectors, loading a large faker-filled fixture, and a default contract run.

    .venv/bin/python benchmarks/capacity.py
    .venv/bin/python benchmarks/capacity.py --connectors 1000 --jobs 5000 --skip-contract   # quick
    .venv/bin/python benchmarks/capacity.py --only memory,list

Prints numbers, asserts nothing. Everything is measured against real processes: the
`connectors-mock serve` console script next to this Python, on a free port of 127.0.0.1, with
`--seed 1` (so the clock is manual and moves only by `POST /_mock/clock/advance`); memory is
the server's VmRSS from /proc/PID/status (Linux only). Sections (`--only`, comma-separated):

- memory:   RSS at start-up, then after creating connectors in steps up to `--connectors`
            under one key, then `--connectors` more under a second key once the request
            journal is full, which isolates the connectors from the journal's growth;
- jobs:     `--jobs` sync jobs, one per connector at a time, the clock advanced between rounds;
            RSS and bytes per job;
- list:     `GET /v1/connectors` of the key holding `--connectors`: median and p99 of
            `--list-requests` sequential calls, and the response's size;
- faker:    a fixture of `--faker-connectors` entries with only `type` and `collection`, loaded
            by `serve --fixtures FILE --seed 1` to its first 200, and in-process by
            `connectors_mock.fixtures.load_seed_data`; median of `--runs`;
- contract: one `connectors-mock verify -- -q` (the contract suite against an in-process fake).

memory, jobs and list share one server. The default run takes about 3 minutes on two cores
(memory, jobs and list ~75 s, faker ~50 s, contract suite ~40 s); the quick run above about 10 s
plus the faker section. Numbers move with other load on the machine: the header prints the load
average. Ctrl-C (or SIGTERM) stops every process this script started and removes its temporary
files.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from servers import (
    HOST,
    Server,
    call,
    connect,
    console_script,
    expect,
    run_interruptibly,
    s3_body,
    send,
    server_environment,
    stop,
)

SECTIONS = ("memory", "jobs", "list", "faker", "contract")
KEY_A = "capacity-bench-a"
KEY_B = "capacity-bench-b"
# the guide, "The journal": the last 10,000 API requests (fewer once their bodies pass 32 MiB,
# which these small bodies never reach). There is no option to shrink it.
JOURNAL_CAPACITY = 10_000
# The ConnectorType enum of openapi.yaml.
CONNECTOR_TYPES = ("s3", "google_drive", "confluence", "github", "slack", "notion", "salesforce", "postgresql")
# Faker's names repeat ("Smith Inc S3" more than once), and a name may appear once per
# collection: with seed 1, 10,000 connectors in 100 collections already collide. 1,000
# collections hold at most 2 connectors of a type each.
FIXTURE_COLLECTIONS = 1000
PYTEST_SUMMARY = re.compile(r"\d+ (passed|failed|errors?|skipped)\b.* in [0-9.]+s")
START_TIMEOUT = 180.0
CLOCK_STEP_SECONDS = 3600  # far past a default job's 4.5 s


# `load_seed_data` timed in a Python of its own (this script imports nothing of the project):
# the spec is loaded first, outside the timing, as a server has it by then; `now` is the clock's
# start under --seed.
LOAD_TIMING = """
import json, sys, time
from pathlib import Path
from connectors_mock.clock import MANUAL_EPOCH
from connectors_mock.fixtures import load_seed_data
from connectors_mock.spec import default_spec
path, runs = Path(sys.argv[1]), int(sys.argv[2])
spec = default_spec()
seconds = []
for _ in range(runs):
    started = time.perf_counter()
    data = load_seed_data(path, spec, MANUAL_EPOCH, 1)
    seconds.append(time.perf_counter() - started)
print(json.dumps({"seconds": seconds, "firstId": data.connectors[0].id, "count": len(data.connectors)}))
"""


def connector_name(index: int) -> str:
    return f"Document Storage {index:06d}"


# Processes -----------------------------------------------------------------------------------


def run_to_end(command: Sequence[str], output: Path, cwd: str | None = None) -> int:
    """Run `command` with stdout and stderr into `output`; its exit status. Stopped if interrupted.
    With the servers' environment, and in a session of its own as they are (see servers.Server)."""
    with output.open("wb") as sink:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=server_environment(),
            start_new_session=True,
        )
    try:
        return process.wait()
    finally:
        stop(process)


@contextlib.contextmanager
def serving(*extra: str) -> Iterator[Server]:
    """`connectors-mock serve --port 0 --seed 1 EXTRA...` once it listens, stopped on the way out."""
    command = [console_script(), "serve", "--host", HOST, "--port", "0", "--seed", "1", *extra]
    with Server(command, capture_stdout=True) as server:
        server.wait_listening(START_TIMEOUT)
        yield server


# HTTP ----------------------------------------------------------------------------------------


def in_parallel(port: int, count: int, work: Callable[[http.client.HTTPConnection, int], None], threads: int) -> None:
    """`work(connection, i)` for i in range(count), spread over `threads` keep-alive connections.
    The first failure stops every thread and is raised here."""
    halt = threading.Event()
    failures: list[BaseException] = []

    def worker(offset: int) -> None:
        connection = connect(port)
        try:
            for index in range(offset, count, threads):
                if halt.is_set():
                    return
                work(connection, index)
        except BaseException as exc:  # handed to the main thread
            failures.append(exc)
            halt.set()
        finally:
            connection.close()

    workers = [threading.Thread(target=worker, args=(offset,), daemon=True) for offset in range(threads)]
    for thread in workers:
        thread.start()
    try:
        for thread in workers:
            while thread.is_alive():
                thread.join(0.2)
    finally:
        halt.set()
    if failures:
        raise failures[0]


# Output --------------------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    print("| " + " | ".join(headers) + " |")
    print("| " + " | ".join("---:" for _ in headers) + " |")
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")
    print(flush=True)


def heading(text: str) -> None:
    print(f"## {text}\n", flush=True)


def mb(kilobytes: float) -> str:
    return f"{kilobytes / 1024:.1f}"


def per(kilobytes: float, count: int, unit: str = "KB") -> str:
    if count <= 0:
        return "n/a"
    return f"{kilobytes / count:.2f}" if unit == "KB" else f"{kilobytes * 1024 / count:.0f}"


# Memory, list and jobs: one server -----------------------------------------------------------


@dataclass
class Fleet:
    """The served process and the connectors created in it, by key."""

    server: Server
    threads: int
    ids: dict[str, list[str]] = field(default_factory=dict)

    def create(self, key: str, target: int) -> None:
        """Create connectors under `key` until it holds `target` of them (fixtures aside)."""
        ids = self.ids.setdefault(key, [])
        start = len(ids)
        made = [""] * (target - start)

        def one(connection: http.client.HTTPConnection, index: int) -> None:
            answer = send(connection, "POST", "/v1/connectors", key=key, body=s3_body(connector_name(start + index)))
            made[index] = expect(answer, 201, "createConnector")["id"]

        in_parallel(self.server.port, len(made), one, self.threads)
        ids.extend(made)

    def journal_last_id(self) -> int:
        data = expect(call(self.server.port, "GET", "/_mock/journal?limit=1"), 200, "GET /_mock/journal")
        return int(data["lastId"])

    def first_read(self, key: str) -> None:
        """A key's first API request, which builds its tenant from the fixtures."""
        expect(call(self.server.port, "GET", "/v1/connectors", key=key), 200, "listConnectors")


def memory_steps(target: int) -> list[int]:
    return sorted({step for step in (1000, 2000, 5000, 10000) if step < target} | {target})


def section_memory(fleet: Fleet, target: int, start_kb: int) -> None:
    heading(f"Memory against stored connectors (`connectors-mock serve --seed 1`, VmRSS, key A up to {target:,})")
    print(
        f"Start-up RSS, after the first 200 (which built key A's tenant: the 8 fixture connectors): "
        f"{mb(start_kb)} MB.\n"
        "Connectors made by `POST /v1/connectors` (the reference's S3 example, unique names, "
        f"{fleet.threads} threads on "
        "keep-alive connections). Each request also leaves a journal entry holding its masked body, kept until "
        f"the journal holds {JOURNAL_CAPACITY:,} entries: so until about {JOURNAL_CAPACITY:,} requests, these "
        "rows count journal growth as well as connectors.\n"
    )
    rows: list[list[object]] = []
    previous_count, previous_kb = 0, start_kb
    for step in memory_steps(target):
        fleet.create(KEY_A, step)
        now_kb = fleet.server.rss_kib()
        slope = per(now_kb - previous_kb, step - previous_count)
        rows.append([f"{step:,}", mb(now_kb), per(now_kb - start_kb, step), slope, f"{fleet.journal_last_id():,}"])
        previous_count, previous_kb = step, now_kb
    table(
        [
            "connectors created (key A)",
            "RSS MB",
            "KB/connector, average over start-up",
            "KB/connector, slope since previous row",
            "API requests journaled so far",
        ],
        rows,
    )
    journal_full_slope(fleet, target)


def journal_full_slope(fleet: Fleet, count: int) -> None:
    """Connectors alone: made once the journal is full, so each new entry drops one as large."""
    padding = max(0, JOURNAL_CAPACITY - fleet.journal_last_id())
    if padding:
        # Refused creates (409, name taken) with the very same body: entries as large as a create's.
        taken = s3_body(connector_name(0))

        def refused(connection: http.client.HTTPConnection, index: int) -> None:
            answer = send(connection, "POST", "/v1/connectors", key=KEY_A, body=taken)
            expect(answer, 409, "createConnector (name taken)")

        in_parallel(fleet.server.port, padding, refused, fleet.threads)
    fleet.first_read(KEY_B)
    before_kb = fleet.server.rss_kib()
    fleet.create(KEY_B, count)
    after_kb = fleet.server.rss_kib()
    padded = f"after {padding:,} refused creates with the same body filled it; " if padding else ""
    print(
        f"Connectors alone: {count:,} more connectors under key B, made once the journal was full ({padded}"
        f"each create's entry then replaces an entry of the same size): RSS {mb(before_kb)} -> {mb(after_kb)} MB, "
        f"**{per(after_kb - before_kb, count)} KB per connector** (whatever a create keeps: the connector with its "
        "config and credentials, the name index, the id dict's growth; no journal growth).\n",
        flush=True,
    )


def section_list(fleet: Fleet, requests: int, *, synced: bool) -> None:
    count = len(fleet.ids.get(KEY_A, []))
    state = "each synced in the jobs section" if synced else "never synced"
    heading(f"listConnectors latency at {count:,} connectors (key A, connectors {state})")
    times: list[float] = []
    size = listed = 0
    before_kb = fleet.server.rss_kib()
    with contextlib.closing(connect(fleet.server.port)) as connection:
        expect(send(connection, "GET", "/v1/connectors", key=KEY_A), 200, "listConnectors")  # warm-up, not counted
        after_kb = fleet.server.rss_kib()
        for _ in range(requests):
            started = time.perf_counter()
            status, payload = send(connection, "GET", "/v1/connectors", key=KEY_A)
            times.append(time.perf_counter() - started)
            size = len(payload)
            listed = len(expect((status, payload), 200, "listConnectors"))
    end_kb = fleet.server.rss_kib()
    p99 = statistics.quantiles(times, n=100, method="inclusive")[98] if len(times) > 1 else times[0]
    print(
        f"{requests} sequential `GET /v1/connectors` on one keep-alive connection after one uncounted warm-up; "
        "time from sending the request to having read the whole body. RSS before the warm-up (the first read of "
        f"these connectors) {mb(before_kb)} MB, after it {mb(after_kb)} MB "
        f"(+{per(after_kb - before_kb, listed)} KB per connector listed: what a read keeps, and the peak of building "
        f"the answer, which RSS does not give back), after the {requests} timed calls {mb(end_kb)} MB.\n"
    )
    table(
        ["connectors listed", "response bytes", "median ms", "p99 ms", "min ms", "max ms"],
        [
            [
                f"{listed:,}",
                f"{size:,}",
                f"{statistics.median(times) * 1000:.1f}",
                f"{p99 * 1000:.1f}",
                f"{min(times) * 1000:.1f}",
                f"{max(times) * 1000:.1f}",
            ]
        ],
    )


def section_jobs(fleet: Fleet, total: int) -> None:
    ids = fleet.ids.get(KEY_A, [])
    heading(f"Memory with {total:,} sync jobs (key A's {len(ids):,} connectors, one job each per round)")
    print(
        f'Each round: `POST /v1/connectors/{{id}}/sync` with `{{"sync_mode": "full"}}` on every connector '
        f"({fleet.threads} threads), then `POST /_mock/clock/advance` {CLOCK_STEP_SECONDS} s so every job completes; "
        "the next trigger folds the finished job into its connector. Every job is kept (a connector's jobs stay "
        "readable until it is deleted). The trigger requests replace the journal's create entries, whose bodies "
        "are larger, so the slope is taken from the first row at which the journal holds only triggers.\n"
    )
    base_kb = fleet.server.rss_kib()
    rows: list[list[object]] = []
    done, previous_kb = 0, base_kb
    steady: tuple[int, int] | None = None
    while done < total:
        batch = ids[: min(len(ids), total - done)]

        def trigger(connection: http.client.HTTPConnection, index: int, batch: list[str] = batch) -> None:
            path = f"/v1/connectors/{batch[index]}/sync"
            answer = send(connection, "POST", path, key=KEY_A, body={"sync_mode": "full"})
            expect(answer, 202, "triggerSync")

        in_parallel(fleet.server.port, len(batch), trigger, fleet.threads)
        # A connection of its own: one left idle through a round would be closed by the server.
        advance = call(fleet.server.port, "POST", "/_mock/clock/advance", body={"seconds": CLOCK_STEP_SECONDS})
        expect(advance, 200, "POST /_mock/clock/advance")
        previous_done, done = done, done + len(batch)
        now_kb = fleet.server.rss_kib()
        rows.append(
            [
                f"{done:,}",
                mb(now_kb),
                per(now_kb - base_kb, done, "B"),
                per(now_kb - previous_kb, done - previous_done, "B"),
            ]
        )
        previous_kb = now_kb
        if steady is None and done >= JOURNAL_CAPACITY:
            steady = (done, now_kb)
    print(f"RSS before the first job: {mb(base_kb)} MB.\n")
    table(["jobs held", "RSS MB", "bytes/job, average", "bytes/job, slope since previous row"], rows)
    if steady and done > steady[0]:
        slope = per(previous_kb - steady[1], done - steady[0], "B")
        print(f"Jobs alone (journal steady, {steady[0]:,} -> {done:,} jobs): **{slope} bytes per job**.\n", flush=True)
    else:
        print("Jobs alone: not enough rounds after the journal filled with triggers for a clean slope.\n", flush=True)


def served_sections(args: argparse.Namespace, chosen: set[str]) -> None:
    with serving() as server:
        fleet = Fleet(server, args.threads)
        fleet.first_read(KEY_A)
        start_kb = server.rss_kib()
        if "memory" in chosen:
            section_memory(fleet, args.connectors, start_kb)
        else:
            fleet.create(KEY_A, args.connectors)
        # Jobs before the list: a list caches every connector's JSON, which the first trigger drops
        # again, and memory freed that way would be counted against the jobs.
        if "jobs" in chosen:
            section_jobs(fleet, args.jobs)
        if "list" in chosen:
            section_list(fleet, args.list_requests, synced="jobs" in chosen)


# Faker ---------------------------------------------------------------------------------------


def write_fixture(path: Path, count: int) -> None:
    collections = [f"col_bench{index:04d}" for index in range(FIXTURE_COLLECTIONS)]
    lines = ["# capacity.py: faker fills id, name, config, credentials and createdAt", "collections:"]
    lines += [f"  - {collection}" for collection in collections]
    lines.append("connectors:")
    for index in range(count):
        kind = CONNECTOR_TYPES[index % len(CONNECTOR_TYPES)]
        collection = collections[index // len(CONNECTOR_TYPES) % len(collections)]
        lines.append(f"  - {{type: {kind}, collection: {collection}}}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def section_faker(count: int, runs: int) -> None:
    heading(f"Time to generate {count:,} connectors from faker under `--seed 1`")
    with tempfile.TemporaryDirectory(prefix="capacity-fixture-") as workdir:
        fixture = Path(workdir, "many.yaml")
        write_fixture(fixture, count)
        print(
            f"Fixture: {count:,} entries of only `type` (the 8 types in turn) and `collection` "
            f"({FIXTURE_COLLECTIONS:,} collections, since faker's names repeat and a name may appear once per "
            f"collection), {fixture.stat().st_size:,} bytes of YAML.\n"
        )
        output = Path(workdir, "load-timing")
        status = run_to_end([sys.executable, "-c", LOAD_TIMING, str(fixture), str(runs)], output)
        if status != 0:
            raise RuntimeError(f"load_seed_data failed ({status}):\n{output.read_text(errors='replace')[-3000:]}")
        timing = json.loads(output.read_text().splitlines()[-1])
        loads: list[float] = timing["seconds"]
        first_id: str = timing["firstId"]
        runs_seen: list[tuple[float, float, float, float]] = []
        for _ in range(runs):
            with serving("--fixtures", str(fixture)) as server:
                to_200, first_request = server.wait_first_200(
                    f"/v1/connectors/{first_id}", key=KEY_A, timeout=START_TIMEOUT
                )
                runs_seen.append((server.listening_seconds, first_request, to_200, server.rss_kib() / 1024))
    print(
        f"In-process `load_seed_data(FILE, spec, now, seed=1)` (YAML read, faker fill, contract check), median of "
        f"{runs}: **{statistics.median(loads):.2f} s** (runs: {', '.join(f'{s:.2f}' for s in loads)}).\n\n"
        f"`connectors-mock serve --fixtures FILE --seed 1` to its first 200 on `GET /v1/connectors/{first_id}`. "
        "The fixture is loaded before the server listens; the first request with a key then builds that key's "
        f"tenant (a copy of the {count:,} connectors), so the first 200 includes both:\n"
    )
    rows: list[list[object]] = [[run, *(f"{value:.2f}" for value in seen)] for run, seen in enumerate(runs_seen, 1)]
    rows.append(["median", *(f"{statistics.median(seen[i] for seen in runs_seen):.2f}" for i in range(4))])
    table(
        [
            "run",
            "launch to listening s",
            "first request (builds the tenant) s",
            "launch to first 200 s",
            "RSS MB after it",
        ],
        rows,
    )


# Contract ------------------------------------------------------------------------------------


def section_contract() -> None:
    heading("Default contract-suite run against the fake: `connectors-mock verify -- -q`")
    with tempfile.TemporaryDirectory(prefix="capacity-verify-") as workdir:
        log_path = Path(workdir, "output")
        started = time.perf_counter()
        # From an empty directory, so no project's pytest settings or caches are involved.
        status = run_to_end([console_script(), "verify", "--", "-q"], log_path, cwd=workdir)
        seconds = time.perf_counter() - started
        lines = [line.strip() for line in log_path.read_text(errors="replace").splitlines() if line.strip()]
    summary = next((line for line in reversed(lines) if PYTEST_SUMMARY.search(line)), lines[-1] if lines else "")
    print(
        "One run (an in-process fake, the suite's defaults: seed 0, 25 examples per operation), from an empty "
        "working directory.\n"
    )
    table(["wall s", "exit status", "pytest's summary"], [[f"{seconds:.1f}", status, summary.strip("= ")]])


# Main ----------------------------------------------------------------------------------------


def sections(text: str) -> list[str]:
    chosen = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in SECTIONS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown section {', '.join(unknown)} (known: {', '.join(SECTIONS)})")
    return chosen


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", type=sections, default=list(SECTIONS), help="sections to run, comma-separated")
    parser.add_argument("--connectors", type=positive, default=10_000, help="connectors per key (default: %(default)s)")
    parser.add_argument("--jobs", type=positive, default=100_000, help="sync jobs to create (default: %(default)s)")
    parser.add_argument("--list-requests", type=positive, default=50, help="timed list calls (default: %(default)s)")
    parser.add_argument("--faker-connectors", type=positive, default=10_000, help="fixture size (default: %(default)s)")
    parser.add_argument("--runs", type=positive, default=3, help="runs of the faker timings (default: %(default)s)")
    parser.add_argument("--threads", type=positive, default=4, help="client threads for bulk requests")
    parser.add_argument("--skip-contract", action="store_true", help="leave out the contract suite (~45 s)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    chosen = set(args.only) - ({"contract"} if args.skip_contract else set())
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    version = metadata.version("connectors-mock")
    print(
        f"# connectors-mock {version} capacity: Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"load average {load} at start; sections: {', '.join(name for name in SECTIONS if name in chosen)}\n",
        flush=True,
    )
    if chosen & {"memory", "list", "jobs"}:
        served_sections(args, chosen)
    if "faker" in chosen:
        section_faker(args.faker_connectors, args.runs)
    if "contract" in chosen:
        section_contract()
    return 0


if __name__ == "__main__":
    sys.exit(run_interruptibly(main))
