"""Who is calling: the bearer token is the tenant, `X-Team-ID` a team space within it."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import lru_cache

from connectors_mock.errors import ApiError


def tenant_key(headers: Mapping[str, str], api_keys: frozenset[str] | None) -> str:
    """The tenant a request acts for. Any non-empty key is accepted unless `api_keys` is set.

    Each (key, team) pair is its own tenant: naming a team never reaches another key's data.
    """
    authorization = headers.get("authorization")
    if not authorization:
        raise ApiError(401, "unauthorized", "Authorization header required")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "invalid_token", "Authorization header must be 'Bearer <API key>'")
    if api_keys is not None and token not in api_keys:
        raise ApiError(401, "unauthorized", "Invalid API key")
    team = headers.get("x-team-id")
    return f"{token}\n{team}" if team else token


@lru_cache(maxsize=4096)
def tenant_label(key: str) -> str:
    """How a tenant is named where its API key must not appear (the journal, a state export):
    a fingerprint of the key, then the team. The same key always gives the same label."""
    token, _, team = key.partition("\n")
    label = "key_" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:12]
    return f"{label}/{team}" if team else label
