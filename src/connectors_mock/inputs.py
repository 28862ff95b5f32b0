"""Reading a request against its operation: body limits, media type, JSON, and the compiled
schemas of the spec. Every schema failure of a request is reported at once in one 422."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.types import Receive, Scope

from connectors_mock.errors import ApiError, FieldError, validation_failed
from connectors_mock.json_text import parse_json
from connectors_mock.spec import Operation

MAX_BODY_BYTES = 1024 * 1024
# A body that takes longer to arrive holds a connection for nothing (a client that stalled).
BODY_TIMEOUT_SECONDS = 30.0
# A larger body is read and checked in a worker thread: the work is bounded, but for a
# megabyte of it long enough to keep every other client waiting.
OFF_LOOP_BYTES = 64 * 1024


# What `read_json_body` returns for a request without a body.
ABSENT = object()
_HEADERS_SCOPE_KEY = "connectors_mock.headers"
# The JSON body as read, for the journal to keep without reading it again, and its size.
PARSED_BODY_SCOPE_KEY = "connectors_mock.parsed_body"
BODY_SIZE_SCOPE_KEY = "connectors_mock.body_size"
# Set by the server (`server.HttpProtocol`) once a request's body has arrived whole.
BODY_ARRIVED_SCOPE_KEY = "connectors_mock.body_arrived"
T = TypeVar("T")


def sent_headers(scope: Scope) -> Mapping[str, str]:
    """A request's headers by lower-case name, the first of repeated ones (as Starlette's
    `Headers` reads them). Made once per request and kept in its scope: the layers look a
    request's headers up a dozen times, mostly for ones it did not send, and `Headers` scans
    the whole list for each."""
    headers: dict[str, str] | None = scope.get(_HEADERS_SCOPE_KEY)
    if headers is None:
        raw = reversed(scope["headers"])
        headers = scope[_HEADERS_SCOPE_KEY] = {n.decode("latin-1").lower(): v.decode("latin-1") for n, v in raw}
    return headers


@dataclass(slots=True)
class Inputs:
    """A request's validated parts, as the handler sees them."""

    path: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    body: Any = None


async def read_inputs(request: Request, operation: Operation) -> Inputs:
    inputs = Inputs(
        path=dict(request.path_params),
        query={
            p.name: request.query_params[p.name]
            for p in operation.parameters
            if p.location == "query" and p.name in request.query_params
        },
    )
    headers = sent_headers(request.scope)
    values: dict[str, dict[str, str]] = {
        "path": inputs.path,
        "query": inputs.query,
        "header": {
            p.name: headers[p.name] for p in operation.parameters if p.location == "header" and p.name in headers
        },
    }
    errors: list[FieldError] = []
    for location, validator in operation.parameter_validators.items():
        errors += validator.errors(values[location])
    if operation.body_media_types:
        body = await read_json_body(request, operation.body_media_types, required=operation.body_required)
        if body is not ABSENT:
            inputs.body = body
            assert operation.body_validator is not None
            errors += await _off_the_loop_if_large(request, operation.body_validator.errors, body)
    if errors:
        raise validation_failed("Request is invalid", errors)
    return inputs


async def read_limited(request: Request) -> bytes:
    too_large = ApiError(413, "invalid_request", f"Request body is larger than {MAX_BODY_BYTES} bytes (1 MiB)")
    declared = sent_headers(request.scope).get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    # A chunked body has no length up front, so the limit is also kept while reading.
    chunks: list[bytes] = []
    if request.scope.get(BODY_ARRIVED_SCOPE_KEY):
        # In the server's hands already: nothing to wait for, so no timer to set.
        return await _read_body(request.receive, too_large, chunks)
    try:
        async with asyncio.timeout(BODY_TIMEOUT_SECONDS):
            return await _read_body(request.receive, too_large, chunks)
    except TimeoutError:
        size = sum(map(len, chunks))
        raise ApiError(
            408, "timeout", f"Request body did not arrive within {BODY_TIMEOUT_SECONDS:g} seconds ({size} bytes came)"
        ) from None


async def _read_body(receive: Receive, too_large: ApiError, chunks: list[bytes]) -> bytes:
    """The body into `chunks`, then joined. `receive` itself, not Starlette's `request.stream()`:
    an async generator costs more to start and finish than the rest of reading a small body."""
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_large
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def read_json_body(
    request: Request, media_types: tuple[str, ...] = ("application/json",), *, required: bool = True
) -> Any:
    """The request's JSON body, under one set of rules for the contract's operations and for
    `/_mock`; `ABSENT` when there is none and none is required (a JSON `null` is a body)."""
    raw = await read_limited(request)
    if not raw:
        if required:
            raise ApiError(400, "invalid_request", f"Request body is required ({', '.join(media_types)})")
        return ABSENT
    _check_media_type(request, media_types)
    request.scope[BODY_SIZE_SCOPE_KEY] = len(raw)
    body = request.scope[PARSED_BODY_SCOPE_KEY] = await _off_the_loop_if_large(request, parse_json, raw)
    return body


async def _off_the_loop_if_large(request: Request, work: Callable[[Any], T], value: Any) -> T:
    """`work(value)`, in a worker thread when the request's body is large (`OFF_LOOP_BYTES`)."""
    if request.scope.get(BODY_SIZE_SCOPE_KEY, 0) > OFF_LOOP_BYTES:
        return await run_in_threadpool(work, value)
    return work(value)


def _check_media_type(request: Request, media_types: tuple[str, ...]) -> None:
    content_type = sent_headers(request.scope).get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in media_types:
        expected = ", ".join(media_types)
        got = f'"{content_type}"' if content_type else "none"
        raise ApiError(415, "invalid_request", f"Content-Type must be {expected} (got {got})")
