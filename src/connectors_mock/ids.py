"""Ids such as `conn_k2m9x4p7q1ab`, drawn from one random source that `--seed` makes repeat."""

from __future__ import annotations

import hashlib
import random
import string

_ALPHABET = string.ascii_lowercase + string.digits


class IdSource:
    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def new(self, prefix: str, length: int = 12) -> str:
        return prefix + "".join(self._rng.choices(_ALPHABET, k=length))


def seeded_random(seed: int | None, *scope: str) -> random.Random:
    """A random source for one scope (a tenant, the request ids): fixed by `seed` when given,
    so one tenant's ids do not depend on what other tenants did."""
    if seed is None:
        return random.Random()
    return random.Random(":".join([str(seed), *scope]))


def hashed_id(prefix: str, length: int, *parts: object) -> str:
    """An id that is a hash of `parts`: the same parts give the same id in every run, and
    nothing but a counter has to be kept to make the next one."""
    digest = hashlib.sha256("\0".join(map(str, parts)).encode()).digest()
    return prefix + "".join(_ALPHABET[byte % len(_ALPHABET)] for byte in digest[:length])
