"""The fake next to Prism, WireMock and a bare Starlette app: throughput, latency, start-up
and memory.

    .venv/bin/python benchmarks/compare.py [--duration 10] [--rounds 2] [--runs 5]
                                           [--only fake,prism,wiremock,ceiling] [--json FILE]
                                           [--prism PATH] [--wiremock JAR] [--jit-warmup 10]
                                           [--threads 2] [--connections 16] [--timeout 10]
                                           [--fake-arg ARG ...] [--variant-arg ARG ...]
                                           [--variant-script PATH]

Benchmarks four servers on this machine, only one under load at a time, and prints one
Markdown table:

- **fake**: `connectors-mock serve --clock manual` (the console script next to this Python),
  default fixtures, one worker, request validation on (it always is), and every feature
  enabled but idle: the seven example scenarios are loaded, none active, and the journal
  records every request.
- **Prism**: `prism mock openapi.yaml` from `@stoplight/prism-cli` (static examples).
- **WireMock**: the standalone jar from the npm package `wiremock`, on the JVM found on PATH,
  with its defaults (request journal on), serving one stub per route: matched on the method,
  the path and the exact bearer header, answering the fake's own body for that route (made by
  the fake in-process before the run, so the sizes agree) as static text. Before its first
  measurement every route is loaded for `--jit-warmup` seconds, so its JIT has compiled the
  paths the load takes.
- **ceiling**: one Starlette route answering a small fixed JSON body for any path, under
  uvicorn with uvloop and httptools, no access log, one worker: what Python can do at best.
- **variant**, with `--variant-arg`: a second fake, launched with those arguments added, measured
  beside the first in the same order: what an option costs (`--variant-arg=--rate-limit
  --variant-arg=off` measures the rate-limit plan every answer reports); with `--variant-script`,
  another build's `connectors-mock` (an older commit's, in a virtual environment of its own):
  what a change of the code bought.

Each route is loaded with wrk (`--latency`) after a 1 s warm-up whose numbers are dropped, in
`--rounds` rounds (each round every route on every server in turn); the table shows the median
of the rounds:
`getConnector`, `listConnectors` of a tenant holding 10 connectors and of one holding 1,000,
`createConnector` (a wrk Lua script gives every request a unique name), and `getSyncStatus` of
a job that stays `running` under the manual clock. Prism is stateless and answers its examples;
the ceiling answers its fixed body; both get the same requests. Besides: the time from launch
to the first `200` of `GET /v1/connectors/conn_abc123` (median of `--runs` launches, after one
launch that warms the file system cache), the resident memory (VmRSS) at that first `200`
(median of the same launches), and the peak resident memory (VmHWM) of the process tree of
the launch that served the load, read just before it is stopped.

Installs: `@stoplight/prism-cli` and `wiremock` (pinned by `--prism-version` and
`--wiremock-version`) with npm into a temporary directory that is deleted at the end, unless
`--prism PATH` or `--wiremock JAR` names one; `wrk`, and a JDK for WireMock, with apt-get when
they are missing and this runs as root (else it stops and says so).

Takes about 10 minutes with the defaults (4 servers x 5 routes x 11 s x 2 rounds, 24 launches,
WireMock's JIT warm-up, a minute of npm installs); `--duration 2 --rounds 1 --runs 1` with
installed tools takes about two.
The load generator shares the machine with the server it loads, so the numbers are only
comparable with each other, within one run.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from servers import (
    HOST,
    Server,
    call,
    connect,
    console_script,
    expect,
    free_port,
    run_interruptibly,
    s3_body,
    send,
    tree_mib,
)

SPEC = Path(__file__).resolve().parent.parent / "openapi.yaml"
SERVERS = ("fake", "variant", "prism", "wiremock", "ceiling")
LABELS = {"fake": "fake", "variant": "variant", "prism": "Prism", "wiremock": "WireMock", "ceiling": "ceiling"}
# A second fake with other options (`--variant-arg`), measured the same way: what an option costs.
FAKES = ("fake", "variant")
PRISM_VERSION = "5.14.2"
WIREMOCK_VERSION = "3.13.2"
PROBE_PATH = "/v1/connectors/conn_abc123"
EXAMPLE_SCENARIOS = (
    "flaky-network",
    "oauth-denied",
    "outage",
    "rate-limited",
    "slow-sync",
    "stuck-sync",
    "sync-fails-midway",
)
# One API key (tenant) per purpose, so creates never change the tenants that are listed.
KEY_GET = "bench-get"
KEY_LIST_10 = "bench-list-10"
KEY_LIST_1000 = "bench-list-1000"
KEY_CREATE = "bench-create"
KEY_SYNC = "bench-sync"
# The spec's example ids: any path matching the template does for Prism and the ceiling.
EXAMPLE_JOB_PATH = "/v1/connectors/conn_abc123/sync/job_abc123"

CEILING_APP = '''\
"""The ceiling: one Starlette route, a small fixed JSON body for any path, GET or POST."""

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODY = (
    b'{"data": {"id": "conn_abc123", "name": "Engineering Confluence", "type": "confluence"},'
    b' "meta": {"requestId": "req_7f3a9c2e41b8", "timestamp": "2024-01-20T14:05:00Z"}}'
)


async def answer(request: Request) -> Response:
    if request.method == "POST":
        await request.body()  # read what the client sent, as any real handler would
    return Response(BODY, media_type="application/json")


app = Starlette(routes=[Route("/{path:path}", answer, methods=["GET", "POST"])])
'''

# wrk runs `setup` once per thread in the main Lua state, then `init` and `request` in each
# thread's own state: the thread number and a per-thread counter make every name unique, and
# the tag (one per wrk invocation, after `--`) keeps the warm-up's names from coming back.
CREATE_LUA = """\
local threads = {}

