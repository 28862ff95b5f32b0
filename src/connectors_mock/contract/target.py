"""The server under test: the one at `--base-url`, or else the fake, started in this process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

# The fake's default sync job takes about 4.5 s of its time; at this speed, a quarter second.
FAKE_CLOCK_SPEED = 20.0
FAKE_KEYS = ("contract-key-a", "contract-key-b")


@dataclass(frozen=True)
class Target:
    base_url: str
    api_key: str = field(repr=False)
    api_key_b: str | None = field(repr=False)
    in_process: bool = False


@contextmanager
def in_process_fake(api_keys: tuple[str, str]) -> Iterator[str]:
    """The fake with its default fixtures on a free port of 127.0.0.1, its clock running fast,
    accepting only `api_keys`."""
    # Imported here: judging a real server needs none of the fake.
    from connectors_mock.app import Settings, build_app  # noqa: PLC0415
    from connectors_mock.clock import VirtualClock  # noqa: PLC0415
    from connectors_mock.server import running  # noqa: PLC0415

    # Only the suite's keys: a fake that took any key could not show it refuses a wrong one.
    settings = Settings(clock=VirtualClock("real", FAKE_CLOCK_SPEED), api_keys=frozenset(api_keys))
    with running(build_app(settings)) as url:
        yield url
