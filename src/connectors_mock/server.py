"""Serving the app under uvicorn: the `serve` command's server, and `running()`, the same
server in a thread for a test suite that wants a real socket per test.

uvicorn gives an app no way to end a connection without answering, which is what a dropped
connection or a body cut short is. Its httptools protocol is extended here with one ASGI scope
extension, `connectors_mock.connection`, whose `close()` and `reset()` end the connection.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

CONNECTION_EXTENSION = "connectors_mock.connection"


class _Connection:
    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport

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
    """uvicorn's httptools protocol, with the connection handed to the app in the scope."""

    def on_message_begin(self) -> None:
        super().on_message_begin()
        extensions: dict[str, Any] = self.scope.setdefault("extensions", {})
        extensions[CONNECTION_EXTENSION] = {"connection": _Connection(self.transport)}


def connection(scope: Any) -> _Connection | None:
    """The connection of a request served by `HttpProtocol`, or None under another server."""
    extension = (scope.get("extensions") or {}).get(CONNECTION_EXTENSION)
    return extension["connection"] if extension else None


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class Server(uvicorn.Server):
    """Prints the one line a person or a test waits for, once the socket is listening."""

    announce = True
    address: str | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and sockets:
            host, port = sockets[0].getsockname()[:2]
            self.address = f"http://{url_host(host)}:{port}"
            if self.announce:
                print(f"connectors-mock listening on {self.address}", flush=True)


# A stop waits this long for requests in flight: a scenario's latency can be minutes.
SHUTDOWN_GRACE_SECONDS = 2


def config(app: Any, *, access_log: bool = False) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        log_level="warning",
        access_log=access_log,
        server_header=False,
        http=HttpProtocol,
        # Neither is used, and looking for them costs start-up time (`websockets` is imported).
        ws="none",
        lifespan="off",
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
    )


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


@contextmanager
def running(app: Any, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve `app` in a thread for the duration of a `with` block; yields its base URL.

    with running(build_app(Settings(seed=1))) as url:
        httpx.get(f"{url}/v1/connectors", headers={"Authorization": "Bearer k"})
    """
    sock = bind(host, port)
    server = Server(config(app))
    server.announce = False
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    # uvicorn installs signal handlers only on the main thread; a thread has none to install.
    thread.start()
    try:
        # uvicorn sets `started` inside its startup, a moment before ours records the address.
        while server.address is None:
            if not thread.is_alive():
                raise RuntimeError("the server stopped while starting")
            thread.join(0.01)
        yield server.address
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
