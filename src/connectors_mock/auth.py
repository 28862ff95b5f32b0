"""Who is calling: the bearer token is the tenant, `X-Team-ID` a team space within it."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from functools import lru_cache

from connectors_mock.errors import ApiError, FieldError, validation_failed
from connectors_mock.validators import quoted

# Longer keys are refused before anything is kept of them: a key is remembered (the tenant,
# its label, its counters), and a client's 10 MiB keys must not be.
MAX_KEY_LENGTH = 512
# The contract's `X-Team-ID` (openapi.yaml, `TeamId`), checked here too, before the team names
# a tenant; tests/test_auth.py holds the two equal.
TEAM_PATTERN = "^[A-Za-z0-9_-]{1,64}$"
_TEAM = re.compile(TEAM_PATTERN.strip("^$"))


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
    if len(token) > MAX_KEY_LENGTH:
        raise ApiError(401, "invalid_token", f"API key is longer than {MAX_KEY_LENGTH} characters")
    if api_keys is not None and token not in api_keys:
        raise ApiError(401, "unauthorized", "Invalid API key")
    team = headers.get("x-team-id")
    if team is not None and not _TEAM.fullmatch(team):
        # What the request's own validation would say, said before the team names a tenant.
        error = FieldError("header", "x-team-id", f"{quoted(team)} does not match {TEAM_PATTERN}")
        raise validation_failed("Request is invalid", [error])
    return f"{token}\n{team}" if team else token


@lru_cache(maxsize=4096)
def tenant_label(key: str) -> str:
    """How a tenant is named where its API key must not appear (the journal, a state export):
    a fingerprint of the key, then the team. The same key always gives the same label."""
    token, _, team = key.partition("\n")
    label = "key_" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:12]
    return f"{label}/{team}" if team else label
