"""The virtual clock: real time scaled by a speed, or manual time moved only by `advance`."""

from __future__ import annotations

from datetime import timedelta

import pytest

from connectors_mock.clock import LATEST, MANUAL_EPOCH, MAX_ADVANCE_SECONDS, MAX_SPEED, VirtualClock, manual_clock


class FakeMonotonic:
    def __init__(self) -> None:
        self.seconds = 100.0

    def __call__(self) -> float:
        return self.seconds


def test_a_real_clock_runs_at_wall_time_times_its_speed() -> None:
    wall = FakeMonotonic()
    clock = VirtualClock("real", speed=10, start=MANUAL_EPOCH, monotonic=wall)
    wall.seconds += 1.5
    assert clock.now() == MANUAL_EPOCH + timedelta(seconds=15)


def test_a_manual_clock_stands_still_until_advanced() -> None:
    wall = FakeMonotonic()
    clock = VirtualClock("manual", start=MANUAL_EPOCH, monotonic=wall)
    wall.seconds += 60
    assert clock.now() == MANUAL_EPOCH
    assert clock.advance(2.5) == MANUAL_EPOCH + timedelta(seconds=2.5)
    assert clock.now() == MANUAL_EPOCH + timedelta(seconds=2.5)


def test_a_real_clock_can_be_advanced_too() -> None:
    wall = FakeMonotonic()
    clock = VirtualClock("real", start=MANUAL_EPOCH, monotonic=wall)
    clock.advance(600)
    wall.seconds += 1
    assert clock.now() == MANUAL_EPOCH + timedelta(seconds=601)


def test_a_clock_refuses_to_go_backwards_or_too_far() -> None:
    clock = manual_clock()
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="100 years"):
        clock.advance(MAX_ADVANCE_SECONDS + 1)
    assert clock.now() == MANUAL_EPOCH


def test_a_clock_stops_short_of_the_end_of_the_calendar() -> None:
    clock = manual_clock(start=LATEST - timedelta(days=1))
    clock.advance(24 * 3600)
    with pytest.raises(ValueError, match="latest"):
        clock.advance(1)
    assert clock.now() == LATEST


def test_small_steps_add_up_exactly_even_far_from_the_start() -> None:
    stepped, jumped = manual_clock(), manual_clock()
    for clock in (stepped, jumped):
        clock.advance(3e9)
    for _ in range(10):
        stepped.advance(0.1)
    jumped.advance(1.0)
    assert stepped.now() == jumped.now()


def test_a_fast_real_clock_left_running_stops_at_the_latest_moment() -> None:
    wall = FakeMonotonic()
    clock = VirtualClock("real", speed=MAX_SPEED, start=MANUAL_EPOCH, monotonic=wall)
    wall.seconds += 10 * 365 * 24 * 3600
    assert clock.now() == LATEST
    assert clock.advance(0) == LATEST


@pytest.mark.parametrize("speed", [0, -1, float("nan"), float("inf"), MAX_SPEED * 2])
def test_a_clock_needs_a_positive_speed(speed: float) -> None:
    with pytest.raises(ValueError, match="speed"):
        VirtualClock("real", speed=speed)
