"""The container image, built and tried as a front-end team would use it (run by `.ci/run`):

    .venv/bin/python tests/container/check_image.py

Builds the stand-in base (kept between runs) and the image from the Dockerfile, starts it on
a volume, waits until its health check passes, replays part of the README's tour against it
(list, create, read, a sync to its end on the manual clock, the consent page's address under
`--public-url`), checks that it runs as a user other than root, stops it with SIGTERM (exit 0
within 2 seconds), and starts it again on the same volume with the state kept. Prints each
step; exits 0 when all hold, 1 when one does not, and 0 with the reason when podman cannot run
here (not root, no apt-get).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

# Run as a script from anywhere: the checkout's root is where `tests` is found.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.container.podman import IMAGE, ROOT, Unavailable, build, ensure_base, install_tools, podman

KEY = {"Authorization": "Bearer container-check"}
S3 = {
    "name": "Document Storage",
    "type": "s3",
    "collection": "col_abc123",
    "config": {"bucket": "my-documents", "region": "us-east-1"},
    "credentials": {"accessKeyId": "AKIA...", "secretAccessKey": "..."},
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def call(method: str, url: str, body: object = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data, {**KEY, "Content-Type": "application/json"}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            raw = answer.read()
            return answer.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def start(name: str, port: int, volume: str) -> str:
    podman(
        *("run", "-d", "--name", name, "-e", f"CONNECTORS_MOCK_PORT={port}", "-v", f"{volume}:/data", IMAGE),
        *("serve", "--seed", "1", "--state-file", "/data/state.json", "--public-url", f"http://localhost:{port}"),
    )
    return wait_healthy(name, port)


def wait_healthy(name: str, port: int) -> str:
    deadline = time.monotonic() + 30
    while podman("healthcheck", "run", name, check=False).returncode != 0:
        if time.monotonic() > deadline:
            raise AssertionError(f"not healthy in 30 s: {podman('logs', name, check=False).stderr}")
        time.sleep(0.2)
    return f"http://127.0.0.1:{port}"


def stop(name: str) -> float:
    """SIGTERM; how long the container took to exit, having checked it exited 0."""
    started = time.monotonic()
    podman("kill", "--signal", "TERM", name)
    status = podman("wait", name).stdout.strip()
    took = time.monotonic() - started
    assert status == "0", f"exit status {status}"
    return took


def step(what: str) -> None:
    print(f"ok: {what}", flush=True)


def check() -> None:
    print(f"base image: {ensure_base()}", flush=True)
    started = time.monotonic()
    build()
    step(f"image built in {time.monotonic() - started:.0f} s")
    volume = "connectors-mock-check"
    names = ["connectors-mock-check-1", "connectors-mock-check-2", "connectors-mock-check-compose"]
    for name in names:
        podman("rm", "-f", name, check=False)
    podman("volume", "rm", "-f", volume, check=False)
    podman("volume", "create", volume)
    try:
        port = free_port()
        url = start(names[0], port, volume)
        step("healthy (HEALTHCHECK: GET /_mock/health)")
        user = podman("exec", names[0], "id", "-u").stdout.strip()
        assert user != "0", "runs as root"
        step(f"runs as user {user}, not root")

        status, listed = call("GET", f"{url}/v1/connectors")
        assert status == 200
        assert [c["id"] for c in listed["data"]][:2] == ["conn_abc123", "conn_mktassets01"]
        status, created = call("POST", f"{url}/v1/connectors", S3)
        assert status == 201, created
        connector = created["data"]["id"]
        assert call("GET", f"{url}/v1/connectors/{connector}")[1]["data"]["name"] == "Document Storage"
        job = call("POST", f"{url}/v1/connectors/{connector}/sync")[1]["data"]
        assert job["status"] == "queued"
        assert call("POST", f"{url}/_mock/clock/advance", {"seconds": 60})[0] == 200
        done = call("GET", f"{url}/v1/connectors/{connector}/sync/{job['jobId']}")[1]["data"]
        assert done["status"] == "completed", done
        step("the tour: list, create, get, a sync to its end on the manual clock")
        authorized = call("GET", f"{url}/v1/connectors/oauth/notion/authorize?collection=col_abc123")[1]["data"]
        assert authorized["authUrl"].startswith(f"http://localhost:{port}/_mock/oauth/notion/consent?"), authorized
        step(f"authUrl under --public-url: {authorized['authUrl'].split('?')[0]}")

        collected = podman("run", "--rm", IMAGE, "verify", url, "--api-key", "k", "--", "--collect-only", "-q")
        assert "test_operation" in collected.stdout, collected.stdout
        step("`verify URL` runs the contract suite from the image (collected)")

        took = stop(names[0])
        assert took < 2, f"took {took:.1f} s to stop"
        step(f"SIGTERM: exit status 0 in {took:.2f} s")

        url = start(names[1], port, volume)
        assert call("GET", f"{url}/v1/connectors/{connector}")[1]["data"]["name"] == "Document Storage"
        job_now = call("GET", f"{url}/v1/connectors/{connector}/sync/{job['jobId']}")[1]["data"]
        assert job_now["status"] == "completed"
        step("restarted on the same volume: the connector and its job are there")
        stop(names[1])

        url = start_as_composed(names[2], port, volume)
        listed = [s["name"] for s in call("GET", f"{url}/_mock/scenarios")[1]["data"]]
        assert listed == ["slow-sync"], listed
        authorized = call("GET", f"{url}/v1/connectors/oauth/notion/authorize?collection=col_abc123")[1]["data"]
        assert authorized["authUrl"].startswith("http://localhost:8080/_mock/oauth/notion/consent?")
        step("compose.yaml's service: its scenario mounted from the host, its public URL, its state volume")
        stop(names[2])
    finally:
        for name in names:
            podman("rm", "-f", name, check=False)
        podman("volume", "rm", "-f", volume, check=False)


def start_as_composed(name: str, port: int, volume: str) -> str:
    """compose.yaml's API service, as compose would run it (on a free port instead of 8080)."""
    service = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]["connectors-api"]
    environment = [f"--env={key}={value}" for key, value in service["environment"].items()]
    mounts = []
    for mount in service["volumes"]:
        source, target = mount.split(":", 2)[:2]
        source = str((ROOT / source).resolve()) if source.startswith(".") else volume
        mounts.append(f"--volume={source}:{target}:ro" if mount.endswith(":ro") else f"--volume={source}:{target}")
    podman("run", "-d", "--name", name, *environment, f"--env=CONNECTORS_MOCK_PORT={port}", *mounts, IMAGE)
    return wait_healthy(name, port)


def main() -> int:
    try:
        install_tools()
    except Unavailable as reason:
        print(f"skipped: {reason}")
        return 0
    try:
        check()
    except AssertionError as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as failure:
        print(f"FAILED: {' '.join(failure.cmd)}\n{failure.stderr}", file=sys.stderr)
        return 1
    print("the image works")
    return 0


if __name__ == "__main__":
    sys.exit(main())
