"""`serve --watch`: the fixture file and the scenario files named on the command line are read
again when they change on disk, and take effect while the server runs.

A thread waits on watchfiles (which uvicorn brings) for changes in the files' directories, as
editors often save by writing a new file and renaming it over the old. It reads and checks a
changed file there, off the event loop, and hands what it read to the loop to apply. A file
that fails its checks changes nothing: the last good version keeps running, and the problems
are printed as `check-scenario` prints them. Every reload, and every refusal, is journaled.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import watchfiles

from connectors_mock.clock import VirtualClock
from connectors_mock.connectors import SeedData
from connectors_mock.fixtures import FixtureError, load_seed_data
from connectors_mock.journal import Journal, JournalEvent
from connectors_mock.scenarios.engine import ScenarioLibrary
from connectors_mock.scenarios.loader import ScenarioError, load_file
from connectors_mock.scenarios.model import Scenario
from connectors_mock.spec import Spec
from connectors_mock.state import Backend

logger = logging.getLogger("connectors_mock")
# Changes closer together than this are one reload: an editor's save is often several writes.
DEBOUNCE_MS = 200


@dataclass
class Watched:
    """What `serve` was started with: the files to follow, and the names their scenarios had."""

    fixtures: Path | None
    scenarios: dict[Path, str]


class FileWatcher:
    def __init__(
        self,
        watched: Watched,
        *,
        spec: Spec,
        seed: int | None,
        clock: VirtualClock,
        backend: Backend,
        library: ScenarioLibrary,
        journal: Journal,
    ) -> None:
        self.watched = watched
        self.spec, self.seed, self.clock = spec, seed, clock
        self.backend, self.library, self.journal = backend, library, journal
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # The files as they were read, for what changes before the watch has begun (`_watch`).
        self._read_as = {path: _contents_digest(path) for path in self.files()}

    def files(self) -> list[Path]:
        fixtures = [self.watched.fixtures] if self.watched.fixtures else []
        return [path.resolve() for path in [*fixtures, *self.watched.scenarios]]

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._watch, name="connectors-mock-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _watch(self) -> None:
        files = set(self.files())
        directories = sorted({path.parent for path in files})
        caught_up = False
        for changes in watchfiles.watch(
            *directories,
            stop_event=self._stop,
            recursive=False,
            debounce=DEBOUNCE_MS,
            raise_interrupt=False,
            # Also an empty set when nothing changed: the first says the watch has begun.
            yield_on_timeout=True,
            rust_timeout=DEBOUNCE_MS,
        ):
            changed = {Path(name).resolve() for _, name in changes} & files
            if not caught_up:
                # An edit saved between reading the files and the watch beginning (the moment
                # after start-up) made no event: it shows as contents that differ.
                changed |= {path for path, digest in self._read_as.items() if _contents_digest(path) != digest}
                caught_up = True
            for path in sorted(changed):
                self.reload(path)

    def reload(self, path: Path) -> None:
        """Read `path` again (in this thread) and apply it on the event loop, or report why not."""
        if not path.exists():
            # Saved by renaming: the new file follows at once, with a change of its own.
            return
        if self.watched.fixtures is not None and path == self.watched.fixtures.resolve():
            try:
                seed_data = load_seed_data(path, self.spec, self.clock.now(), self.seed)
            except FixtureError as error:
                self._refused(path, str(error))
                return
            self._on_loop(lambda: self._apply_fixtures(path, seed_data))
            return
        try:
            scenario = load_file(path, self.spec)
        except ScenarioError as error:
            self._refused(path, str(error))
            return
        self._on_loop(lambda: self._apply_scenario(path, scenario))

    def _on_loop(self, apply: Callable[[], None]) -> None:
        if self._loop is None:
            apply()
        else:
            self._loop.call_soon_threadsafe(apply)

    def _apply_fixtures(self, path: Path, seed_data: SeedData) -> None:
        kept = self.backend.replace_fixtures(seed_data)
        detail = f"fixtures from {path}: every key that has changed nothing starts from them"
        if kept:
            detail += f"; {kept} that have keep what they hold"
        self._journal("file_reloaded", detail)

    def _apply_scenario(self, path: Path, scenario: Scenario) -> None:
        key = next(watched for watched in self.watched.scenarios if watched.resolve() == path)
        self.library.replace(self.watched.scenarios[key], scenario)
        self.watched.scenarios[key] = scenario.name
        self._journal("file_reloaded", f"scenario {scenario.name} from {path}: active, its counters restarted")

    def _refused(self, path: Path, problems: str) -> None:
        logger.warning("%s not reloaded; the last good version stays\n%s", path, problems)
        first = problems.splitlines()[0] if problems else str(path)
        self._on_loop(lambda: self._journal("reload_refused", first))

    def _journal(self, event: str, detail: str) -> None:
        self.journal.record(JournalEvent(self.clock.now(), event, None, detail))


def _contents_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
