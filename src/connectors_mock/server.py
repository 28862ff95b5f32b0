"""Serving the app under uvicorn: the `serve` command's server, and `running()`, the same
server in a thread for a test suite that wants a real socket per test.

uvicorn's httptools protocol is extended here in two ways:
- an ASGI scope extension, `connectors_mock.connection`, whose `close()` and `reset()` end the
  connection: uvicorn gives an app no way to end one without answering, which is what a dropped
  connection or a body cut short is;
- the edge of the server, where a request is refused before the app sees it: a request target
  or a head past its limit, a head that does not arrive in time, or bytes that are not HTTP/1.1.
  Those refusals are the API's error envelope (uvicorn's own are plain text), made by the app's
  `EdgeErrors` (`app.state.edge_errors`) so their request ids and timestamps are the app's.
"""

from __future__ import annotations

import asyncio
import gc
import http
import json
import logging
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httptools
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from connectors_mock.inputs import BODY_ARRIVED_SCOPE_KEY
from connectors_mock.logs import log_config

logger = logging.getLogger("connectors_mock")
CONNECTION_EXTENSION = "connectors_mock.connection"
# The request target (path and query): longer is refused with 414. The longest the contract
# allows is about 9 KiB (`authorizeOAuth` with a 200-character name of 4-byte characters and a
# 2,048-character `redirect_uri`, percent-encoded); common servers allow 8 KiB.
MAX_TARGET_BYTES = 32 * 1024
# The request line and every header together: more is refused with 431.
MAX_HEAD_BYTES = 64 * 1024
# From a connection's first byte (or the end of its last answer) to the end of a request head.
HEAD_TIMEOUT_SECONDS = 30.0
# After a refusal, what the client still sends is read and dropped, so its socket does not
# reset before it has read the answer; for this long, and this much, at most.
LINGER_SECONDS = 2.0
LINGER_BYTES = 1024 * 1024

# status, error code, message -> the headers and body of an error answer.
EdgeErrors = Callable[[int, str, str], tuple[list[tuple[bytes, bytes]], bytes]]


def plain_edge_errors(status: int, code: str, message: str) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """The envelope without an app's ids and clock: for an app that brings no `edge_errors`."""
    body = json.dumps({"error": {"code": code, "message": message}, "meta": {}}).encode()
    return [(b"content-type", b"application/json")], body


# A write larger than this goes at once (after what is held): a large list's body.
HELD_WRITE_BYTES = 16 * 1024


