"""The state on disk (`serve --state-file`): read at start-up, written within a second of a
change and when the server stops, always whole.

A write goes to a temporary file beside the state file, is flushed to the disk, and replaces
it by `os.replace` (then the directory is flushed too), so a `kill -9` at any moment leaves
either the previous file or the new one, complete. The file is what `GET /_mock/state`
exports, so it can be read, diffed, edited and imported by hand as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from connectors_mock.clock import VirtualClock
from connectors_mock.errors import ApiError
from connectors_mock.snapshot import READABLE_VERSIONS, Snapshot, export_fragments, read_snapshot
from connectors_mock.spec import Spec
from connectors_mock.state import Backend

logger = logging.getLogger("connectors_mock")

# How often the keeper looks for changes: a change is on disk within about this long.
SAVE_INTERVAL_SECONDS = 0.5
# Bigger files are refused at start-up rather than read into memory whole.
MAX_STATE_FILE_BYTES = 512 * 1024 * 1024


class StateFileError(Exception):
    """The state file cannot be used; the message says which file and why."""


def read_state_file(path: Path, spec: Spec) -> Snapshot | None:
    """The snapshot in `path`, None if there is no such file yet, or `StateFileError`."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    except OSError as error:
        raise StateFileError(f"{path}: cannot be read: {error.strerror}") from None
    if size > MAX_STATE_FILE_BYTES:
        raise StateFileError(f"{path}: {size:,} bytes, more than the {MAX_STATE_FILE_BYTES:,} a state file may hold")
    try:
        document: Any = orjson.loads(path.read_bytes())
    except OSError as error:
        raise StateFileError(f"{path}: cannot be read: {error.strerror}") from None
    except orjson.JSONDecodeError as error:
        raise StateFileError(f"{path}: not JSON: {error}") from None
    version = document.get("version") if isinstance(document, dict) else None
    if version not in READABLE_VERSIONS:
        readable = " or ".join(map(str, READABLE_VERSIONS))
        raise StateFileError(
            f"{path}: format version {version!r}, not one this connectors-mock reads ({readable}); it is left as it is"
        )
    try:
        return read_snapshot(document, spec)
    except ApiError as refused:
        problems = "; ".join(f"{error.path}: {error.message}" for error in refused.field_errors[:10])
        raise StateFileError(f"{path}: not a state this connectors-mock can load: {problems}") from None


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data`, so that at every moment it is the old file or the new one."""
    directory = path.parent
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    # The rename itself reaches the disk only when the directory does.
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def restore_clock(clock: VirtualClock, saved: datetime | None) -> None:
    """Move the clock to where the saved state left it, if it is behind: the clock never goes
    back, so a job that was running goes on from where it was."""
    if saved is not None and saved > clock.now():
        clock.advance((saved - clock.now()).total_seconds())


@dataclass
class SaveOutcome:
    saved_at: datetime | None = None
    error: str | None = None


class StateKeeper:
    """Writes the backend's state to `path` whenever it has changed (its generation, or a
    manual clock's time), at most every `SAVE_INTERVAL_SECONDS`, and once more at the end."""

    def __init__(self, path: Path, backend: Backend, clock: VirtualClock) -> None:
        self.path = path
        self.backend = backend
        self.clock = clock
        self.last = SaveOutcome()
        self._saved: tuple[int, datetime | None] | None = None
        self._task: asyncio.Task[None] | None = None

    def _signature(self) -> tuple[int, datetime | None]:
        # A real clock moves on its own; only a manual one's moves are worth a write.
        return self.backend.generation, self.clock.now() if self.clock.mode == "manual" else None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop looking, and write what changed since the last write."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.save_if_changed()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(SAVE_INTERVAL_SECONDS)
            await self.save_if_changed()

    async def save_if_changed(self) -> None:
        signature = self._signature()
        if signature == self._saved:
            return
        # Taken on the loop, between requests, so it is one moment's state; written elsewhere.
        document = export_fragments(self.backend, self.clock.now())
        try:
            await asyncio.to_thread(self._write, document)
        except OSError as error:
            self.last = SaveOutcome(self.last.saved_at, f"{self.path}: cannot be written: {error.strerror}")
            logger.error("state not saved: %s", self.last.error)
            return
        self._saved = signature
        self.last = SaveOutcome(self.clock.now())

    def _write(self, document: dict[str, Any]) -> None:
        write_atomically(self.path, orjson.dumps(document))
