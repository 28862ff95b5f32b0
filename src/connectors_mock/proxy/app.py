"""The proxy as an ASGI app: every request is forwarded to the upstream with httpx, unchanged
(method, path and query as sent, every header but the hop-by-hop ones, the body), and its
answer streamed back unchanged; then both are judged (`judge.py`). Its own routes, from
`control.openapi.yaml` by operationId (those marked `x-connectors-mock-server: proxy`), are
answered here; every other `/_mock` path is forwarded unjudged, for an upstream that is the fake.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from connectors_mock.clock import VirtualClock
from connectors_mock.control import control_document
from connectors_mock.errors import ApiError
from connectors_mock.proxy.judge import Judge, Pending
from connectors_mock.proxy.recorder import Recorder
from connectors_mock.responses import Envelope
from connectors_mock.spec import SpecMismatch

logger = logging.getLogger("connectors_mock.proxy")
# RFC 9110, section 7.6.1: a proxy does not forward these; `host` is the upstream's own.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"host",
    }
)
# Bodies past this are forwarded whole but not judged (nor recorded): the fake takes 1 MiB.
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
DEFAULT_TIMEOUT = 30.0
CONNECT_TIMEOUT = 10.0
SERVER_MARK = "x-connectors-mock-server"


@dataclass(frozen=True)
class ProxySettings:
    upstream: str
    verify: bool = True
    timeout: float = DEFAULT_TIMEOUT
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES


def shown_url(url: str) -> str:
    """A URL without any user name or password in it, to print."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


Endpoint = Callable[[Request], Awaitable[Response]]


class ProxyApp:
    def __init__(self, settings: ProxySettings, judge: Judge, recorder: Recorder | None = None) -> None:
        self.settings = settings
        self.judge = judge
        self.recorder = recorder
        self.upstream = settings.upstream.rstrip("/")
        self.envelope = Envelope(VirtualClock())
        self.transport: httpx.AsyncHTTPTransport | None = None
        self.timeout = httpx.Timeout(settings.timeout, connect=CONNECT_TIMEOUT).as_dict()
        handlers: dict[str, Endpoint] = {"readViolations": self.read_violations}
        self.own = own_routes(handlers)

    def _transport(self) -> httpx.AsyncHTTPTransport:
        """httpx's transport, used directly: a client would keep the cookies one caller's answer
        set and send them with every other caller's requests, and follow redirects."""
        if self.transport is None:
            self.transport = httpx.AsyncHTTPTransport(
                verify=self.settings.verify,
                # Connections kept for the next request: a new TLS handshake each time would be
                # most of the cost.
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
                trust_env=False,
                retries=0,
            )
        return self.transport

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        endpoint = self.own.get((scope["method"].replace("HEAD", "GET"), scope["path"]))
        if endpoint is not None:
            await (await endpoint(Request(scope, receive)))(scope, receive, send)
            return
        await self.forward(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.transport is not None:
                    await self.transport.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def read_violations(self, request: Request) -> Response:
        return self.envelope.success(request, 200, self.judge.violations.to_json())

    async def forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        body, rest = await _read_some(receive, self.settings.max_body_bytes)
        judged = not scope["path"].startswith("/_mock/") and scope["path"] != "/_mock"
        pending = self.judge.begin(scope, body if rest is None else None) if judged else None
        url = self.upstream + scope.get("raw_path", scope["path"].encode()).decode("latin-1")
        if scope.get("query_string"):
            url += "?" + scope["query_string"].decode("latin-1")
        headers = [(name, value) for name, value in scope["headers"] if name.lower() not in HOP_BY_HOP]
        content: bytes | AsyncIterator[bytes] = body if rest is None else _chain(body, rest)
        transport = self._transport()
        try:
            request = httpx.Request(
                scope["method"], url, headers=headers, content=content, extensions={"timeout": self.timeout}
            )
            upstream = await transport.handle_async_request(request)
        except httpx.HTTPError as failed:
            # Slow (no answer in time) is a 504; unreachable (refused, no route, TLS, a connection
            # not made in time) a 502.
            slow = isinstance(failed, httpx.TimeoutException) and not isinstance(failed, httpx.ConnectTimeout)
            status, code, why = (504, "timeout", "") if slow else (502, "service_unavailable", type(failed).__name__)
            await self._refuse(scope, receive, send, pending, status=status, code=code, why=why)
            return
        kept = bytearray()
        readable = True
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": upstream.status_code,
                    "headers": [(n, v) for n, v in upstream.headers.raw if n.lower() not in HOP_BY_HOP],
                }
            )
            async for chunk in upstream.aiter_raw():
                if readable:
                    if len(kept) + len(chunk) > self.settings.max_body_bytes:
                        readable = False
                        kept.clear()
                    else:
                        kept += chunk
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except httpx.HTTPError:
            # The answer broke off midway: the status is sent, so the client sees the cut.
            if pending is not None:
                await self.judge.judge_request(pending)
                self.judge.abandon(pending)
            raise
        finally:
            await upstream.aclose()
        if pending is None:
            return
        # The first of repeated headers, as Starlette reads them.
        received = {name.lower(): value for name, value in reversed(list(upstream.headers.items()))}
        content_bytes = _decoded(bytes(kept), received.get("content-encoding"), self.settings.max_body_bytes)
        exchange = await self.judge.end(pending, upstream.status_code, received, content_bytes if readable else None)
        if self.recorder is not None and exchange is not None and readable and content_bytes is not None:
            self.recorder.observe(exchange, pending.path_params)

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, pending: Pending | None, *, status: int, code: Any, why: str
    ) -> None:
        if pending is not None:
            await self.judge.judge_request(pending)
            self.judge.abandon(pending)
        where = shown_url(self.upstream)
        message = (
            f"The upstream {where} did not answer in time"
            if status == 504
            else f"The upstream {where} could not be reached ({why})"
        )
        logger.warning("%s: answered %d", message, status)
        response = self.envelope.error(Request(scope, receive), ApiError(status, code, message))
        await response(scope, receive, send)


