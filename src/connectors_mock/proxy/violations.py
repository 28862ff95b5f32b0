"""A violation of the contract seen in the traffic: which side broke it, where, what was
expected and what was found. Kept in a bounded list, counted past it, one log line each."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

Side = Literal["request", "response", "invariant"]
SIDES: tuple[Side, ...] = ("request", "response", "invariant")
DEFAULT_MAX_VIOLATIONS = 1000
# A found or expected value is cut to this many characters: a 1 MiB body is not a log line.
MAX_TEXT = 300

logger = logging.getLogger("connectors_mock.proxy")


def _cut(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


@dataclass(frozen=True)
class Violation:
    side: Side
    check: str
    operation: str | None
    method: str
    path: str
    request_id: str | None
    status: int | None
    where: str
    expected: str
    found: str
    at: str

    def to_json(self) -> dict[str, Any]:
        return {
            "side": self.side,
            "check": self.check,
            "operation": self.operation,
            "method": self.method,
            "path": self.path,
            "requestId": self.request_id,
            "status": self.status,
            "where": self.where,
            "expected": self.expected,
            "found": self.found,
            "at": self.at,
        }

    def log_line(self) -> str:
        operation = self.operation or f"{self.method} {self.path}"
        return (
            f"contract violation ({self.side}, {self.check}): {operation} request {self.request_id or '-'}"
            f" at {self.where}: expected {self.expected}; found {self.found}"
        )


class Violations:
    """The first `limit` violations in full; every one counted, by side and by check."""

    def __init__(self, limit: int = DEFAULT_MAX_VIOLATIONS) -> None:
        self.limit = limit
        self.kept: list[Violation] = []
        self.by_side: Counter[str] = Counter()
        self.by_check: Counter[str] = Counter()
        self.exchanges = 0

    @property
    def total(self) -> int:
        return sum(self.by_side.values())

    def add(
        self,
        side: Side,
        check: str,
        *,
        operation: str | None,
        method: str,
        path: str,
        request_id: str | None,
        status: int | None,
        where: str,
        expected: str,
        found: str,
    ) -> None:
        self.by_side[side] += 1
        self.by_check[check] += 1
        if len(self.kept) >= self.limit:
            if len(self.kept) == self.limit and self.total == self.limit + 1:
                logger.warning("more than %d contract violations: the rest are counted, not kept or logged", self.limit)
            return
        violation = Violation(
            side,
            check,
            operation,
            method,
            path,
            request_id,
            status,
            _cut(where),
            _cut(expected),
            _cut(found),
            datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        )
        self.kept.append(violation)
        logger.warning("%s", violation.log_line())

    def to_json(self) -> dict[str, Any]:
        return {
            "exchanges": self.exchanges,
            "total": self.total,
            "bySide": {side: self.by_side[side] for side in SIDES},
            "dropped": max(0, self.total - len(self.kept)),
            "violations": [violation.to_json() for violation in self.kept],
        }

    def summary(self) -> str:
        counts = ", ".join(f"{self.by_side[side]} {side}" for side in SIDES)
        judged, found = counted(self.exchanges, "exchange"), counted(self.total, "contract violation")
        lines = [f"connectors-mock proxy: {judged} judged, {found} ({counts})"]
        for check, count in self.by_check.most_common():
            lines.append(f"  {count:6d}  {check}")
        return "\n".join(lines)


def counted(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
