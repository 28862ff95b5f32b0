"""Time from launching `connectors-mock serve` to its first 200, median of N runs.

    python benchmarks/startup.py [--runs 5]

Each run starts the console script next to this Python on a free port, polls
`GET /v1/connectors` every 2 ms until it answers 200, then stops the server. Prints every run
and the median.
"""

from __future__ import annotations

import argparse
import statistics
import sys

from servers import Server, console_script, free_port, run_interruptibly


def one_run(script: str) -> float:
    port = free_port()
    with Server([script, "serve", "--port", str(port)], port=port) as server:
        return server.wait_first_200("/v1/connectors", key="bench", timeout=30).seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    script = console_script()
    one_run(script)  # warm the file system cache, as a developer's second start would be
    times = [one_run(script) for _ in range(args.runs)]
    for index, seconds in enumerate(times, 1):
        print(f"run {index}: {seconds * 1000:.0f} ms")
    median_ms = statistics.median(times) * 1000
    print(f"median of {args.runs}: {median_ms:.0f} ms (launch of `connectors-mock serve` to first 200)")


if __name__ == "__main__":
    sys.exit(run_interruptibly(main))
