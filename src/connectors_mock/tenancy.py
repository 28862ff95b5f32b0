"""How many tenants the fake remembers. Every API key (and team) that reaches it is a tenant,
and each leaves something behind: its state, its scenario counters and rate windows, its
request count under a seed. A client bringing keys without end would grow all of it without
end, so past a limit the least recently seen tenant is forgotten everywhere at once, and the
forgetting is journaled. Its key, if it comes back, starts afresh from the fixtures.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator

from connectors_mock.auth import tenant_label

# What `serve` remembers by default: a tenant that only read costs a few hundred bytes, so this
# is a few megabytes of them; one that made a thousand connectors costs about a megabyte.
DEFAULT_MAX_TENANTS = 10_000

Forget = Callable[[str], object]


class TenantRoster:
    """Every tenant seen, least recently first; past `limit`, the least recently seen is
    handed to every `forget` and to `evicted`, and dropped."""

    def __init__(
        self, limit: int = DEFAULT_MAX_TENANTS, forget: Iterable[Forget] = (), evicted: Iterable[Forget] = ()
    ) -> None:
        if limit < 1:
            raise ValueError(f"at least one tenant must be remembered, not {limit}")
        self.limit = limit
        self._forget = list(forget)
        # Told only of tenants forgotten to make room, which their clients did not ask for.
        self._evicted = list(evicted)
        self._seen: OrderedDict[str, None] = OrderedDict()
        # By label, as `/_mock` names tenants: the dashboard finds a tenant's key from it.
        self._keys: dict[str, str] = {}
        # Counts changes to who is remembered, so a dashboard knows when to list them again.
        self.version = 0

    def __len__(self) -> int:
        return len(self._seen)

    def __contains__(self, tenant: object) -> bool:
        return tenant in self._seen

    def seen(self, tenant: str) -> None:
        """`tenant` made a request: it is now the most recently seen."""
        if tenant in self._seen:
            self._seen.move_to_end(tenant)
            return
        self._seen[tenant] = None
        self._keys[tenant_label(tenant)] = tenant
        self.version += 1
        while len(self._seen) > self.limit:
            oldest, _ = self._seen.popitem(last=False)
            self._drop(oldest)
            for evicted in self._evicted:
                evicted(oldest)

    def forget(self, tenant: str) -> None:
        """Drop `tenant` everywhere now, as its client asked (`DELETE /_mock/tenant`)."""
        self._seen.pop(tenant, None)
        self._drop(tenant)

    def _drop(self, tenant: str) -> None:
        self._keys.pop(tenant_label(tenant), None)
        self.version += 1
        for forget in self._forget:
            forget(tenant)

    def key_for(self, label: str) -> str | None:
        """The key of a remembered tenant, by its label."""
        return self._keys.get(label)

    def most_recent(self) -> Iterator[str]:
        """The remembered tenants' keys, most recently seen first."""
        return reversed(self._seen)

    def clear(self) -> None:
        self._seen.clear()
        self._keys.clear()
        self.version += 1