async def _read_some(receive: Receive, limit: int) -> tuple[bytes, AsyncIterator[bytes] | None]:
    """The request body when it is at most `limit` bytes (and None for the rest); else its first
    part and the rest still to be read, to forward without keeping."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks), None
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), None
        if size > limit:
            return b"".join(chunks), _remaining(receive)


async def _remaining(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return


async def _chain(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for chunk in rest:
        yield chunk


def _decoded(content: bytes, encoding: str | None, limit: int) -> bytes | None:
    """The body as the judge reads it: gzip and deflate undone (at most `limit` bytes of it);
    None for an encoding it cannot read."""
    if not encoding or encoding.strip().lower() == "identity":
        return content
    name = encoding.strip().lower()
    if name not in ("gzip", "deflate"):
        return None
    try:
        decoder = zlib.decompressobj(zlib.MAX_WBITS | 32 if name == "gzip" else zlib.MAX_WBITS)
        decoded = decoder.decompress(content, limit)
    except zlib.error:
        return None
    return None if decoder.unconsumed_tail else decoded


def own_routes(handlers: dict[str, Endpoint]) -> dict[tuple[str, str], Endpoint]:
    """The proxy's own routes: the operations of `control.openapi.yaml` it serves, each paired
    with its handler by operationId; one without the other stops start-up."""
    routes: dict[tuple[str, str], Endpoint] = {}
    found = set()
    for path, item in control_document()["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and operation.get(SERVER_MARK) == "proxy":
                name = operation["operationId"]
                if name not in handlers:
                    raise SpecMismatch(f"operation {name!r} in control.openapi.yaml has no handler in the proxy")
                routes[(method.upper(), path)] = handlers[name]
                found.add(name)
    orphans = sorted(set(handlers) - found)
    if orphans:
        raise SpecMismatch(f"proxy handlers without an operation in control.openapi.yaml: {', '.join(orphans)}")
    return routes
