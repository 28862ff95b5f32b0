"""The benchmark scripts still work: capacity.py run as a person runs it, on a tiny fleet (its
numbers are printed, never judged here), and the parts of servers.py, compare.py and
dashboard_cost.py that read /proc and wrk's output or watch a fake. compare.py and
dashboard_cost.py themselves are not run: they need wrk (and compare.py npm)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from connectors_mock.app import Settings, build_app
from connectors_mock.server import serving
from connectors_mock.spec import Spec

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"

# /proc/PID/status of a Python process, shortened.
PROC_STATUS = """\
Name:\tpython
State:\tS (sleeping)
Pid:\t4242
VmPeak:\t  312456 kB
VmSize:\t  312400 kB
VmHWM:\t   74612 kB
VmRSS:\t   51200 kB
RssAnon:\t   40000 kB
Threads:\t4
"""

# `wrk --threads 1 --connections 2 --duration 1s --latency` against a server answering 404.
WRK_OUTPUT = """\
Running 1s test @ http://127.0.0.1:48123/missing
  1 threads and 2 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.29ms    1.90ms  18.31ms   89.75%
    Req/Sec     0.91k   130.21     1.15k    70.00%
  Latency Distribution
     50%    1.77ms
     75%    2.70ms
     90%    4.19ms
     99%   11.67ms
  910 requests in 1.01s, 462.11KB read
  Non-2xx or 3xx responses: 910
Requests/sec:    904.31
Transfer/sec:    459.22KB
"""


@pytest.fixture
def benchmarks_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    """`benchmarks/` on sys.path, as `python benchmarks/x.py` has it."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))


