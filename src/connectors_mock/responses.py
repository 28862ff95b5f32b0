"""The envelope, built in one place: `{"data", "meta"}` for success, `{"error", "meta"}` for
errors, every response carrying its request id in `meta.requestId` and `X-Request-ID`."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.types import Scope

from connectors_mock.clock import Clock, isoformat
from connectors_mock.errors import ApiError
from connectors_mock.ids import hashed_id, seeded_random
from connectors_mock.inputs import sent_headers
from connectors_mock.json_text import to_json_bytes

# The spec's RequestId pattern: an incoming id that does not fit is not echoed back.
_REQUEST_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
_SCOPE_KEY = "connectors_mock.request_id"
# Where the scenario middleware leaves the request's tenant key, when it has one.
TENANT_SCOPE_KEY = "connectors_mock.tenant"


class Envelope:
    def __init__(self, clock: Clock, seed: int | None = None) -> None:
        self._clock = clock
        self._seed = seed
        self._random = seeded_random(None)
        # Request ids made so far, by tenant: under a seed, each tenant's are its own sequence.
        self._counts: dict[str, int] = {}

    def request_id(self, connection: HTTPConnection) -> str:
        """The caller's `X-Request-ID` when it is well formed, else a new `req_...`; the same
        for every call within one request."""
        scope = connection.scope
        if _SCOPE_KEY not in scope:
            incoming = sent_headers(scope).get("x-request-id", "")
            scope[_SCOPE_KEY] = incoming if _REQUEST_ID.fullmatch(incoming) else self._new_id(scope)
        request_id: str = scope[_SCOPE_KEY]
        return request_id

    def _new_id(self, scope: Scope) -> str:
        if self._seed is None:
            # 64 random bits as 16 hex digits: a third of the time `IdSource`'s letters take.
            return f"req_{self._random.getrandbits(64):016x}"
        # Counted per tenant (as the scenario middleware names it; keyless API requests and
        # /_mock calls count apart), so under a seed a tenant's request ids repeat whatever
        # other tenants, or /_mock calls, do meanwhile.
        tenant = scope.get(TENANT_SCOPE_KEY) or ("/_mock" if scope["path"].startswith("/_mock/") else "")
        count = self._counts[tenant] = self._counts.get(tenant, 0) + 1
        return hashed_id("req_", 16, self._seed, tenant, count)

    def forget_tenant(self, tenant: str) -> None:
        """Drop a tenant's request count (`tenancy.TenantRoster` evicts it): under a seed, its
        request ids start again, as everything else of it does."""
        self._counts.pop(tenant, None)

    def edge_error(self, status: int, code: str, message: str) -> tuple[list[tuple[bytes, bytes]], bytes]:
        """The headers and body of a refusal the server makes before the app sees the request
        (`server.HttpProtocol`): the envelope, with a new request id, counted as keyless."""
        request_id = self._new_id({"path": "/", TENANT_SCOPE_KEY: None})
        meta = {"requestId": request_id, "timestamp": isoformat(self._clock.now())}
        body = to_json_bytes({"error": {"code": code, "message": message}, "meta": meta})
        return [(b"content-type", b"application/json"), (b"x-request-id", request_id.encode())], body

    def meta(self, connection: HTTPConnection) -> dict[str, str]:
        return {"requestId": self.request_id(connection), "timestamp": isoformat(self._clock.now())}

    def success(self, connection: HTTPConnection, status: int, data: Any) -> Response:
        headers = {"X-Request-ID": self.request_id(connection)}
        if status == 204:
            return Response(status_code=204, headers=headers)
        body = {"data": data, "meta": self.meta(connection)}
        return Response(to_json_bytes(body), status, headers, media_type="application/json")

    def error(self, connection: HTTPConnection, error: ApiError) -> Response:
        content: dict[str, Any] = {"code": error.code, "message": error.message}
        if error.field_errors:
            content["details"] = {"errors": [e.to_json() for e in error.field_errors]}
        if error.retry_after is not None and error.code == "rate_limit_exceeded":
            content["retryAfter"] = error.retry_after
        body = {"error": content, "meta": self.meta(connection)}
        headers = {**error.headers, "X-Request-ID": self.request_id(connection)}
        return Response(to_json_bytes(body), error.status, headers, media_type="application/json")
