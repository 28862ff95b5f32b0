"""JSON text as the API reads it: strictly UTF-8 (RFC 8259), no `NaN` or `Infinity`, no number
too large for a JSON parser on the other side, no lone UTF-16 surrogate. The request reader
and the journal both read bodies through here, so they agree on what is JSON."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

from connectors_mock.errors import ApiError

# No field of the API needs more; Python would refuse past 4,300 digits with a confusing message.
MAX_INTEGER_DIGITS = 100
# Arrays and objects within each other, at most: the API's bodies nest four levels, a state
# export seven, a scenario's own error body what its author writes. Deeper, every walk over a
# value (validation, masking, the journal, writing it back) would have to be written without
# recursion, and none of it would serve anyone.
MAX_DEPTH = 32
# Digits enough for an integer past 64 bits, found as a run of 1s in the text translated to
# 1 for a digit and 0 for the rest (a regular expression takes forty times as long).
_DIGITS = bytes.maketrans(
    bytes(range(256)), bytes(ord("1") if chr(b).isdigit() and b < 128 else ord("0") for b in range(256))
)
_LONG_DIGIT_RUN = b"1" * 19
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")
# `\ud800`-style escapes: the only way JSON text can carry a UTF-16 surrogate.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def to_json_bytes(value: Any) -> bytes:
    """Compact UTF-8 JSON. orjson writes it several times faster than the standard library,
    but refuses integers beyond 64 bits, which a client may send in a connector's config."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text} is too large")
    return value


def _parse_int(text: str) -> int:
    if len(text) > MAX_INTEGER_DIGITS:
        raise ValueError(f"a number with {len(text)} digits is too large")
    return int(text)


def parse_json(raw: bytes) -> Any:
    """The JSON value of `raw`, or a 400 `ApiError` saying where and why it is not JSON."""
    if _LONG_DIGIT_RUN in raw.translate(_DIGITS):
        # orjson would read an integer past 64 bits as a float.
        return _parse_json_slowly(raw)
    try:
        # orjson reads strict RFC 8259 ten times faster; what it refuses (not JSON, a lone
        # surrogate) is read again below, which says why.
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _parse_json_slowly(raw)
    # A body with few brackets cannot nest deep: only one with many is walked.
    deep = path_past_depth(body) if len(raw.translate(None, _NOT_BRACKETS)) > 2 * MAX_DEPTH else None
    if deep is not None:
        raise ApiError(400, "invalid_request", f"Request body nests deeper than {MAX_DEPTH} levels (at {deep})")
    return body


def _parse_json_slowly(raw: bytes) -> Any:
    try:
        # Strictly UTF-8 (RFC 8259): json.loads would also guess UTF-16 and let surrogates through.
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "invalid_request", f"Request body is not UTF-8: {exc.reason} at byte {exc.start}") from exc
    try:
        body = json.loads(text, parse_constant=_reject_constant, parse_float=_parse_float, parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        raise ApiError(
            400, "invalid_request", f"Request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "invalid_request", f"Request body is not valid JSON: {exc}") from exc
    deep = path_past_depth(body)
    if deep is not None:
        raise ApiError(400, "invalid_request", f"Request body nests deeper than {MAX_DEPTH} levels (at {deep})")
    # An escape such as `\ud800` is the only way left to a lone surrogate; a cheap search of
    # the raw bytes spares the walk for every body that has none.
    if _SURROGATE_ESCAPE.search(raw):
        where = _lone_surrogate(body, "$")
        if where is not None:
            # Such a string could never be sent back as UTF-8 (RFC 8259 section 8.2).
            raise ApiError(400, "invalid_request", f"Request body has a lone UTF-16 surrogate at {where}")
    return body


def path_past_depth(value: Any, depth: int = MAX_DEPTH) -> str | None:
    """The JSON path of the first array or object nested deeper than `depth`, found without
    recursion; None when there is none."""
    pending: list[tuple[Any, str, int]] = [(value, "$", 1)]
    while pending:
        item, path, level = pending.pop()
        if level > depth:
            return path
        # Only what can nest is visited: a list of half a million numbers is one pass in C.
        if isinstance(item, dict):
            pending.extend((child, f"{path}.{key}", level + 1) for key, child in item.items() if _nests(child))
        elif isinstance(item, list):
            pending.extend((child, f"{path}[{index}]", level + 1) for index, child in enumerate(item) if _nests(child))
    return None


def _nests(value: Any) -> bool:
    return isinstance(value, dict | list)


def _lone_surrogate(value: Any, path: str) -> str | None:
    """The JSON path of the first string (or key) holding an unpaired surrogate."""
    if isinstance(value, str):
        return path if _SURROGATE.search(value) else None
    children: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if _SURROGATE.search(key):
                return path
            children.append((f"{path}.{key}", item))
    elif isinstance(value, list):
        children = [(f"{path}[{index}]", item) for index, item in enumerate(value)]
    for child_path, item in children:
        found = _lone_surrogate(item, child_path)
        if found is not None:
            return found
    return None