function setup(thread)
   thread:set("id", #threads + 1)
   table.insert(threads, thread)
end

function init(args)
   tag = args[1] or "run"
   counter = 0
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   counter = counter + 1
   return wrk.format(nil, nil, nil, string.format(BODY, tag, id, counter))
end
"""


# --------------------------------------------------------------------------------------------
# HTTP set-up calls


def count_connectors(port: int, key: str) -> int:
    return len(expect(call(port, "GET", "/v1/connectors", key=key), 200, f"listConnectors for {key}"))


def fill_tenant(port: int, key: str, total: int, prefix: str) -> tuple[int, int]:
    """Create connectors until the key holds `total`: (how many the fixtures gave, created)."""
    have = count_connectors(port, key)
    names = [f"{prefix} {index}" for index in range(max(0, total - have))]

    def create_chunk(chunk: list[str]) -> list[int]:
        with contextlib.closing(connect(port)) as connection:  # kept alive
            return [send(connection, "POST", "/v1/connectors", key=key, body=s3_body(name))[0] for name in chunk]

    workers = 4
    with ThreadPoolExecutor(workers) as pool:
        statuses = [s for chunk in pool.map(create_chunk, [names[i::workers] for i in range(workers)]) for s in chunk]
    refused = [s for s in statuses if s != 201]
    if refused:
        raise RuntimeError(f"filling {key}: {len(refused)} creates refused, statuses {sorted(set(refused))}")
    if (now := count_connectors(port, key)) != total:
        raise RuntimeError(f"filling {key}: holds {now} connectors, not {total}")
    return have, len(names)


def job_status(port: int, path: str) -> str:
    status, payload = call(port, "GET", path, key=KEY_SYNC)
    return str(json.loads(payload)["data"]["status"]) if status == 200 else f"HTTP {status}"


def prepare_fake(port: int) -> tuple[str, dict[str, Any]]:
    """Load the examples (inactive), fill the list tenants, start a job: (job path, facts)."""
    facts: dict[str, Any] = {}
    for name in EXAMPLE_SCENARIOS:
        expect(call(port, "POST", f"/_mock/scenarios?example={name}"), 201, f"loading example scenario {name}")
    data = expect(call(port, "GET", "/_mock/scenarios"), 200, "listing scenarios")
    loaded = data if isinstance(data, list) else data.get("scenarios", [])
    facts["scenarios_loaded"] = [each["name"] for each in loaded]
    facts["scenarios_active"] = [each["name"] for each in loaded if each.get("active")]
    facts["fixture_connectors"], facts["created_for_list_10"] = fill_tenant(port, KEY_LIST_10, 10, "Bench list-10")
    _, facts["created_for_list_1000"] = fill_tenant(port, KEY_LIST_1000, 1000, "Bench list-1000")
    job = expect(call(port, "POST", "/v1/connectors/conn_abc123/sync", key=KEY_SYNC), 202, "triggerSync")
    job_path = f"/v1/connectors/conn_abc123/sync/{job['jobId']}"
    expect(call(port, "POST", "/_mock/clock/advance", body={"seconds": 1}), 200, "advancing the clock")
    facts["job_path"] = job_path
    facts["job_status_before"] = job_status(port, job_path)
    return job_path, facts


# --------------------------------------------------------------------------------------------
# wrk


@dataclass
class Route:
    name: str
    method: str
    path: str
    key: str


@dataclass
class LoadResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int  # wrk's "Non-2xx or 3xx responses": statuses of 400 and more
    socket_errors: dict[str, int]
    smoke_status: int  # one request of the route before the load


UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def to_ms(value: str, unit: str) -> float:
    return float(value) * UNIT_MS[unit]


def parse_wrk(output: str, smoke_status: int) -> LoadResult:
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    p50 = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s|m|h)\s*$", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m|h)\s*$", output, re.MULTILINE)
    total = re.search(r"^\s+(\d+) requests in", output, re.MULTILINE)
    if not (rps and p50 and p99 and total):
        raise RuntimeError(f"could not read wrk's output:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    kinds = ("connect", "read", "write", "timeout")
    return LoadResult(
        requests_per_second=float(rps.group(1)),
        p50_ms=to_ms(*p50.groups()),
        p99_ms=to_ms(*p99.groups()),
        requests=int(total.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors={kind: int(errors.group(i)) for i, kind in enumerate(kinds, 1)} if errors else {},
        smoke_status=smoke_status,
    )


def median_of(rounds: list[LoadResult]) -> LoadResult:
    """The rounds of one route on one server as one: medians of the rates and latencies,
    sums of what went wrong."""
    errors: dict[str, int] = {}
    for each in rounds:
        for kind, count in each.socket_errors.items():
            errors[kind] = errors.get(kind, 0) + count
    return LoadResult(
        requests_per_second=statistics.median(each.requests_per_second for each in rounds),
        p50_ms=statistics.median(each.p50_ms for each in rounds),
        p99_ms=statistics.median(each.p99_ms for each in rounds),
        requests=sum(each.requests for each in rounds),
        non_2xx=sum(each.non_2xx for each in rounds),
        socket_errors=errors,
        smoke_status=max(each.smoke_status for each in rounds),
    )


def add_wrk_options(parser: argparse.ArgumentParser) -> None:
    """The load's shape, the same in every benchmark that runs wrk (`Wrk` reads them)."""
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument(
        "--timeout", type=int, default=10, help="wrk's per-request timeout in seconds (default 10; wrk's own is 2)"
    )


class Wrk:
    def __init__(self, binary: str, args: argparse.Namespace, workdir: Path) -> None:
        self.binary = binary
        self.args = args
        self.script = workdir / "create.lua"
        body = json.dumps(s3_body("Document Storage %s-%d-%d"))
        self.script.write_text(f"local BODY = [[{body}]]\n{CREATE_LUA}")
        self.invocations = 0

    def run(self, port: int, route: Route, seconds: float) -> str:
        self.invocations += 1
        options = ["--header", f"Authorization: Bearer {route.key}"]
        if route.method != "POST":
            return self.load(port, route.path, seconds, options)
        return self.load(port, route.path, seconds, [*options, "--script", str(self.script)], f"r{self.invocations}")

    def load(self, port: int, path: str, seconds: float, options: list[str], *script_args: str) -> str:
        """wrk's output for `seconds` of load on `path` with this run's threads, connections and
        timeout, and `options` (a header, a script; the script's arguments after `--`)."""
        command = [
            self.binary, "--threads", str(self.args.threads), "--connections", str(self.args.connections),
            "--duration", f"{seconds:g}s", "--latency", "--timeout", f"{self.args.timeout}s",
            *options, f"http://{HOST}:{port}{path}",
        ]  # fmt: skip
        if script_args:
            command += ["--", *script_args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}{done.stderr}")
        return done.stdout

    def measure(self, port: int, route: Route) -> LoadResult:
        if route.method == "POST":
            # A name of its own each time: a second round's smoke would otherwise be a 409.
            name = f"Document Storage smoke {self.invocations}"
            smoke, _ = call(port, "POST", route.path, key=route.key, body=s3_body(name))
        else:
            smoke, _ = call(port, "GET", route.path, key=route.key)
        self.run(port, route, 1)  # warm-up: its numbers are dropped
        return parse_wrk(self.run(port, route, self.args.duration), smoke)


def find_wrk() -> str:
    found = shutil.which("wrk") or ("/usr/bin/wrk" if Path("/usr/bin/wrk").exists() else None)
    if found:
        return found
    if os.geteuid() != 0:
        sys.exit("compare.py needs wrk: install it (`sudo apt-get install -y wrk`) and run again")
    print("installing wrk with apt-get", file=sys.stderr)
    if subprocess.run(["apt-get", "install", "-y", "wrk"], check=False).returncode != 0:
        subprocess.run(["apt-get", "update"], check=False)
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=True)
    return shutil.which("wrk") or "/usr/bin/wrk"


