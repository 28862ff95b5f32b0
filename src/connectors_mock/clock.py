"""The one clock everything time-dependent reads (jobs, timestamps, OAuth state expiry).

Virtual time, in one of two modes (the model is Stripe's test clocks):
- `real`: runs at wall time times `speed`, so a sync that takes 5 s takes 0.5 s at speed 10;
- `manual`: stands still until `advance` moves it, so a test decides every moment.
Both can be advanced, which is how a person skips ahead to an expired OAuth state.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

ClockMode = Literal["real", "manual"]
CLOCK_MODES: tuple[ClockMode, ...] = ("real", "manual")

# Where a seeded clock starts: a fixed instant, so seeded runs repeat.
MANUAL_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
# `advance` takes at most this much at once, and never past LATEST: far beyond any test, and
# short of datetime's year 9999 by more than anything adds to "now" (an OAuth state's 10 minutes).
MAX_ADVANCE_SECONDS = 100 * 365 * 24 * 3600
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
# Past this a day passes in under a second: nothing a person or a poll could follow.
MAX_SPEED = 100_000.0


class Clock(Protocol):
    def now(self) -> datetime: ...


class VirtualClock:
    def __init__(
        self,
        mode: ClockMode = "real",
        speed: float = 1.0,
        start: datetime | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < speed <= MAX_SPEED:
            raise ValueError(f"a clock's speed must be above 0 and at most {MAX_SPEED}, not {speed}")
        self.mode: ClockMode = mode
        self.speed = speed
        self._start = start or datetime.now(UTC)
        self._monotonic = monotonic
        self._began = monotonic()
        # A timedelta, not a float: steps of 0.1 s three times land where one of 0.3 s does.
        self._advanced = timedelta()
        self._moved()

    def _moved(self) -> None:
        # Worked out once per change, not per reading: `now` is called several times a request.
        self._origin = self._start + self._advanced
        # A fast real clock left running for weeks stops at LATEST rather than overflow.
        self._room = (LATEST - self._origin).total_seconds()

    def now(self) -> datetime:
        if self.mode != "real":
            return self._origin
        elapsed = (self._monotonic() - self._began) * self.speed
        return self._origin + timedelta(seconds=min(elapsed, self._room))

    def set_pace(self, mode: ClockMode, speed: float) -> None:
        """Change mode or speed from now on; time so far is kept, so nothing jumps."""
        if not 0 < speed <= MAX_SPEED:
            raise ValueError(f"a clock's speed must be above 0 and at most {MAX_SPEED}, not {speed}")
        self._start, self._advanced, self._began = self.now(), timedelta(), self._monotonic()
        self.mode, self.speed = mode, float(speed)
        self._moved()

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("is negative: a clock cannot go backwards")
        if seconds > MAX_ADVANCE_SECONDS:
            raise ValueError(f"is more than {MAX_ADVANCE_SECONDS} seconds (100 years) at once")
        step = timedelta(seconds=seconds)
        if self.now() + step > LATEST:
            raise ValueError(f"would take the clock past {isoformat(LATEST)}, the latest it goes")
        self._advanced += step
        self._moved()
        return self.now()


def manual_clock(start: datetime = MANUAL_EPOCH) -> VirtualClock:
    return VirtualClock("manual", start=start)


def isoformat(moment: datetime) -> str:
    """ISO 8601 in UTC to the second, as the API shows it: `2024-01-20T14:00:00Z`."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    # Formatted by hand: strftime is the slowest part of rendering a connector.
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (  # noqa: UP031
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
    )


def parse_timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
