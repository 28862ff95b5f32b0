"""Who watches the fake: a bounded number of viewers, each woken by a change made through
`/_mock`."""

from __future__ import annotations

from connectors_mock.viewers import Viewers


def test_at_most_the_limit_watch_and_a_place_frees_when_one_leaves() -> None:
    viewers = Viewers(limit=2)
    first, second = viewers.join(), viewers.join()
    assert first is not None
    assert second is not None
    assert viewers.join() is None
    viewers.leave(first)
    assert viewers.join() is not None
    assert len(viewers) == 2


def test_a_poke_wakes_every_viewer() -> None:
    viewers = Viewers()
    watching = [viewers.join() for _ in range(3)]
    viewers.poke()
    assert all(viewer is not None and viewer.poked and viewer.wake.is_set() for viewer in watching)
