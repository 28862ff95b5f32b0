"""Time from launching `connectors-mock serve` to its first 200, median of N runs.

    python benchmarks/startup.py [--runs 5]

Each run starts the console script on a free port, polls `GET /v1/connectors` every 2 ms
until it answers 200, then stops the server. Prints every run and the median.
"""

from __future__ import annotations

import argparse
import http.client
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def first_200(port: int, deadline: float) -> float:
    while time.perf_counter() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/v1/connectors", headers={"Authorization": "Bearer bench"})
            if connection.getresponse().status == 200:
                return time.perf_counter()
        except OSError:
            time.sleep(0.002)
    raise TimeoutError("no 200 before the deadline")


def one_run(command: list[str]) -> float:
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen([*command, "serve", "--port", str(port)], stdout=subprocess.DEVNULL)
    try:
        return first_200(port, started + 30) - started
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    script = shutil.which("connectors-mock") or str(Path(sys.executable).parent / "connectors-mock")
    command = [script]
    one_run(command)  # warm the file system cache, as a developer's second start would be
    times = [one_run(command) for _ in range(args.runs)]
    for index, seconds in enumerate(times, 1):
        print(f"run {index}: {seconds * 1000:.0f} ms")
    median_ms = statistics.median(times) * 1000
    print(f"median of {args.runs}: {median_ms:.0f} ms (launch of `connectors-mock serve` to first 200)")


if __name__ == "__main__":
    main()
