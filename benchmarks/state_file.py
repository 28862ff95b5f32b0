"""What `serve --state-file` costs the event loop: the time a save holds it, and the time its
write takes in another thread, for a state of 10,000 connectors.

    python benchmarks/state_file.py [--connectors 10000] [--tenants 1] [--repeats 5]

Builds the app in-process, fills `--tenants` tenants with `--connectors` connectors between
them (each rendered once, as answering its create does), then times, median of `--repeats`:
- **on the loop**: `export_fragments`, what the keeper takes between two requests;
- **in a thread**: `orjson.dumps` of it and `write_atomically` (fsync included) to a file in a
  temporary directory;
- for comparison, `export_state`, the same state as dicts (what `GET /_mock/state` answers).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from connectors_mock.app import Settings, build_app
from connectors_mock.persistence import write_atomically
from connectors_mock.snapshot import export_fragments, export_state


def median_ms(action: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connectors", type=int, default=10_000)
    parser.add_argument("--tenants", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    backend = build_app(Settings(seed=1)).state.backend
    clock = backend.shared.clock
    for number in range(args.connectors):
        tenant = backend.tenant(f"key-{number % args.tenants}")
        made = tenant.create_connector(
            name=f"Connector {number}",
            connector_type="s3",
            collection="col_abc123",
            config={"bucket": "bench-bucket", "region": "us-east-1", "prefix": f"/p/{number}/"},
            credentials={"accessKeyId": "AKIA...", "secretAccessKey": "..."},
        )
        made.rendered()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "state.json"
        document = export_fragments(backend, clock.now())
        loop_ms = median_ms(lambda: export_fragments(backend, clock.now()), args.repeats)
        thread_ms = median_ms(lambda: write_atomically(path, orjson.dumps(document)), args.repeats)
        size = path.stat().st_size
    dicts_ms = median_ms(lambda: export_state(backend, clock.now()), args.repeats)
    print(f"{args.connectors:,} connectors in {args.tenants:,} tenant(s); a file of {size / 1e6:.1f} MB")
    print("| a save | ms (median) |")
    print("| --- | ---: |")
    print(f"| on the event loop: `export_fragments` | {loop_ms:.1f} |")
    print(f"| in a thread: `orjson.dumps` and `write_atomically` (fsync) | {thread_ms:.1f} |")
    print(f"| for comparison, on the loop: `export_state` (dicts, as `GET /_mock/state`) | {dicts_ms:.1f} |")


if __name__ == "__main__":
    main()
