"""Rate limits: the plan the server reports on every API response (`--rate-limit`), and the
limits scenarios set. Each counts in a fixed window per tenant, starting at the tenant's first
request, on the fake's clock (so a manual clock decides when it resets)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from connectors_mock.errors import ApiError
from connectors_mock.scenarios.model import RateLimit


# Slots, not frozen: one is made for every API request.
@dataclass(slots=True)
class RateWindow:
    limit: int
    window_seconds: float
    remaining: int
    # The headers every answer in the window carries, encoded for the ASGI message once.
    headers: list[tuple[bytes, bytes]]
    # Seconds until the window resets, when this request is over the limit.
    retry_after: int | None = None

    def refusal(self) -> ApiError:
        """The 429 for a request over the limit, with the reference's body."""
        assert self.retry_after is not None
        return ApiError(
            429,
            "rate_limit_exceeded",
            f"Rate limit of {self.limit} requests per {self.window_seconds:g} s exceeded; "
            f"retry after {self.retry_after} seconds",
            retry_after=self.retry_after,
        )


@dataclass(slots=True)
class _Window:
    started: datetime
    ends: datetime
    used: int
    # `X-RateLimit-Limit` and `X-RateLimit-Reset` as the window's answers send them.
    limit: tuple[bytes, bytes]
    reset: tuple[bytes, bytes]


# The scope of the server's own plan in `RateWindows`: no scenario can be named so (a scenario's
# name starts with a letter or digit).
PLAN = "-plan"
# What `serve` reports by default: the top of the vendor's range of plans.
DEFAULT_PLAN = RateLimit(3000, 60.0, enforced=False)


_NONE_REMAINING = (b"x-ratelimit-remaining", b"0")


def _new_window(limit: RateLimit, now: datetime) -> _Window:
    ends = now + timedelta(seconds=limit.window_seconds)
    reset = str(math.ceil(ends.timestamp())).encode()
    return _Window(now, ends, 0, (b"x-ratelimit-limit", str(limit.limit).encode()), (b"x-ratelimit-reset", reset))


class RateWindows:
    def __init__(self) -> None:
        # By tenant, then scope (a scenario's name, or `PLAN`).
        self._windows: dict[str, dict[str, _Window]] = {}

    def take(self, scope: str, limit: RateLimit, tenant: str, now: datetime) -> RateWindow:
        """Count one request in `scope` (a scenario's name, or `PLAN`), unless it is over an
        enforced limit (then its window says when to retry). Past a reported limit, requests
        go on, with nothing remaining."""
        windows = self._windows.get(tenant)
        if windows is None:
            windows = self._windows[tenant] = {}
        window = windows.get(scope)
        if window is None or now >= window.ends:
            window = windows[scope] = _new_window(limit, now)
        if window.used >= limit.limit:
            retry_after = max(1, math.ceil((window.ends - now).total_seconds())) if limit.enforced else None
            return RateWindow(
                limit.limit, limit.window_seconds, 0, [window.limit, _NONE_REMAINING, window.reset], retry_after
            )
        window.used += 1
        remaining = limit.limit - window.used
        headers = [window.limit, (b"x-ratelimit-remaining", str(remaining).encode()), window.reset]
        return RateWindow(limit.limit, limit.window_seconds, remaining, headers)

    def forget(self, scenario: str) -> None:
        for windows in self._windows.values():
            windows.pop(scenario, None)

    def forget_tenant(self, tenant: str) -> None:
        self._windows.pop(tenant, None)

    def clear(self) -> None:
        self._windows.clear()
