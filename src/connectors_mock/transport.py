"""httpx transports that serve the fake's app in this process, with no socket, for code that
takes an `httpx.Client` or `httpx.AsyncClient` (`ConnectorsApi.transport`).

The app runs where it always runs, on the event loop of the served fake's thread: its state,
its clock and its background work belong to that loop, so a request is handed to it (httpx's
own `ASGITransport`, run there) and the caller waits for the answer, from a thread or from
another event loop. A scenario that drops the connection or cuts a body short raises what
httpx raises when a real server does: `httpx.RemoteProtocolError`.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx


class _OnTheFakesLoop:
    def __init__(self, app: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._asgi = httpx.ASGITransport(app=app)
        self._loop = loop

    async def _serve(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await self._asgi.handle_async_request(request)
            body = await response.aread()
        except ConnectionAbortedError as dropped:
            raise httpx.RemoteProtocolError(f"the fake ended the connection: {dropped}", request=request) from None
        # Read whole there, so the caller's side reads it from bytes, sync or async.
        return httpx.Response(response.status_code, headers=response.headers, content=body)

    def _handed_over(self, request: httpx.Request, body: bytes) -> Any:
        # A body of bytes: the caller's stream may be sync only, and is read on this side.
        copy = httpx.Request(request.method, request.url, headers=request.headers, content=body)
        return asyncio.run_coroutine_threadsafe(self._serve(copy), self._loop)


class InProcessTransport(_OnTheFakesLoop, httpx.BaseTransport):
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response: httpx.Response = self._handed_over(request, request.read()).result()
        return response


class AsyncInProcessTransport(_OnTheFakesLoop, httpx.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        response: httpx.Response = await asyncio.wrap_future(self._handed_over(request, body))
        return response
