"""Who watches the fake through `/_mock/events` (the dashboard), and how they learn of a change.

Nothing here is on an API request's path. A viewer finds the API's requests in the journal,
which it reads when it wakes; what is changed through `/_mock` (the clock advanced, a scenario
activated, a reset) pokes every viewer awake at once. Nothing is queued for a viewer: each
time it wakes it reads what is new since it last looked, so a slow one cannot make anything
pile up, and the number of viewers is bounded.
"""

from __future__ import annotations

import asyncio

# Enough for a team's dashboards; each one costs a little at every wake (`events.TICK_SECONDS`).
MAX_VIEWERS = 16


class Viewer:
    """One open stream: set `wake` to have it look now."""

    __slots__ = ("poked", "wake")

    def __init__(self) -> None:
        self.wake = asyncio.Event()
        # A change made through `/_mock`: send everything again, not only what the journal says.
        self.poked = False


class Viewers:
    def __init__(self, limit: int = MAX_VIEWERS) -> None:
        self.limit = limit
        self._viewers: set[Viewer] = set()

    def __len__(self) -> int:
        return len(self._viewers)

    def join(self) -> Viewer | None:
        """A new viewer, or None when `limit` are watching already."""
        if len(self._viewers) >= self.limit:
            return None
        viewer = Viewer()
        self._viewers.add(viewer)
        return viewer

    def leave(self, viewer: Viewer) -> None:
        self._viewers.discard(viewer)

    def poke(self) -> None:
        """Something changed through `/_mock`: every viewer looks again."""
        for viewer in self._viewers:
            viewer.poked = True
            viewer.wake.set()
