"""Launching and measuring local servers for the benchmarks.

What compare.py, capacity.py and startup.py share: a free port, the `connectors-mock` console
script, a server launched with the environment an installed fake would have and stopped by pid
together with whatever it started, its first 200 or its "listening" line, its memory read from
/proc/PID/status, the few HTTP calls that set up state, dashboards watching a fake
(`Dashboards`), and a clean stop on Ctrl-C or SIGTERM.

The scripts import it as `servers`: `python benchmarks/x.py` puts this directory on sys.path.
Linux only (process trees and memory come from /proc).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, NamedTuple

HOST = "127.0.0.1"
# The line `connectors-mock serve` prints once its socket is bound, with the port it got.
LISTENING = re.compile(rb"connectors-mock listening on http://[^\s:]+:(\d+)")
STOP_TIMEOUT = 10.0
# A guard against a server that hangs, not a measurement: the first read of a large tenant, or a
# list of 10,000 connectors under load, may take seconds.
REQUEST_TIMEOUT = 300.0


# --------------------------------------------------------------------------------------------
# Finding and launching


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def console_script() -> str:
    """The `connectors-mock` console script next to this Python (the virtual environment's), else
    the one on PATH."""
    beside = Path(sys.executable).parent / "connectors-mock"
    if beside.exists():
        return str(beside)
    return shutil.which("connectors-mock") or sys.exit(
        "connectors-mock is not installed next to this Python nor on PATH: `pip install -e .` first"
    )


def server_environment() -> dict[str, str]:
    """This environment, but letting Python write its bytecode cache, as it does wherever
    `PYTHONDONTWRITEBYTECODE` is not set: an installed wheel has its cache written by pip,
    and without one an editable install compiles every module at every start."""
    return {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


# --------------------------------------------------------------------------------------------
# Process trees, from /proc


def parent_pids() -> dict[int, int]:
    """Every process's parent, from /proc/*/stat."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name, in parentheses, may hold spaces: the fields after it are safe.
        fields = stat[stat.rfind(")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
    return parents


def process_tree(pid: int) -> list[int]:
    """The process and all its descendants."""
    children: dict[int, list[int]] = {}
    for child, parent in parent_pids().items():
        children.setdefault(parent, []).append(child)
    tree, stack = [], [pid]
    while stack:
        current = stack.pop()
        tree.append(current)
        stack.extend(children.get(current, []))
    return tree


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    with contextlib.suppress(OSError):
        return stat.read_text().split(") ")[-1][:1] != "Z"  # a zombie is gone, not yet reaped
    return False


def end_pid(pid: int, timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM, then SIGKILL after `timeout`, for a process this script is not the parent of."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def stop(process: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> None:
    """End a process this script started (SIGTERM, then SIGKILL after `timeout`), then any
    descendant it leaves behind, by pid."""
    descendants = process_tree(process.pid)[1:] if process.poll() is None else []
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for pid in descendants:
        if alive(pid):
            end_pid(pid, timeout)


# --------------------------------------------------------------------------------------------
# Memory, from /proc/PID/status


def status_field_kib(status: str, key: str) -> int | None:
    """A `kB` field (VmRSS, VmHWM, ...) of the text of a /proc/PID/status; None if it has none,
    as a zombie's has no VmRSS."""
    match = re.search(rf"^{re.escape(key)}:\s+(\d+) kB$", status, re.MULTILINE)
    return int(match.group(1)) if match else None


def status_kib(pid: int, key: str) -> int:
    """A `kB` field of a live process's /proc/PID/status; an error if the process is gone."""
    value = status_field_kib(Path(f"/proc/{pid}/status").read_text(), key)
    if value is None:
        raise RuntimeError(f"no {key} for process {pid}")
    return value


def tree_mib(pid: int, key: str) -> tuple[float, int]:
    """The sum of a status field over the process tree, in MiB (0 for a process gone meanwhile),
    and how many processes."""
    pids = process_tree(pid)
    total = 0
    for each in pids:
        with contextlib.suppress(OSError):
            total += status_field_kib(Path(f"/proc/{each}/status").read_text(), key) or 0
    return total / 1024, len(pids)


# --------------------------------------------------------------------------------------------
# A server


class First200(NamedTuple):
    seconds: float  # from launch to having the whole 200
    request_seconds: float  # the request that got it, from sending it to having its whole body


class Server:
    """One launch of a server on 127.0.0.1: started on entry, stopped by pid on exit (with any
    process it started) whatever happens. Its stderr goes to a temporary file, quoted when it
    fails and deleted at the end; its stdout too with `capture_stdout` (for `wait_listening`),
    else nowhere: Prism logs every request there, which would cost it time and fill a pipe
    nobody reads. It runs in a session of its own, so a Ctrl-C in the terminal reaches the
    script only, which stops the server on its way out."""

    def __init__(
        self,
        command: Sequence[str],
        *,
        port: int = 0,
        name: str | None = None,
        workdir: Path | None = None,
        capture_stdout: bool = False,
    ) -> None:
        self.command = list(command)
        self.port = port  # 0 until `wait_listening` reads it when the command asks for any port
        self.name = name or Path(self.command[0]).name
        self.workdir = workdir
        self.capture_stdout = capture_stdout
        self.process: subprocess.Popen[bytes] | None = None
        self.launched_at = 0.0  # time.perf_counter() just before the launch
        self.listening_seconds = 0.0  # from launch to the "listening" line, set by `wait_listening`
        self.logs: dict[str, Path] = {}

    def __enter__(self) -> Server:
        streams = ["stderr", "stdout"] if self.capture_stdout else ["stderr"]
        with contextlib.ExitStack() as files:
            opened = {
                stream: files.enter_context(
                    tempfile.NamedTemporaryFile(
                        prefix=f"{self.name}-", suffix=f".{stream}", dir=self.workdir, delete=False
                    )
                )
                for stream in streams
            }
            self.logs = {stream: Path(file.name) for stream, file in opened.items()}
            self.launched_at = time.perf_counter()
            self.process = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=opened.get("stdout", subprocess.DEVNULL),
                stderr=opened["stderr"],
                env=server_environment(),
                start_new_session=True,
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            stop(self.process)
        for path in self.logs.values():
            with contextlib.suppress(OSError):
                path.unlink()

    def running(self) -> subprocess.Popen[bytes]:
        assert self.process is not None, "use the server in a `with` block"
        return self.process

    @property
    def pid(self) -> int:
        return self.running().pid

    def rss_kib(self) -> int:
        return status_kib(self.pid, "VmRSS")

    def failure(self, reason: str) -> RuntimeError:
        try:
            tail = self.logs["stderr"].read_text(errors="replace")[-3000:]
        except (KeyError, OSError):
            tail = ""
        return RuntimeError(f"{self.name}: {reason}\ncommand: {' '.join(self.command)}\nstderr:\n{tail}")

    def wait_listening(self, timeout: float) -> int:
        """Wait for `connectors-mock serve`'s "listening" line (with `capture_stdout`): the port
        it bound, kept as `port`, and the seconds from launch to the line as `listening_seconds`."""
        process = self.running()
        while True:
            found = LISTENING.search(self.logs["stdout"].read_bytes())
            if found:
                self.listening_seconds = time.perf_counter() - self.launched_at
                self.port = int(found.group(1))
                return self.port
            if process.poll() is not None:
                raise self.failure(f"exited with status {process.returncode} before listening")
            if time.perf_counter() - self.launched_at > timeout:
                raise self.failure(f"did not listen within {timeout:.0f} s")
            time.sleep(0.002)

    def wait_first_200(self, path: str, *, key: str, timeout: float) -> First200:
        """Poll `GET path` (with `key`), a new connection every 2 ms, until it answers 200 or
        `timeout` seconds have passed since the launch."""
        process = self.running()
        deadline = self.launched_at + timeout
        last = "no answer"
        while (left := deadline - time.perf_counter()) > 0:
            if process.poll() is not None:
                raise self.failure(f"exited with status {process.returncode} before answering")
            # The time left bounds a request the server accepted but is slow to answer (the first
            # read of a large tenant is).
            with contextlib.closing(connect(self.port, timeout=left)) as connection:
                sent = time.perf_counter()
                try:
                    status, payload = send(connection, "GET", path, key=key)
                except (OSError, http.client.HTTPException) as error:
                    status, payload, last = 0, b"", f"{type(error).__name__}: {error}"
                answered = time.perf_counter()
            if status == 200:
                return First200(answered - self.launched_at, answered - sent)
            if status:
                last = f"{status} {payload[:300]!r}"
            time.sleep(0.002)
        raise self.failure(f"no 200 on GET {path} within {timeout:.0f} s (last: {last})")


# --------------------------------------------------------------------------------------------
# HTTP


def connect(port: int, timeout: float = REQUEST_TIMEOUT) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(HOST, port, timeout=timeout)


def send(
    connection: http.client.HTTPConnection, method: str, path: str, *, key: str | None = None, body: Any = None
) -> tuple[int, bytes]:
    """One request on `connection`, which stays open for the next: the status and the whole body.
    `key` goes in `Authorization: Bearer`; `body`, if any, is sent as JSON."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    connection.request(method, path, body=data, headers=headers)  # POST without a body: Content-Length: 0
    response = connection.getresponse()
    return response.status, response.read()


def call(port: int, method: str, path: str, *, key: str | None = None, body: Any = None) -> tuple[int, bytes]:
    """One request on a connection of its own."""
    with contextlib.closing(connect(port)) as connection:
        return send(connection, method, path, key=key, body=body)


def expect(answer: tuple[int, bytes], status: int, what: str) -> Any:
    """The answer's JSON `data` (None for an empty body or an error envelope), or an error naming
    what failed if its status is not `status`."""
    got, payload = answer
    if got != status:
        raise RuntimeError(f"{what}: expected {status}, got {got}: {payload[:500]!r}")
    return json.loads(payload).get("data") if payload else None


def s3_body(name: str) -> dict[str, Any]:
    """The reference's S3 create example, under another name."""
    return {
        "name": name,
        "type": "s3",
        "collection": "col_abc123",
        "config": {"bucket": "my-documents", "region": "us-east-1", "prefix": "/documents/"},
        "credentials": {"accessKeyId": "AKIA...", "secretAccessKey": "..."},
    }


# --------------------------------------------------------------------------------------------
# Dashboards


class Dashboards:
    """`count` dashboards watching a fake: each reads `/_mock/events` in a thread of its own, as
    fast as it comes, as a browser tab does. Use it in a `with` block; `events` and `received`
    count what they were sent, and `ended` how many streams the server closed."""

    def __init__(self, port: int, count: int, query: str = "") -> None:
        self.port = port
        self.count = count
        self.query = query
        self.events = 0
        self.received = 0
        self.ended = 0
        self._lock = threading.Lock()
        self._attached = threading.Semaphore(0)
        self._stopping = threading.Event()
        self._connections: list[http.client.HTTPConnection] = []
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> Dashboards:
        for _ in range(self.count):
            thread = threading.Thread(target=self._watch, daemon=True)
            thread.start()
            self._threads.append(thread)
        for _ in range(self.count):
            # Attached once each has had its first picture of the fake.
            if not self._attached.acquire(timeout=30):
                raise RuntimeError("a dashboard did not get its first events within 30 s")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        for connection in self._connections:
            with contextlib.suppress(OSError):
                if connection.sock is not None:
                    connection.sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(10)

    def _watch(self) -> None:
        connection = connect(self.port, timeout=60)
        self._connections.append(connection)
        connection.request("GET", f"/_mock/events{self.query}")
        response = connection.getresponse()
        if response.status != 200:
            raise RuntimeError(f"/_mock/events answered {response.status}: {response.read()[:300]!r}")
        attached = False
        try:
            while not self._stopping.is_set():
                chunk = response.read1(65536)
                if not chunk:
                    break
                with self._lock:
                    self.received += len(chunk)
                    self.events += chunk.count(b"\nevent: ") + chunk.startswith(b"event: ")
                if not attached and b"event: journal" in chunk:
                    attached = True
                    self._attached.release()
        except (OSError, http.client.HTTPException):
            pass  # the socket shut by __exit__, or by the server
        if not self._stopping.is_set():
            with self._lock:
                self.ended += 1


# --------------------------------------------------------------------------------------------
# Ctrl-C and SIGTERM


def run_interruptibly(main: Callable[[], int | None]) -> int:
    """Run a script's `main` so that Ctrl-C or SIGTERM stops it cleanly: either unwinds the main
    thread, so every `with` and `finally` on the way stops the servers and processes started so
    far and removes temporary files; then one line on stderr, and the shell's status for the
    signal (130 or 143). SIGINT gets Python's handler back in case whatever started the script
    ignored it (as a non-interactive shell does for `script &`). The exit status of `main` else."""
    received = [signal.SIGINT]

    def terminate(signum: int, frame: FrameType | None) -> None:
        received[0] = signal.Signals(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return main() or 0
    except KeyboardInterrupt:
        print("\ninterrupted: every process started here was stopped", file=sys.stderr)
        return 128 + received[0]
