"""The container image: how big it is, and how long from `podman run` to the first 200.

    python benchmarks/container.py [--runs 5]

Builds the image as `tests/container/check_image.py` does (the stand-in base from Debian's
packages, kept between runs; podman with vfs), then starts it `--runs` times and times each
launch from `podman run` to the first `200` of `GET /v1/connectors/conn_abc123`, polled every
10 ms, apart from the time podman takes to create the container (with the vfs storage driver
used here, a full copy of the image). Prints the sizes and the medians.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import time
from pathlib import Path

from servers import call

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.container.podman import BASE_IMAGE, IMAGE, build, ensure_base, install_tools, podman


def size_mb(image: str) -> float:
    return int(podman("image", "inspect", image, "--format", "{{.Size}}").stdout.strip()) / 1e6


def first_200(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if call(port, "GET", "/v1/connectors/conn_abc123", key="bench")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.01)
    raise SystemExit(f"no 200 within {timeout} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    install_tools()
    ensure_base()
    build()
    created, served = [], []
    for run in range(args.runs):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        name = f"connectors-mock-bench-{run}"
        started = time.monotonic()
        # `run` is `create` and `start`: with vfs, `create` copies the whole image, which
        # overlay storage (what Docker and most podman installs use) does not.
        podman("create", "--name", name, "-e", f"CONNECTORS_MOCK_PORT={port}", IMAGE)
        created.append((time.monotonic() - started) * 1000)
        try:
            started = time.monotonic()
            podman("start", name)
            first_200(port)
            served.append((time.monotonic() - started) * 1000)
        finally:
            podman("rm", "-f", name, check=False)
    print("| image | |")
    print("| --- | ---: |")
    print(f"| stand-in base (Debian bookworm: python3, python3-venv, ca-certificates) | {size_mb(BASE_IMAGE):.0f} MB |")
    print(f"| connectors-mock on it | {size_mb(IMAGE):.0f} MB |")
    print(f"| what connectors-mock adds | {size_mb(IMAGE) - size_mb(BASE_IMAGE):.0f} MB |")
    print(f"| from `podman start` to the first 200 (median of {args.runs}) | {statistics.median(served):,.0f} ms |")
    print(f"| `podman create`, vfs copying the image (median of {args.runs}) | {statistics.median(created):,.0f} ms |")


if __name__ == "__main__":
    main()