class _OneWritePerTurn:
    """The connection's transport, with what is written in one turn of the event loop sent in
    one write. uvicorn writes an answer's head and its body separately: two system calls and
    two TCP segments for every answer, which cost more than most of the app's own work. The
    head and the body of an answer are sent in the same turn, so they now go together."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []

    def write(self, data: bytes) -> None:
        if len(data) > HELD_WRITE_BYTES:
            # Joining would copy it, which costs more than the second write saves.
            self.flush()
            if not self._transport.is_closing():
                self._transport.write(data)
            return
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(data)

    def flush(self) -> None:
        if self._held:
            data = b"".join(self._held) if len(self._held) > 1 else self._held[0]
            self._held.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._held.clear()
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _Connection:
    def __init__(self, transport: Any, stopping: asyncio.Event) -> None:
        self._transport = transport
        # Set when the server begins to stop: a request waiting on purpose (a scenario's
        # latency) ends then, rather than be cancelled when the grace period is over.
        self.stopping = stopping

    def close(self) -> None:
        """End the connection without a word (the client reads end of file)."""
        self._transport.close()

    def reset(self) -> None:
        """End it with a TCP reset, as a crashed peer or a firewall does."""
        sock = self._transport.get_extra_info("socket")
        if sock is not None:
            # Linger on, for zero seconds: close() then sends RST instead of FIN.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._transport.abort()


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with the connection handed to the app in the scope, and
    the limits of the edge kept (see the top)."""

    edge_errors: EdgeErrors = staticmethod(plain_edge_errors)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # Whether the parser is inside a request head, and how many bytes of it it has had.
        self._in_head = True
        self._head_bytes = 0
        self._refusal: tuple[int, str, str] | None = None
        self._head_timer: asyncio.TimerHandle | None = None
        # Set once a refusal is sent: how many more bytes will be read and dropped.
        self._lingering: int | None = None
        # A refusal waiting for the answers to the requests before it on the connection.
        self._deferred: tuple[int, str, str] | None = None
        self._stopping = asyncio.Event()
        self._answers = _OneWritePerTurn(transport, self.loop)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._lingering is not None:
            self._lingering -= len(data)
            if self._lingering < 0:
                self.transport.close()
            return
        if self._in_head and self._head_bytes + len(data) > MAX_HEAD_BYTES:
            # Fed up to the limit: if the head ends within it, the rest is the body.
            room = MAX_HEAD_BYTES - self._head_bytes
            self._feed(data[:room])
            if self._in_head and self._lingering is None:
                self._refuse(431, "invalid_request", f"The request's headers are larger than {MAX_HEAD_BYTES} bytes")
                return
            data = data[room:]
        elif self._in_head:
            self._head_bytes += len(data)
        if self._lingering is None and not self.transport.is_closing():
            self._feed(data)

    def _feed(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # No protocol is upgraded to here: the request is answered as plain HTTP, and
            # uvicorn's warning about a missing WebSocket library would mislead.
            pass
        except httptools.HttpParserError as error:
            reason = str(error) if not isinstance(error, httptools.HttpParserCallbackError) else "refused"
            self._refuse(*(self._refusal or (400, "invalid_request", f"Not a valid HTTP/1.1 request: {reason}")))

    def send_400_response(self, msg: str) -> None:
        self._refuse(400, "invalid_request", msg)

    def _refuse(self, status: int, code: str, message: str) -> None:
        """Answer with the error envelope and end the connection: the request never reaches
        the app. The answer goes with the end of our side; what the client still sends is
        dropped for a while (`LINGER_SECONDS`), as a closing server lingers. A request before
        it on the connection is answered first."""
        if self._answering():
            self._deferred = (status, code, message)
            self._lingering = LINGER_BYTES
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # The refused bytes were this request's body: the app must not answer it as well.
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        headers, body = self.edge_errors(status, code, message)
        phrase = http.HTTPStatus(status).phrase
        head = [f"HTTP/1.1 {status} {phrase}".encode(), *(name + b": " + value for name, value in headers)]
        head += [b"content-length: " + str(len(body)).encode(), b"connection: close"]
        # After what the answers before it still hold: the order on the wire is the order of requests.
        self._answers.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        self._answers.flush()
        self._disarm_head_timer()
        self._lingering = LINGER_BYTES
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        # The bytes of a later request's head in the chunk that began it go uncounted: the
        # limit is kept to within one read of the socket.
        self._in_head = True
        # The head's time counts from the end of the last answer, whose timer runs already.
        if self._head_timer is None:
            self._arm_head_timer()
        extensions: dict[str, Any] = self.scope.setdefault("extensions", {})
        extensions[CONNECTION_EXTENSION] = {"connection": _Connection(self._answers, self._stopping)}

    def shutdown(self) -> None:
        self._stopping.set()
        super().shutdown()

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > MAX_TARGET_BYTES:
            self._refusal = (414, "invalid_request", f"The request target is longer than {MAX_TARGET_BYTES} bytes")
            raise ValueError(self._refusal[2])

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        self._disarm_head_timer()
        if self.parser.get_http_version() == "1.1" and not any(name == b"host" for name, _ in self.headers):
            self._refusal = (400, "invalid_request", "An HTTP/1.1 request must have a Host header (RFC 9112)")
            raise ValueError(self._refusal[2])
        target = httptools.parse_url(self.url)
        if not target.path.isascii():
            # uvicorn would fail decoding it and answer its plain-text 400.
            self._refusal = (
                400,
                "invalid_request",
                "The request's path has bytes that are not ASCII; percent-encode them (RFC 3986)",
            )
            raise ValueError(self._refusal[2])
        super().on_headers_complete()
        self.cycle.transport = self._answers  # type: ignore[assignment]

    def on_message_complete(self) -> None:
        # The whole body is here: reading it cannot wait on the client (`inputs.read_limited`).
        self.cycle.scope[BODY_ARRIVED_SCOPE_KEY] = True  # type: ignore[literal-required]
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._deferred is not None and not self._answering() and not self.transport.is_closing():
            refusal, self._deferred = self._deferred, None
            self._refuse(*refusal)
        elif not self.transport.is_closing():
            self._arm_head_timer()

    def _answering(self) -> bool:
        """Whether the app is answering a request of this connection that arrived whole before
        the bytes being refused, or one such waits its turn."""
        current = self.cycle
        return bool(self.pipeline) or (current is not None and not current.response_complete and not current.more_body)

    def _arm_head_timer(self) -> None:
        self._disarm_head_timer()
        self._head_timer = self.loop.call_later(HEAD_TIMEOUT_SECONDS, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._lingering is not None or self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            return
        if self._head_bytes:
            message = f"The request head did not arrive within {HEAD_TIMEOUT_SECONDS:.0f} seconds"
            self._refuse(408, "timeout", message)
        else:
            self.transport.close()


def connection(scope: Any) -> _Connection | None:
    """The connection of a request served by `HttpProtocol`, or None under another server."""
    extension = (scope.get("extensions") or {}).get(CONNECTION_EXTENSION)
    return extension["connection"] if extension else None


# Collect the youngest objects every 10,000 allocations rather than CPython's 700, and the
# older generations more rarely too: see `settle_garbage_collector`.
GC_THRESHOLDS = (10_000, 20, 20)


def settle_garbage_collector() -> None:
    """For a process that only serves (`serve`, `proxy`) or only runs the contract suite: the
    objects made so far (the spec, its compiled schemas, the fixtures) live as long as it does,
    so the collector stops looking at them; and it runs less often. A request allocates a few
    hundred objects and frees almost all of them by reference counting; at CPython's defaults
    the collector ran every other request and, as the state grew, spent 29 us of each create
    looking for cycles (3.5 us now; benchmarks/README)."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class Server(uvicorn.Server):
    """Prints the one line a person or a test waits for, once the socket is listening."""

    announce = True
    log_format = "text"
    address: str | None = None
    loop: asyncio.AbstractEventLoop | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        await super().startup(sockets)
        if self.started and sockets:
            host, port = sockets[0].getsockname()[:2]
            self.address = f"http://{url_host(host)}:{port}"
            if self.announce and self.log_format == "json":
                logger.info("connectors-mock listening on %s", self.address, extra={"url": self.address})
            elif self.announce:
                print(f"connectors-mock listening on {self.address}", flush=True)


# A stop waits this long for requests in flight: a scenario's latency can be minutes.
SHUTDOWN_GRACE_SECONDS = 2


def protocol_for(app: Any) -> type[HttpProtocol]:
    """`HttpProtocol` answering its refusals with `app`'s envelopes, when it makes them."""
    edge_errors = getattr(getattr(app, "state", None), "edge_errors", None)
    if edge_errors is None:
        return HttpProtocol
    return type("HttpProtocol", (HttpProtocol,), {"edge_errors": staticmethod(edge_errors)})


def config(app: Any, *, access_log: bool = False, log_format: str = "text") -> uvicorn.Config:
    return uvicorn.Config(
        app,
        log_config=log_config(log_format),
        log_level="warning",
        access_log=access_log,
        server_header=False,
        http=protocol_for(app),
        # Not used, and looking for it costs start-up time (`websockets` is imported).
        ws="none",
        # What the app runs beside its requests (the state keeper, the watcher), if anything.
        lifespan="on",
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
    )


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


@dataclass(frozen=True)
class Serving:
    """An app served in a thread: where it listens, and the event loop it runs on, for code
    that must act on its state from another thread (`asyncio.run_coroutine_threadsafe`)."""

    url: str
    loop: asyncio.AbstractEventLoop


@contextmanager
def running(app: Any, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve `app` in a thread for the duration of a `with` block; yields its base URL.

    with running(build_app(Settings(seed=1))) as url:
        httpx.get(f"{url}/v1/connectors", headers={"Authorization": "Bearer k"})
    """
    with serving(app, host, port) as served:
        yield served.url


@contextmanager
def serving(app: Any, host: str = "127.0.0.1", port: int = 0) -> Iterator[Serving]:
    """`running`, yielding the event loop as well as the URL."""
    sock = bind(host, port)
    server = Server(config(app))
    server.announce = False
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    # uvicorn installs signal handlers only on the main thread; a thread has none to install.
    thread.start()
    try:
        # uvicorn sets `started` inside its startup, a moment before ours records the address.
        while server.address is None or server.loop is None:
            if not thread.is_alive():
                raise RuntimeError("the server stopped while starting")
            thread.join(0.01)
        yield Serving(server.address, server.loop)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
