"""How a request's cost grows with what the fake holds: `listConnectors` of a tenant holding 10,
1,000 and 10,000 connectors, and `getConnector` spread over 1, 100 and 10,000 tenants, in one
table, measured the way compare.py measures (wrk, 2 threads, 16 connections).

    .venv/bin/python benchmarks/growth.py [--duration 10] [--rounds 2] [--json FILE]

One fake (`connectors-mock serve --clock manual --max-tenants 20000`, otherwise the defaults)
serves every row, so the rows differ only in what is asked. The list tenants are filled first by creates; the tenants of
the spread rows are all made (one `getConnector` each) before their load, and the wrk script
sends each request with the next key of its list, so every tenant is read again and again.
With room for 20,000 tenants, none is forgotten. Rows are measured in turn,
`--rounds` times; the table shows the median. Prints numbers, asserts nothing; takes about
two minutes with the defaults (a minute of it filling the tenants).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from compare import PROBE_PATH, LoadResult, Route, Wrk, add_wrk_options, fill_tenant, find_wrk, median_of, parse_wrk
from servers import Server, call, connect, console_script, free_port, run_interruptibly, send, tree_mib

LIST_SIZES = (10, 1_000, 10_000)
TENANT_COUNTS = (1, 100, 10_000)

# wrk: every request with the next key of the list (the keys of one thread start where the
# other thread's end, so the two spread over all of them).
SPREAD_LUA = """\
local keys = {}
for line in io.lines("%(keys)s") do keys[#keys + 1] = line end
local threads = {}

function setup(thread)
   thread:set("offset", #threads * math.floor(#keys / 2))
   table.insert(threads, thread)
end

function init(args)
   counter = 0
end

function request()
   counter = counter + 1
   local key = keys[(offset + counter) %% #keys + 1]
   return wrk.format("GET", nil, {["Authorization"] = "Bearer " .. key})
end
"""


@dataclass
class Row:
    label: str
    rounds: list[LoadResult]
    body_kib: float = 0.0

    @property
    def result(self) -> LoadResult:
        return median_of(self.rounds)


class SpreadWrk(Wrk):
    """compare.py's wrk, with a script that sends each request with the next of many keys."""

    def spread(self, port: int, keys_file: Path, seconds: float) -> str:
        script = keys_file.with_suffix(".lua")
        script.write_text(SPREAD_LUA % {"keys": keys_file})
        return self.load(port, PROBE_PATH, seconds, ["--script", str(script)])


def touch_tenants(port: int, keys: list[str]) -> None:
    """One `getConnector` per key, so every tenant exists before the load."""

    def touch(chunk: list[str]) -> None:
        with contextlib.closing(connect(port)) as connection:
            for key in chunk:
                status, _ = send(connection, "GET", PROBE_PATH, key=key)
                if status != 200:
                    raise RuntimeError(f"getConnector for {key}: {status}")

    workers = 4
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(touch, [keys[i::workers] for i in range(workers)]))


def measure(args: argparse.Namespace, workdir: Path) -> tuple[list[Row], dict[str, float]]:
    wrk = SpreadWrk(find_wrk(), args, workdir)
    port = free_port()
    # Room for every tenant of every row: past `--max-tenants` the least recently seen would be
    # forgotten, and a list tenant made afresh from the fixtures.
    command = [console_script(), "serve", "--clock", "manual", "--max-tenants", "20000", "--port", str(port)]
    with Server(command, port=port, name="fake", workdir=workdir) as server:
        server.wait_first_200(PROBE_PATH, key="growth-probe", timeout=30.0)
        print("filling the list tenants", file=sys.stderr)
        for size in LIST_SIZES:
            fill_tenant(port, f"growth-list-{size}", size, f"Growth {size}")
        keys_files = {}
        for count in TENANT_COUNTS:
            keys = [f"growth-tenant-{count}-{index}" for index in range(count)]
            print(f"making {count:,} tenants", file=sys.stderr)
            touch_tenants(port, keys)
            keys_files[count] = workdir / f"keys-{count}.txt"
            keys_files[count].write_text("\n".join(keys) + "\n")
        rows = [Row(f"listConnectors, {size:,} connectors", []) for size in LIST_SIZES]
        rows += [Row(f"getConnector over {count:,} tenant{'s' * (count > 1)}", []) for count in TENANT_COUNTS]
        for size, row in zip(LIST_SIZES, rows, strict=False):
            row.body_kib = len(call(port, "GET", "/v1/connectors", key=f"growth-list-{size}")[1]) / 1024
        for round_number in range(1, args.rounds + 1):
            for size, row in zip(LIST_SIZES, rows, strict=False):
                route = Route(row.label, "GET", "/v1/connectors", f"growth-list-{size}")
                row.rounds.append(wrk.measure(port, route))
                report(round_number, row)
            for count, row in zip(TENANT_COUNTS, rows[len(LIST_SIZES) :], strict=True):
                wrk.spread(port, keys_files[count], 1)  # warm-up, dropped
                row.rounds.append(parse_wrk(wrk.spread(port, keys_files[count], args.duration), 200))
                report(round_number, row)
        rss, _ = tree_mib(server.pid, "VmRSS")
        peak, _ = tree_mib(server.pid, "VmHWM")
    return rows, {"rss_mib": rss, "peak_rss_mib": peak}


def report(round_number: int, row: Row) -> None:
    last = row.rounds[-1]
    print(
        f"  round {round_number}, {row.label}: {last.requests_per_second:,.0f} req/s,"
        f" p50 {last.p50_ms:.2f} ms, p99 {last.p99_ms:.2f} ms, non-2xx {last.non_2xx}",
        file=sys.stderr,
    )


def table(rows: list[Row], memory: dict[str, float], args: argparse.Namespace) -> list[str]:
    lines = [
        f"One fake, `serve --clock manual --max-tenants 20000`; wrk {args.threads} threads,"
        f" {args.connections} connections,"
        f" {args.duration} s a row after 1 s of warm-up, median of {args.rounds} round{'s' * (args.rounds > 1)}.",
        "",
        "| what is asked | req/s | p50 ms | p99 ms | body KiB | non-2xx |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        result = row.result
        body = f"{row.body_kib:,.1f}" if row.body_kib else "-"
        lines.append(
            f"| {row.label} | {result.requests_per_second:,.0f} | {result.p50_ms:.2f} | {result.p99_ms:.2f}"
            f" | {body} | {result.non_2xx} |"
        )
    lines += [
        "",
        f"The server's RSS at the end: {memory['rss_mib']:,.0f} MiB (peak {memory['peak_rss_mib']:,.0f} MiB), holding"
        f" {sum(LIST_SIZES):,} listed connectors and {sum(TENANT_COUNTS) + 1 + len(LIST_SIZES):,} tenants.",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per row (default 10)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of every row (default 2)")
    add_wrk_options(parser)
    parser.add_argument("--json", metavar="FILE", help="also write the raw numbers there")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="connectors-mock-growth-") as directory:
        rows, memory = measure(args, Path(directory))
    print("\n".join(table(rows, memory, args)))
    if args.json:
        raw = {"rows": [{"label": r.label, "rounds": [asdict(x) for x in r.rounds]} for r in rows], **memory}
        Path(args.json).write_text(json.dumps(raw, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(run_interruptibly(main))