# --------------------------------------------------------------------------------------------
# One server, start to end


@dataclass
class ServerResult:
    command: list[str]
    startup_ms: list[float] = field(default_factory=list)
    startup_rss_mib: list[float] = field(default_factory=list)
    startup_median_ms: float = 0.0
    rss_after_startup_mib: float = 0.0
    peak_rss_mib: float = 0.0
    processes_in_tree: int = 0
    routes: dict[str, LoadResult] = field(default_factory=dict)  # the median of the rounds
    rounds: dict[str, list[LoadResult]] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)


def routes_for(job_path: str) -> list[Route]:
    return [
        Route("getConnector", "GET", PROBE_PATH, KEY_GET),
        Route("listConnectors (10)", "GET", "/v1/connectors", KEY_LIST_10),
        Route("listConnectors (1,000)", "GET", "/v1/connectors", KEY_LIST_1000),
        Route("createConnector", "POST", "/v1/connectors", KEY_CREATE),
        Route("getSyncStatus (running job)", "GET", job_path, KEY_SYNC),
    ]


def startup_runs(name: str, command: Callable[[int], list[str]], runs: int, workdir: Path) -> ServerResult:
    timeout = 90.0 if name in ("prism", "wiremock") else 30.0
    result = ServerResult(command=command(0))
    for run in range(runs + 1):
        port = free_port()
        with Server(command(port), port=port, name=name, workdir=workdir) as server:
            seconds = server.wait_first_200(PROBE_PATH, key=KEY_GET, timeout=timeout).seconds
            rss, _ = tree_mib(server.pid, "VmRSS")
        if run == 0:
            continue  # the first launch warms the file system cache, as a second start would be
        result.startup_ms.append(seconds * 1000)
        result.startup_rss_mib.append(rss)
        print(f"  {LABELS[name]}: start-up {seconds * 1000:.0f} ms, {rss:.1f} MiB", file=sys.stderr)
    result.startup_median_ms = statistics.median(result.startup_ms)
    result.rss_after_startup_mib = statistics.median(result.startup_rss_mib)
    return result


