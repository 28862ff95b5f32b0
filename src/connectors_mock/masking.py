"""What counts as a secret in what a client sends, and how it is hidden: credentials, tokens,
OAuth codes. The journal and the control API show requests to people other than the key's
owner, so they pass everything through here first."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

MASK = "********"

# Compared with `_` and `-` removed, so `api_key`, `api-key` and `apiKey` are one name.
_SECRET_NAMES = frozenset(
    {
        "code",
        "password",
        "secret",
        "token",
        "apikey",
        "accesstoken",
        "refreshtoken",
        "secretaccesskey",
        "securitytoken",
        "apitoken",
        "bottoken",
    }
)
_SECRET_SUFFIXES = ("token", "secret", "password")
# Everything below this key is masked, whatever its name: a connector type may add a field.
_CREDENTIALS = "credentials"


def _secret_name(key: object) -> bool:
    if not isinstance(key, str):
        return False
    name = key.lower().replace("_", "").replace("-", "")
    return name in _SECRET_NAMES or name.endswith(_SECRET_SUFFIXES)


def _judged_hides_all(key: object) -> bool:
    return _secret_name(key) or (isinstance(key, str) and key.lower() == _CREDENTIALS)


# Field names recur in every body; only short ones are remembered, so a client's 64 KiB keys
# cannot fill memory.
_REMEMBERED_NAME_LENGTH = 64
_remembered_hides_all = lru_cache(maxsize=4096)(_judged_hides_all)


def _hides_all(key: object) -> bool:
    if isinstance(key, str) and len(key) <= _REMEMBERED_NAME_LENGTH:
        return _remembered_hides_all(key)
    return _judged_hides_all(key)


def mask_body(body: Any) -> Any:
    """A copy of `body` with every secret replaced by `MASK`; the input is left as it was.

    Below a secret key the shape is kept and only the leaves are masked, so the journal still
    shows which fields were sent (`{"credentials": {"token": "********"}}`).
    """
    # Iterative, not recursive: any JSON value, however deep, is copied without a RecursionError.
    root: list[Any] = [None]
    pending: list[tuple[Any, list[Any] | dict[Any, Any], Any, bool]] = [(body, root, 0, False)]
    while pending:
        value, parent, slot, hidden = pending.pop()
        if isinstance(value, dict):
            copy: dict[Any, Any] = {}
            parent[slot] = copy
            for key, item in value.items():
                copy[key] = None
                pending.append((item, copy, key, hidden or _hides_all(key)))
        elif isinstance(value, list):
            items: list[Any] = [None] * len(value)
            parent[slot] = items
            pending.extend((item, items, index, hidden) for index, item in enumerate(value))
        else:
            parent[slot] = MASK if hidden else value
    return root[0]


def mask_query(query: Mapping[str, str]) -> dict[str, str]:
    """Query parameters with secrets masked: `completeOAuth`'s `code` is, the OAuth `state`
    is not, since it is no credential and is what ties a journal entry to its flow."""
    return {name: MASK if _hides_all(name) else value for name, value in query.items()}