def test_capacity_runs_its_served_sections_end_to_end() -> None:
    command = [
        *(sys.executable, str(BENCHMARKS / "capacity.py"), "--only", "memory,jobs,list"),
        *("--connectors", "20", "--jobs", "20", "--list-requests", "2", "--threads", "2"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert out.startswith("# connectors-mock ")
    assert "sections: memory, jobs, list\n" in out
    assert "## Memory against stored connectors (`connectors-mock serve --seed 1`, VmRSS, key A up to 20)" in out
    assert "## Memory with 20 sync jobs (key A's 20 connectors, one job each per round)" in out
    assert "## listConnectors latency at 20 connectors (key A, connectors each synced in the jobs section)" in out
    number = r"-?[0-9.,]+"  # a slope may be negative
    # One row per table: 20 connectors created, 20 jobs held, and the 20 listed with key A's 8 fixtures.
    assert re.search(rf"^\| 20 \| {number} \| {number} \| {number} \| {number} \|$", out, re.MULTILINE)
    assert re.search(r"Connectors alone: 20 more connectors under key B.* KB per connector\*\*", out)
    assert re.search(rf"^\| 20 \| {number} \| {number} \| {number} \|$", out, re.MULTILINE)
    assert re.search(rf"^\| 28 \| {number} \| {number} \| {number} \| {number} \| {number} \|$", out, re.MULTILINE)


def test_startup_prints_every_run_and_the_median() -> None:
    command = [sys.executable, str(BENCHMARKS / "startup.py"), "--runs", "1"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.fullmatch(
        r"run 1: \d+ ms\nmedian of 1: \d+ ms \(launch of `connectors-mock serve` to first 200\)\n", done.stdout
    )


@pytest.mark.usefixtures("benchmarks_importable")
def test_a_status_field_is_read_in_kib() -> None:
    import servers  # noqa: PLC0415

    assert servers.status_field_kib(PROC_STATUS, "VmRSS") == 51200
    assert servers.status_field_kib(PROC_STATUS, "VmHWM") == 74612
    assert servers.status_field_kib(PROC_STATUS, "VmSwap") is None  # a zombie has no Vm fields
    assert servers.status_field_kib(PROC_STATUS, "Threads") is None  # not a kB field
    assert servers.status_kib(os.getpid(), "VmRSS") > 0


@pytest.mark.usefixtures("benchmarks_importable")
def test_stop_ends_the_process_and_what_it_left_behind() -> None:
    import servers  # noqa: PLC0415

    # A shell that starts a child and waits for it: SIGTERM ends the shell, not its child.
    process = subprocess.Popen(["sh", "-c", "sleep 60 & wait"], start_new_session=True)
    try:
        for _ in range(500):
            tree = servers.process_tree(process.pid)
            if len(tree) == 2:
                break
            time.sleep(0.01)
        assert len(tree) == 2, tree
        servers.stop(process, timeout=5)
        assert process.returncode is not None
        assert not servers.alive(tree[1])
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.usefixtures("benchmarks_importable")
def test_wrk_output_is_read() -> None:
    import compare  # noqa: PLC0415

    loaded = compare.parse_wrk(WRK_OUTPUT, 404)
    assert loaded == compare.LoadResult(
        requests_per_second=904.31,
        p50_ms=1.77,
        p99_ms=11.67,
        requests=910,
        non_2xx=910,
        socket_errors={},
        smoke_status=404,
    )
    other_units = WRK_OUTPUT.replace("1.77ms", "850.00us").replace("11.67ms", "1.20s")
    other_units = other_units.replace("  Non-2xx", "  Socket errors: connect 0, read 3, write 0, timeout 12\n  Non-2xx")
    loaded = compare.parse_wrk(other_units, 200)
    assert loaded.p50_ms == pytest.approx(0.85)
    assert loaded.p99_ms == pytest.approx(1200)
    assert loaded.socket_errors == {"connect": 0, "read": 3, "write": 0, "timeout": 12}
    with pytest.raises(RuntimeError, match="could not read wrk's output"):
        compare.parse_wrk("unable to connect to 127.0.0.1:1 Connection refused\n", 0)


@pytest.mark.usefixtures("benchmarks_importable")
def test_dashboards_watch_a_fake_and_let_go_of_it(spec: Spec) -> None:
    """dashboard_cost.py's dashboards: attached once each has its first events, counting what
    they are sent, and gone from the fake when the block ends."""
    import servers  # noqa: PLC0415

    app = build_app(Settings(seed=1), spec)
    with serving(app) as running:
        port = int(running.url.rsplit(":", 1)[1])
        with servers.Dashboards(port, 2) as dashboards:
            assert len(app.state.viewers) == 2
            servers.call(port, "GET", "/v1/connectors", key="watched")
        assert dashboards.events >= 10  # the first picture: 5 events each
        assert dashboards.ended == 0
        deadline = time.monotonic() + 10
        while len(app.state.viewers) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(app.state.viewers) == 0


@pytest.mark.usefixtures("benchmarks_importable")
def test_the_cpu_time_of_a_process_is_read() -> None:
    import dashboard_cost  # noqa: PLC0415

    spent = dashboard_cost.cpu_seconds(os.getpid())
    sum(range(3_000_000))
    assert dashboard_cost.cpu_seconds(os.getpid()) >= spent > 0
    assert dashboard_cost.tenant_label("my-key") == "key_5e78863ed1ff"


@pytest.mark.skipif(not (BENCHMARKS.parent / ".git").exists(), reason="needs this checkout's git history")
def test_verify_speed_runs_the_base_and_this_tree_side_by_side() -> None:
    # A few tests only: the script's numbers come from a full run, by hand.
    command = [
        *(sys.executable, str(BENCHMARKS / "verify_speed.py"), "--runs", "1", "--workers", "2"),
        *("--verify-args", "--max-examples 1 -- -k oauth"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for variant in ("base e22d3a4", "this tree", "this tree --workers 2"):
        assert re.search(rf"^round 1  {re.escape(variant)} +[0-9.]+ s wall +[0-9.]+ s CPU  \(\d+ passed", out, re.M)
        assert re.search(rf"^  {re.escape(variant)} +[0-9.]+ s wall .* the base's speed$", out, re.M)
    git = ["git", "-C", str(BENCHMARKS.parent), "worktree", "list"]
    worktrees = subprocess.run(git, capture_output=True, text=True, check=True)
    assert "verify-speed-" not in worktrees.stdout


def test_proxy_cost_runs_as_a_person_runs_it() -> None:
    command = [sys.executable, str(BENCHMARKS / "proxy_cost.py"), "--requests", "20", "--rounds", "1", "--rate", "200"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert re.search(r"the proxy adds -?\d+\.\d+ ms at p50", done.stdout), done.stdout
    assert "violations: 0" in done.stdout