def benchmark(
    commands: dict[str, tuple[Callable[[int], list[str]], Callable[[int], list[str]]]],
    *,
    wrk: Wrk,
    args: argparse.Namespace,
    workdir: Path,
) -> dict[str, ServerResult]:
    """Start-up of each server, then every route on each in turn: the servers run side by side
    but only one is under load at a time, and a route is measured on all of them within a
    minute, so the machine's drift over the run does not favour whichever went first."""
    results: dict[str, ServerResult] = {}
    for name, (startup_command, _) in commands.items():
        print(f"{LABELS[name]}: {args.runs} launches to first 200 (after one to warm up)", file=sys.stderr)
        results[name] = startup_runs(name, startup_command, args.runs, workdir)
    with contextlib.ExitStack() as stack:
        servers: dict[str, tuple[Server, int]] = {}
        job_paths: dict[str, str] = {}
        for name, (_, load_command) in commands.items():
            port = free_port()
            results[name].command = load_command(port)
            server = stack.enter_context(Server(results[name].command, port=port, name=name, workdir=workdir))
            server.wait_first_200(PROBE_PATH, key=KEY_GET, timeout=90.0)
            servers[name] = server, port
            job_paths[name] = EXAMPLE_JOB_PATH
            if name in FAKES:
                job_paths[name], results[name].facts = prepare_fake(port)
        if "wiremock" in servers:
            # A JIT compiles what runs often: give it every route before it is measured.
            for route in routes_for(EXAMPLE_JOB_PATH):
                print(f"  WireMock: {route.name}, {args.jit_warmup} s of JIT warm-up", file=sys.stderr)
                wrk.run(servers["wiremock"][1], route, args.jit_warmup)
        for round_number in range(1, args.rounds + 1):
            for index in range(len(routes_for(EXAMPLE_JOB_PATH))):
                for name, (_, port) in servers.items():
                    route = routes_for(job_paths[name])[index]
                    print(
                        f"  round {round_number}, {LABELS[name]}: {route.name} (1 s warm-up, {args.duration} s)",
                        file=sys.stderr,
                    )
                    loaded = wrk.measure(port, route)
                    results[name].rounds.setdefault(route.name, []).append(loaded)
                    print(
                        f"    {loaded.requests_per_second:,.0f} req/s, p50 {loaded.p50_ms:.2f} ms, p99"
                        f" {loaded.p99_ms:.2f} ms, non-2xx {loaded.non_2xx}, first request {loaded.smoke_status}",
                        file=sys.stderr,
                    )
        for result in results.values():
            result.routes = {route: median_of(rounds) for route, rounds in result.rounds.items()}
        if "fake" in servers:
            port = servers["fake"][1]
            facts = results["fake"].facts
            facts["job_status_after"] = job_status(port, job_paths["fake"])
            facts["list_10_after"] = count_connectors(port, KEY_LIST_10)
            facts["list_1000_after"] = count_connectors(port, KEY_LIST_1000)
            facts["create_tenant_after"] = count_connectors(port, KEY_CREATE)
        for name, (server, _) in servers.items():
            results[name].peak_rss_mib, results[name].processes_in_tree = tree_mib(server.pid, "VmHWM")
    return results


