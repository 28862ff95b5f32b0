"""Rate limits as a scenario sets them: a fixed window per scenario and tenant, starting at the
tenant's first request, on the fake's clock (so a manual clock decides when it resets)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from connectors_mock.errors import ApiError
from connectors_mock.scenarios.model import RateLimit


@dataclass(frozen=True)
class RateWindow:
    limit: int
    window_seconds: float
    remaining: int
    resets_at: datetime
    # Seconds until the window resets, when this request is over the limit.
    retry_after: int | None

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

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.resets_at.timestamp())),
        }


class RateWindows:
    def __init__(self) -> None:
        # By tenant, then scenario: when the window began, and the requests counted in it.
        self._windows: dict[str, dict[str, tuple[datetime, int]]] = {}

    def take(self, scenario: str, limit: RateLimit, tenant: str, now: datetime) -> RateWindow:
        """Count one request, unless it is over the limit (then its window says when to retry)."""
        windows = self._windows.setdefault(tenant, {})
        started, used = windows.get(scenario, (now, 0))
        length = timedelta(seconds=limit.window_seconds)
        if now >= started + length:
            started, used = now, 0
        resets_at = started + length
        if used >= limit.limit:
            retry_after = max(1, math.ceil((resets_at - now).total_seconds()))
            return RateWindow(limit.limit, limit.window_seconds, 0, resets_at, retry_after)
        windows[scenario] = (started, used + 1)
        return RateWindow(limit.limit, limit.window_seconds, limit.limit - used - 1, resets_at, None)

    def forget(self, scenario: str) -> None:
        for windows in self._windows.values():
            windows.pop(scenario, None)

    def forget_tenant(self, tenant: str) -> None:
        self._windows.pop(tenant, None)

    def clear(self) -> None:
        self._windows.clear()
