"""What open dashboards cost the API: throughput and server CPU per request, with and without
N dashboards watching `/_mock/events`, on the same fake in the same run.

    .venv/bin/python benchmarks/dashboard_cost.py [--viewers 1] [--rounds 8] [--duration 3]
                                                  [--threads 2] [--connections 16] [--json FILE]

One fake (`connectors-mock serve --clock manual`), set up as compare.py sets it up (the seven
examples loaded, none active; a tenant of 10 and one of 1,000 connectors; a running job), then
compare.py's routes under wrk. Each route is loaded in `--rounds` pairs of short runs, one bare
and one with the dashboards attached, back to back (ABBA order), and each pair's ratio taken:
a machine whose other load comes and goes (a shared CI runner) moves both runs of a pair alike,
and the median of the pairs says what the dashboards change. The dashboards are threads of this
script reading the stream as fast as it comes, as a browser tab does, watching the tenant the
create route fills, with every journal entry in view: the busiest a dashboard gets. Besides
req/s, the server's own CPU time per request (from /proc/PID/stat) says what they add.

Needs wrk (installed with apt-get when missing and run as root, as compare.py does). Takes about
`5 routes x 2 x rounds x (duration + 1)` seconds: 6 minutes with the defaults.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from compare import KEY_CREATE, PROBE_PATH, Route, Wrk, add_wrk_options, find_wrk, prepare_fake, routes_for, version_of
from servers import Dashboards, Server, console_script, free_port, run_interruptibly

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User and system time the process has used so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rfind(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def tenant_label(key: str) -> str:
    """What /_mock calls the tenant of `key` (`connectors_mock.auth.tenant_label`)."""
    return "key_" + hashlib.sha256(key.encode()).hexdigest()[:12]


@dataclass
class Side:
    """One route's runs, bare or watched."""

    requests_per_second: list[float] = field(default_factory=list)
    cpu_us_per_request: list[float] = field(default_factory=list)


@dataclass
class RouteCost:
    bare: Side = field(default_factory=Side)
    watched: Side = field(default_factory=Side)
    events: int = 0


def load(wrk: Wrk, server: Server, port: int, route: Route, side: Side) -> None:
    before = cpu_seconds(server.pid)
    result = wrk.measure(port, route)
    spent = cpu_seconds(server.pid) - before
    side.requests_per_second.append(result.requests_per_second)
    # The warm-up second's requests ran on the same CPU: counted at the measured rate.
    requests = result.requests * (wrk.args.duration + 1) / wrk.args.duration
    side.cpu_us_per_request.append(spent / requests * 1e6)


def run(args: argparse.Namespace, workdir: Path) -> dict[str, RouteCost]:
    wrk = Wrk(find_wrk(), args, workdir)
    port = free_port()
    command = [console_script(), "serve", "--clock", "manual", "--port", str(port)]
    costs: dict[str, RouteCost] = {}
    with Server(command, port=port, name="fake", workdir=workdir) as server:
        server.wait_first_200(PROBE_PATH, key=KEY_CREATE, timeout=90.0)
        job_path, _ = prepare_fake(port)
        query = f"?tenant={tenant_label(KEY_CREATE)}"
        for route in routes_for(job_path):
            cost = costs[route.name] = RouteCost()
            for index in range(args.rounds):
                order = (False, True) if index % 2 == 0 else (True, False)
                for watched in order:
                    print(f"  {route.name}: {'watched' if watched else 'bare'} (round {index + 1})", file=sys.stderr)
                    if watched:
                        with Dashboards(port, args.viewers, query) as dashboards:
                            load(wrk, server, port, route, cost.watched)
                        cost.events += dashboards.events
                        if dashboards.ended:
                            raise RuntimeError(f"the server ended {dashboards.ended} dashboards' streams under load")
                    else:
                        load(wrk, server, port, route, cost.bare)
    return costs


def paired_change(bare: list[float], watched: list[float]) -> float:
    """The median, over the pairs of runs, of watched / bare - 1."""
    return statistics.median(w / b - 1 for b, w in zip(bare, watched, strict=True))


def report(args: argparse.Namespace, costs: dict[str, RouteCost]) -> list[str]:
    lines = [
        f"# What {args.viewers} dashboard{'s' if args.viewers != 1 else ''} watching cost the API",
        "",
        f"- {os.cpu_count()} cores, shared by wrk, the server and the dashboards' threads;"
        f" {version_of([console_script(), '--version'])}",
        f"- wrk: {args.threads} threads, {args.connections} connections, {args.duration} s per run after a 1 s warm-up;"
        f" {args.rounds} pairs of runs per route, bare and watched back to back; medians",
        f"- dashboards: `/_mock/events?tenant={tenant_label(KEY_CREATE)}` (the create route's tenant), every"
        " journal entry in view",
        "",
        "| route | req/s bare | req/s watched | change (median of pairs) |"
        " server CPU µs/request bare | watched | change (median of pairs) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    rps_changes, cpu_changes = [], []
    for name, cost in costs.items():
        bare, watched = cost.bare, cost.watched
        rps_change = paired_change(bare.requests_per_second, watched.requests_per_second)
        cpu_change = paired_change(bare.cpu_us_per_request, watched.cpu_us_per_request)
        rps_changes.append(rps_change)
        cpu_changes.append(cpu_change)
        lines.append(
            f"| {name} | {statistics.median(bare.requests_per_second):,.0f}"
            f" | {statistics.median(watched.requests_per_second):,.0f} | {rps_change * 100:+.1f}%"
            f" | {statistics.median(bare.cpu_us_per_request):.0f} | {statistics.median(watched.cpu_us_per_request):.0f}"
            f" | {cpu_change * 100:+.1f}% |"
        )
    events = sum(cost.events for cost in costs.values())
    lines += [
        "",
        f"Over the {len(costs)} routes: throughput {statistics.mean(rps_changes) * 100:+.1f}%, server CPU per request"
        f" {statistics.mean(cpu_changes) * 100:+.1f}% (means of the routes' medians).",
        f"The dashboards were sent {events:,} events in all; none was dropped.",
    ]
    return lines


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--viewers", type=int, default=1, help="dashboards watching (default 1)")
    parser.add_argument("--rounds", type=int, default=8, help="pairs of runs per route (default 8)")
    parser.add_argument("--duration", type=int, default=3, help="seconds of load per run (default 3)")
    add_wrk_options(parser)
    parser.add_argument("--json", metavar="FILE", help="also write the raw numbers there")
    args = parser.parse_args()
    if args.viewers < 1 or args.rounds < 1 or args.duration < 1 or args.connections < args.threads:
        parser.error("--viewers, --rounds and --duration must be at least 1, --connections at least --threads")
    return args


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="connectors-mock-dashboard-cost-") as work:
        costs = run(args, Path(work))
    print("\n".join(report(args, costs)))
    if args.json:
        Path(args.json).write_text(json.dumps({name: asdict(cost) for name, cost in costs.items()}, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(run_interruptibly(main))
