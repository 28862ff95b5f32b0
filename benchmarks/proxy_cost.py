"""What `connectors-mock proxy` adds to a request: the latency of the same requests sent to the
fake directly and through the proxy in front of it, at a steady rate.

    python benchmarks/proxy_cost.py [--rate 100] [--requests 2000] [--rounds 2]

Starts `connectors-mock serve --seed 1` and `connectors-mock proxy --upstream <it>` as processes
of their own (as a developer runs them), then sends, over one kept-alive connection and paced at
`--rate` requests a second, `GET /v1/connectors/conn_abc123` and `GET /v1/connectors` in turn:
`--requests` straight to the fake, then as many through the proxy, `--rounds` times over (so a
drift of the machine shows in both). Every answer through the proxy is judged in full (schema,
the contract suite's checks, the invariants); the run ends by reading its violations (there
must be none). Prints p50, p90 and p99 of each path, what the proxy adds at p50, and the CPU
time the proxy process spent per request (from /proc, where there is one), which a busy machine
does not inflate as it does latencies.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

PATHS = ("/v1/connectors/conn_abc123", "/v1/connectors")
HEADERS = {"Authorization": "Bearer bench-key"}


@contextmanager
def started(*args: str) -> Iterator[tuple[str, int]]:
    """A connectors-mock command on a free port; its URL and process id."""
    process = subprocess.Popen(
        [sys.executable, "-m", "connectors_mock", *args, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        for line in iter(process.stdout.readline, ""):
            if line.startswith("connectors-mock listening on "):
                yield line.strip().rsplit(" ", 1)[1], process.pid
                break
        else:
            raise RuntimeError(f"connectors-mock {args[0]} did not start")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def paced(url: str, count: int, rate: float) -> list[float]:
    """Milliseconds per request, `count` requests at `rate` a second over one connection."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    latencies = []
    interval = 1 / rate
    next_at = time.perf_counter()
    for number in range(count):
        pause = next_at - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        next_at += interval
        began = time.perf_counter()
        connection.request("GET", PATHS[number % len(PATHS)], headers=HEADERS)
        answer = connection.getresponse()
        answer.read()
        latencies.append((time.perf_counter() - began) * 1000)
        if answer.status != 200:
            raise RuntimeError(f"{PATHS[number % len(PATHS)]} answered {answer.status}")
    connection.close()
    return latencies


def cpu_seconds(pid: int) -> float | None:
    """User and system time of a process so far, or None without /proc."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(share * 100) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=100.0, help="requests a second (default: %(default)g)")
    parser.add_argument("--requests", type=int, default=2000, help="requests per path and round (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of direct, then proxied (default: %(default)s)")
    args = parser.parse_args()
    direct: list[float] = []
    proxied: list[float] = []
    cpu = 0.0
    with started("serve", "--seed", "1") as (fake, _), started("proxy", "--upstream", fake) as (proxy, pid):
        paced(proxy, 50, args.rate)  # warm up both: imports, compiled validators, connections
        for _ in range(args.rounds):
            direct += paced(fake, args.requests, args.rate)
            before = cpu_seconds(pid)
            proxied += paced(proxy, args.requests, args.rate)
            after = cpu_seconds(pid)
            cpu += (after - before) if before is not None and after is not None else float("nan")
        connection = http.client.HTTPConnection(
            urlsplit(proxy).hostname or "127.0.0.1", urlsplit(proxy).port, timeout=30
        )
        connection.request("GET", "/_mock/violations")
        report = json.loads(connection.getresponse().read())["data"]
    print(f"{len(direct)} requests each way at {args.rate:g}/s ({args.rounds} rounds), GET one connector and the list")
    print(f"{'':10} {'p50':>8} {'p90':>8} {'p99':>8}  (ms)")
    for name, values in (("direct", direct), ("proxied", proxied)):
        row = " ".join(f"{percentile(values, share):8.3f}" for share in (0.5, 0.9, 0.99))
        print(f"{name:10} {row}")
    added = percentile(proxied, 0.5) - percentile(direct, 0.5)
    print(f"the proxy adds {added:.3f} ms at p50 (target: under 2 ms)")
    print(f"the proxy's CPU time: {cpu / len(proxied) * 1000:.3f} ms per request (forwarding and judging)")
    print(f"exchanges judged: {report['exchanges']}, violations: {report['total']}")


if __name__ == "__main__":
    main()