# --------------------------------------------------------------------------------------------
# Versions and the table


def version_of(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    except OSError as error:
        return f"unknown ({error})"
    lines = (done.stdout + done.stderr).strip().splitlines()
    return lines[0].strip() if lines else "unknown"


def npm_install(package: str, version: str, prefix: Path, instead: str) -> Path:
    """`npm install package@version` into `prefix`; `instead` says how to do without npm."""
    npm = shutil.which("npm")
    if npm is None:
        sys.exit(f"compare.py needs npm to install {package}: install Node.js, or pass {instead} or --only")
    print(f"installing {package}@{version} into {prefix}", file=sys.stderr)
    subprocess.run(
        [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", f"{package}@{version}"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return prefix / "node_modules"


def install_prism(version: str, workdir: Path) -> str:
    modules = npm_install("@stoplight/prism-cli", version, workdir / "prism", "--prism PATH")
    return str(modules / ".bin" / "prism")


def install_wiremock(version: str, workdir: Path) -> str:
    """The standalone jar the npm package `wiremock` ships."""
    modules = npm_install("wiremock", version, workdir / "wiremock", "--wiremock JAR")
    return str(next((modules / "wiremock" / "build").glob("wiremock-standalone-*.jar")))


def find_java() -> str:
    found = shutil.which("java")
    if found:
        return found
    if os.geteuid() != 0:
        sys.exit("compare.py needs Java for WireMock: install a JDK (`sudo apt-get install -y default-jdk-headless`)")
    print("installing a JDK with apt-get", file=sys.stderr)
    subprocess.run(["apt-get", "update"], check=False)
    subprocess.run(["apt-get", "install", "-y", "default-jdk-headless"], check=True)
    return shutil.which("java") or "/usr/bin/java"


def wiremock_mappings(root: Path) -> None:
    """One stub per route in `root/mappings`: the method, the path and the route's exact bearer
    header match; the answer is the fake's own for that request, status, type and body, made
    in-process from the fake's default fixtures, so the bodies are the size the fake sends."""
    from starlette.testclient import TestClient  # noqa: PLC0415

    from connectors_mock.app import Settings, build_app  # noqa: PLC0415

    (root / "mappings").mkdir(parents=True)
    with TestClient(build_app(Settings(seed=1))) as fake:
        for key, total in ((KEY_LIST_10, 10), (KEY_LIST_1000, 1000)):
            held = len(fake.get("/v1/connectors", headers={"Authorization": f"Bearer {key}"}).json()["data"])
            for index in range(total - held):
                body = s3_body(f"Bench {total} {index}")
                fake.post("/v1/connectors", json=body, headers={"Authorization": f"Bearer {key}"})
        job = fake.post("/v1/connectors/conn_abc123/sync", headers={"Authorization": f"Bearer {KEY_SYNC}"})
        fake.post("/_mock/clock/advance", json={"seconds": 1})
        answers = {
            route.name: fake.request(
                route.method,
                route.path.replace(EXAMPLE_JOB_PATH, f"/v1/connectors/conn_abc123/sync/{job.json()['data']['jobId']}"),
                headers={"Authorization": f"Bearer {route.key}"},
                json=s3_body("Document Storage stub") if route.method == "POST" else None,
            )
            for route in routes_for(EXAMPLE_JOB_PATH)
        }
    for index, route in enumerate(routes_for(EXAMPLE_JOB_PATH)):
        answer = answers[route.name]
        stub = {
            "request": {
                "method": route.method,
                "url": route.path,
                "headers": {"Authorization": {"equalTo": f"Bearer {route.key}"}},
            },
            "response": {
                "status": answer.status_code,
                "headers": {"Content-Type": answer.headers["content-type"]},
                "body": answer.text,
            },
        }
        (root / "mappings" / f"route-{index}.json").write_text(json.dumps(stub))


def ratio(fake: float | None, other: float | None, higher_is_better: bool) -> str:
    if not fake or not other:
        return "-"
    return f"{fake / other if higher_is_better else other / fake:.2f}"


def table(results: dict[str, ServerResult], args: argparse.Namespace) -> list[str]:
    rows: list[tuple[str, dict[str, float | None], bool, str]] = []
    flags: dict[tuple[str, str], str] = {}
    notes: list[str] = []
    route_names = [route.name for route in routes_for(EXAMPLE_JOB_PATH)]
    for route_name in route_names:
        for metric, attribute, higher in (("req/s", "requests_per_second", True), ("p50 ms", "p50_ms", False)):
            values = {s: getattr(r.routes[route_name], attribute) for s, r in results.items()}
            rows.append((f"{route_name} {metric}", values, higher, ",.0f" if higher else ".2f"))
        rows.append(
            (f"{route_name} p99 ms", {s: r.routes[route_name].p99_ms for s, r in results.items()}, False, ".2f")
        )
        for server, result in results.items():
            loaded = result.routes[route_name]
            problems = []
            if loaded.non_2xx:
                problems.append(f"{loaded.non_2xx:,} of {loaded.requests:,} responses not 2xx")
            if errors := {kind: n for kind, n in loaded.socket_errors.items() if n}:
                problems.append("socket errors " + ", ".join(f"{kind} {n:,}" for kind, n in errors.items()))
            if loaded.smoke_status >= 400:
                problems.append(f"a single request before the load answered {loaded.smoke_status}")
            if problems:
                flags[(f"{route_name} req/s", server)] = " (!)"
                notes.append(f"(!) {LABELS[server]}, {route_name}: {'; '.join(problems)}.")
    fake = results.get("fake")
    if fake is not None:
        before, after = fake.facts.get("job_status_before"), fake.facts.get("job_status_after")
        if before != "running" or after != "running":
            flags[("getSyncStatus (running job) req/s", "fake")] = " (!)"
            notes.append(f"(!) fake, getSyncStatus: the job was `{before}` before the load and `{after}` after.")
    rows.append(
        (
            f"start-up to first 200 ms (median of {args.runs})",
            {s: r.startup_median_ms for s, r in results.items()},
            False,
            ",.0f",
        )
    )
    rows.append(("RSS after start-up MiB", {s: r.rss_after_startup_mib for s, r in results.items()}, False, ".1f"))
    rows.append(("peak RSS MiB", {s: r.peak_rss_mib for s, r in results.items()}, False, ".1f"))

    columns = [server for server in SERVERS if server in results]
    others = [server for server in columns if server != "fake"]
    lines = [
        "| metric | "
        + " | ".join(LABELS[server] for server in columns)
        + "".join(f" | fake/{LABELS[other]}" for other in others)
        + " |",
        "| --- |" + " ---: |" * (len(columns) + len(others)),
    ]
    for label, values, higher, spec in rows:
        cells = []
        for server in columns:
            value = values.get(server)
            cells.append("-" if value is None else f"{value:{spec}}{flags.get((label, server), '')}")
        fake_value = values.get("fake")
        ratios = [ratio(fake_value, values.get(other), higher) for other in others]
        lines.append(f"| {label} | {' | '.join(cells + ratios)} |")
    lines += [
        "",
        "fake/X: how many times better the fake is, for every row: the fake's req/s over the"
        " other's, and the other's milliseconds (or MiB) over the fake's. Above 1 the fake is"
        " better, below 1 worse.",
        "RSS after start-up: VmRSS summed over the server's process tree at the first 200 (median of"
        " the launches). Peak RSS: VmHWM summed over the process tree of the launch that served the"
        " load, read just before stopping it; for the fake that launch holds the 10- and"
        " 1,000-connector tenants, every connector the create load made and the journal's last"
        " 10,000 requests. Processes in each tree: "
        + ", ".join(f"{LABELS[server]} {result.processes_in_tree}" for server, result in results.items())
        + ".",
    ]
    if notes:
        lines += ["", *notes]
    return lines


def facts_lines(args: argparse.Namespace, versions: dict[str, str], results: dict[str, ServerResult]) -> list[str]:
    lines = [
        f"- machine: {os.cpu_count()} cores ({platform.machine()}, Linux {platform.release()});"
        " wrk and the server share them",
        f"- Python {platform.python_version()} ({sys.executable})",
        *(f"- {name}: {version}" for name, version in versions.items()),
        f"- load: {args.threads} threads, {args.connections} connections, {args.duration} s per route"
        f" after a 1 s warm-up, --latency, --timeout {args.timeout}s; one server under load at a time,"
        f" each route on every server in turn, {args.rounds} round{'s' if args.rounds > 1 else ''}, the table"
        " shows the median"
        + (f"; WireMock had {args.jit_warmup} s of load on each route first, for its JIT" * ("wiremock" in args.only)),
        f"- start-up: launch to first 200 of GET {PROBE_PATH}, polled every 2 ms, median of {args.runs}"
        f" launch{'es' if args.runs > 1 else ''} after one that warms the file system cache (the fake"
        " without --clock manual, as `serve --port P`)",
    ]
    for server, result in results.items():
        lines.append(f"- {LABELS[server]}: `{' '.join(result.command)}`")
    for name in FAKES:
        if name not in results:
            continue
        facts = results[name].facts
        lines.append(
            f"- {name} state: examples loaded, none active: {', '.join(facts.get('scenarios_loaded', []))}"
            f" (active: {', '.join(facts.get('scenarios_active', [])) or 'none'}); a new key holds"
            f" {facts.get('fixture_connectors')} fixture connectors; job"
            f" `{facts.get('job_path')}` was `{facts.get('job_status_before')}` before the load and"
            f" `{facts.get('job_status_after')}` after; the create tenant held"
            f" {facts.get('create_tenant_after', 0):,} connectors at the end"
        )
    return lines


# --------------------------------------------------------------------------------------------
# main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_wrk_options(parser)
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per route (default 10)")
    parser.add_argument("--runs", type=int, default=5, help="launches for the start-up median (default 5)")
    parser.add_argument("--prism", metavar="PATH", help="an installed prism binary: skip the npm install")
    parser.add_argument("--prism-version", default=PRISM_VERSION, help=f"what npm installs (default {PRISM_VERSION})")
    parser.add_argument("--wiremock", metavar="JAR", help="WireMock's standalone jar: skip the npm install")
    parser.add_argument(
        "--wiremock-version", default=WIREMOCK_VERSION, help=f"what npm installs (default {WIREMOCK_VERSION})"
    )
    parser.add_argument(
        "--jit-warmup", type=int, default=10, help="seconds of load on each route before WireMock's first (default 10)"
    )
    parser.add_argument("--rounds", type=int, default=2, help="rounds of every route on every server (default 2)")
    parser.add_argument(
        "--only", default=",".join(s for s in SERVERS if s != "variant"), help="a subset of fake,prism,wiremock,ceiling"
    )
    parser.add_argument(
        "--variant-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="run a second fake, with this argument added, beside the first and measured the same way, "
        "repeatable (--variant-arg=--rate-limit --variant-arg=off): what an option costs",
    )
    parser.add_argument(
        "--variant-script",
        metavar="PATH",
        help="run the variant fake from this connectors-mock console script (another build), with the "
        "--variant-arg arguments if any: what a change of the code bought",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the raw numbers there")
    parser.add_argument(
        "--fake-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="an argument for the fake's serve command, repeatable (--fake-arg=--rate-limit --fake-arg=off)",
    )
    args = parser.parse_args()
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    if not args.only or set(args.only) - set(SERVERS) or "variant" in args.only:
        parser.error("--only takes names among fake, prism, wiremock, ceiling")
    if args.variant_arg or args.variant_script:
        args.only.append("variant")
    if min(args.runs, args.duration, args.threads, args.rounds) < 1 or args.connections < args.threads:
        parser.error("--runs, --rounds and --duration must be at least 1, --connections at least --threads")
    return args


@contextlib.contextmanager
def workspace() -> Iterator[Path]:
    workdir = Path(tempfile.mkdtemp(prefix="connectors-mock-compare-"))
    try:
        yield workdir
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def fake_commands(script: str, extra: list[str]) -> tuple[Callable[[int], list[str]], Callable[[int], list[str]]]:
    """How the fake is launched for its start-up runs, and for the load (with the manual
    clock, so the running job stays running)."""
    return (
        lambda port: [script, "serve", "--port", str(port), *extra],
        lambda port: [script, "serve", "--clock", "manual", "--port", str(port), *extra],
    )


def run(args: argparse.Namespace, workdir: Path) -> None:
    wrk = Wrk(find_wrk(), args, workdir)
    fake_script = console_script()
    versions = {"wrk": version_of([wrk.binary, "-v"])}
    commands: dict[str, tuple[Callable[[int], list[str]], Callable[[int], list[str]]]] = {}
    if "fake" in args.only:
        versions["connectors-mock"] = version_of([fake_script, "--version"])
        extra = list(args.fake_arg)
        commands["fake"] = fake_commands(fake_script, extra)
    if "variant" in args.only:
        variant_script = os.path.abspath(args.variant_script) if args.variant_script else fake_script
        versions["variant"] = version_of([variant_script, "--version"]) + f" ({variant_script})"
        commands["variant"] = fake_commands(variant_script, [*args.fake_arg, *args.variant_arg])
    if "prism" in args.only:
        prism = os.path.abspath(args.prism) if args.prism else install_prism(args.prism_version, workdir)
        versions["Prism"] = f"{version_of([prism, '--version'])} (Node.js {version_of(['node', '--version'])})"

        def prism_command(port: int) -> list[str]:
            return [prism, "mock", "--host", HOST, "--port", str(port), str(SPEC)]

        commands["prism"] = (prism_command, prism_command)
    if "wiremock" in args.only:
        jar = os.path.abspath(args.wiremock) if args.wiremock else install_wiremock(args.wiremock_version, workdir)
        java = find_java()
        versions["WireMock"] = f"{Path(jar).name} (Java: {version_of([java, '-version'])})"
        wiremock_root = workdir / "wiremock-root"
        wiremock_mappings(wiremock_root)

        def wiremock_command(port: int) -> list[str]:
            return [
                java, "-jar", jar, "--port", str(port), "--bind-address", HOST,
                "--root-dir", str(wiremock_root), "--disable-banner",
            ]  # fmt: skip

        commands["wiremock"] = (wiremock_command, wiremock_command)
    if "ceiling" in args.only:
        (workdir / "ceiling_app.py").write_text(CEILING_APP)
        versions["ceiling"] = ", ".join(
            f"{dist} {importlib.metadata.version(dist)}" for dist in ("starlette", "uvicorn", "uvloop", "httptools")
        )

        def ceiling_command(port: int) -> list[str]:
            return [
                sys.executable, "-m", "uvicorn", "ceiling_app:app", "--app-dir", str(workdir),
                "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
                "--host", HOST, "--port", str(port),
            ]  # fmt: skip

        commands["ceiling"] = (ceiling_command, ceiling_command)

    results = benchmark(
        {name: commands[name] for name in SERVERS if name in commands}, wrk=wrk, args=args, workdir=workdir
    )
    print("\n".join([*facts_lines(args, versions, results), "", *table(results, args)]))
    if args.json:
        raw = {"settings": vars(args), "versions": versions, "cores": os.cpu_count()}
        raw["results"] = {name: asdict(result) for name, result in results.items()}
        Path(args.json).write_text(json.dumps(raw, indent=2) + "\n")


def main() -> None:
    args = parse_args()
    with workspace() as workdir:
        run(args, workdir)


if __name__ == "__main__":
    sys.exit(run_interruptibly(main))
