"""The one clock everything time-dependent reads: real time, or a manual clock that only
moves when told (the model is Stripe's test clocks)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

# Where a manual clock starts unless told otherwise: a fixed instant, so seeded runs repeat.
MANUAL_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    def __init__(self, start: datetime = MANUAL_EPOCH) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        self._now += timedelta(seconds=seconds)
        return self._now


def isoformat(moment: datetime) -> str:
    """ISO 8601 in UTC to the second, as the API shows it: `2024-01-20T14:00:00Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
