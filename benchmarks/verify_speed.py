"""How long `connectors-mock verify` takes against the fake, this tree against a base commit,
run interleaved so both see the same machine.

    python benchmarks/verify_speed.py [--base e22d3a4] [--runs 3] [--workers 2] [--verify-args '...']

The base commit is checked out with `git worktree add --detach` into a temporary folder
(removed at the end); each variant runs `python -m connectors_mock verify` with this Python,
its own `src/` first on PYTHONPATH (so the tree is measured, not whatever is installed), from
an empty temporary directory. Variants: the base's default verify, this tree's default verify,
and this tree's with `--workers N` for each N given. Each round runs every variant once, in that
order. Prints every run's wall-clock seconds and the CPU seconds of its process tree, the
medians, and each variant's speed-up over the base. `--verify-args` adds arguments to every
variant's verify (the test of this script runs a few tests only: `--max-examples 1 -- -k oauth`).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from servers import run_interruptibly

REPO = Path(__file__).resolve().parent.parent
SUMMARY = re.compile(r"=+ (.*(?:passed|failed|error).*) in [0-9.]+s")


@dataclass
class Variant:
    name: str
    src: Path
    args: list[str]
    environment: dict[str, str] = field(default_factory=dict)
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(variant: Variant, cwd: Path) -> str:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CONNECTORS_")}
    environment["PYTHONPATH"] = os.pathsep.join([str(variant.src), *filter(None, [os.environ.get("PYTHONPATH")])])
    environment.update(variant.environment)
    command = [sys.executable, "-m", "connectors_mock", "verify", *variant.args]
    cpu, started = children_cpu(), time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, check=False)
    variant.wall.append(time.perf_counter() - started)
    variant.cpu.append(children_cpu() - cpu)
    if done.returncode != 0:
        sys.exit(f"{variant.name} failed (exit {done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    found = SUMMARY.search(done.stdout)
    return found.group(1) if found else "?"


def stub_missing_plugins(src: Path) -> None:
    """The installed distribution's pytest plugins that the base tree does not have, as empty
    modules: pytest loads every `pytest11` entry point, and the base's verify lets it."""
    for entry in metadata.distribution("connectors-mock").entry_points:
        if entry.group != "pytest11":
            continue
        module = src.joinpath(*entry.value.split(":")[0].split(".")).with_suffix(".py")
        if not module.exists() and not module.with_suffix("").is_dir():
            module.write_text('"""A stand-in written by benchmarks/verify_speed.py."""\n')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="e22d3a4", help="the commit to compare with (default: %(default)s)")
    parser.add_argument("--runs", type=int, default=3, help="rounds (default: %(default)s)")
    parser.add_argument("--workers", type=int, action="append", default=[], help="also this tree with --workers N")
    parser.add_argument("--verify-args", default="", help="more arguments for every variant's verify")
    args = parser.parse_args()
    more = shlex.split(args.verify_args)
    with tempfile.TemporaryDirectory(prefix="verify-speed-") as scratch:
        worktree = Path(scratch) / "base"
        git = ["git", "-C", str(REPO), "worktree"]
        subprocess.run([*git, "add", "--detach", "--quiet", str(worktree), args.base], check=True)
        try:
            stub_missing_plugins(worktree / "src")
            variants = [
                # The base keeps hypothesis's caches in /tmp/connectors-mock-hypothesis unless
                # told otherwise: here, in the scratch folder removed at the end.
                Variant(
                    f"base {args.base}",
                    worktree / "src",
                    more,
                    {"HYPOTHESIS_STORAGE_DIRECTORY": str(Path(scratch) / "base-hypothesis")},
                ),
                Variant("this tree", REPO / "src", more),
                *(
                    Variant(f"this tree --workers {n}", REPO / "src", ["--workers", str(n), *more])
                    for n in args.workers
                ),
            ]
            for round_number in range(1, args.runs + 1):
                for variant in variants:
                    with tempfile.TemporaryDirectory(prefix="verify-speed-cwd-") as cwd:
                        outcome = run(variant, Path(cwd))
                    print(
                        f"round {round_number}  {variant.name:<24} {variant.wall[-1]:6.1f} s wall "
                        f"{variant.cpu[-1]:6.1f} s CPU  ({outcome})",
                        flush=True,
                    )
        finally:
            subprocess.run([*git, "remove", "--force", str(worktree)], check=False)
            # And forget it if its folder went first (a run stopped half-way).
            subprocess.run([*git, "prune"], check=False)
    base = statistics.median(variants[0].wall)
    print(f"\nmedian of {args.runs} runs each (`connectors-mock verify`, the fake in-process, from an empty folder):")
    for variant in variants:
        wall = statistics.median(variant.wall)
        print(
            f"  {variant.name:<24} {wall:6.1f} s wall {statistics.median(variant.cpu):6.1f} s CPU"
            f"  {base / wall:4.2f}x the base's speed"
        )


if __name__ == "__main__":
    sys.exit(run_interruptibly(main))
