"""What one run of the suite created and sent: the connectors it must delete at the end, the
credentials that must never come back, and the sync progress each job has shown so far."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

# Shorter secrets could turn up in a response by chance (a name, a region): they are not traced.
MIN_SECRET_LENGTH = 8


@dataclass(frozen=True)
class Owner:
    """Who created a connector: its API key and `X-Team-ID`, which deleting it needs again.
    The key stays out of the repr, which pytest prints when a test fails."""

    api_key: str = field(repr=False)
    team: str | None


class Progress(NamedTuple):
    collected: int
    parsed: int
    indexed: int


def contract_words(document: Any) -> frozenset[str]:
    """Every string the contract itself names as a value (its `enum`s: error codes, statuses,
    types): a server says them on its own, so a credential that happens to be one (a generated
    `"unauthorized"`) is found in answers without having leaked."""
    words: set[str] = set()
    pending = [document]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            words.update(value for value in node.get("enum", ()) if isinstance(value, str))
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return frozenset(words)


def string_leaves(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from string_leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from string_leaves(item)


@dataclass
class Ledger:
    # Unique to this run, so its connectors are recognisable by their name prefix and no other
    # run's (or person's) connector ever matches it.
    run: str = field(default_factory=lambda: secrets.token_hex(3))
    created: dict[str, Owner] = field(default_factory=dict)
    # Everyone the run created connectors as, so the sweep also finds creates whose answer was lost.
    owners: set[Owner] = field(default_factory=set)
    # Credentials a server accepted, and every other string the suite sent: a string that was
    # sent both ways (a name equal to a token) cannot tell a leak from an echo.
    secrets: set[str] = field(default_factory=set)
    plain_values: set[str] = field(default_factory=set)
    progress: dict[str, Progress] = field(default_factory=dict)
    # Never traced as secrets (`contract_words`).
    vocabulary: frozenset[str] = frozenset()

    @property
    def prefix(self) -> str:
        return f"cmk-contract-{self.run}-"

    def record_sent(self, body: Any) -> None:
        if isinstance(body, dict):
            self.plain_values.update(string_leaves({k: v for k, v in body.items() if k != "credentials"}))

    def record_accepted_credentials(self, body: Any) -> None:
        if isinstance(body, dict):
            self.secrets.update(
                s
                for s in string_leaves(body.get("credentials"))
                if len(s) >= MIN_SECRET_LENGTH and s not in self.vocabulary
            )

    def leaked(self, response_body: Any) -> list[str]:
        """The accepted credentials that appear, whole, as a string in a response."""
        return sorted({s for s in string_leaves(response_body) if s in self.secrets and s not in self.plain_values})

    def record_progress(self, job_id: str, progress: Progress) -> Progress | None:
        """Remember a job's counters; returns the previous ones if any counter went down."""
        previous = self.progress.get(job_id)
        self.progress[job_id] = progress
        if previous is not None and any(now < before for now, before in zip(progress, previous, strict=True)):
            return previous
        return None

    def is_ours(self, connector_id: str) -> bool:
        return connector_id in self.created
