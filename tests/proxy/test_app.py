"""The proxy as a client meets it: every request forwarded unchanged and its answer returned
unchanged, 502 and 504 in the error envelope when the upstream fails, and its own route,
`GET /_mock/violations`, as control.openapi.yaml describes it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import httpx2
import pytest
from starlette.types import Receive, Scope, Send

from connectors_mock.proxy.app import ProxyApp, ProxySettings, own_routes, shown_url
from connectors_mock.proxy.judge import Judge
from connectors_mock.proxy.violations import Violations
from connectors_mock.server import bind, running
from connectors_mock.spec import Spec, SpecMismatch
from tests.conftest import S3_CREATE, check_control_response
from tests.contract.mutants import API_KEYS, MUTANTS, unbroken

KEY = API_KEYS[0]
AUTH = {"Authorization": f"Bearer {KEY}"}


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """An upstream that answers with what it received, in three chunks, and odd headers."""
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    seen = {
        "method": scope["method"],
        "path": scope["raw_path"].decode(),
        "query": scope["query_string"].decode(),
        "headers": [[name.decode(), value.decode()] for name, value in scope["headers"]],
        "body": body.decode("latin-1"),
    }
    content = json.dumps(seen).encode()
    headers = [(b"content-type", b"application/x-echo"), (b"x-upstream", b"yes"), (b"set-cookie", b"a=1")]
    await send({"type": "http.response.start", "status": 218, "headers": headers})
    third = len(content) // 3
    for start in (0, third, 2 * third):
        end = len(content) if start == 2 * third else start + third
        await send({"type": "http.response.body", "body": content[start:end], "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def slow(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        await asyncio.sleep(5)


@contextmanager
def proxy(upstream: str, judge: Judge | None = None, **settings: Any) -> Iterator[str]:
    app = ProxyApp(ProxySettings(upstream, **settings), judge or Judge(Spec.load()))
    with running(app) as url:
        yield url


def test_a_request_and_its_answer_pass_unchanged() -> None:
    with running(echo) as upstream, proxy(upstream) as url:
        answer = httpx.post(
            f"{url}/v1/connectors/conn%2Fodd/sync?b=2&a=1&a=%20",
            content=b'{"sync_mode": "full"}',
            headers={**AUTH, "Content-Type": "application/json", "X-Team-ID": "team-1", "X-Custom": "kept"},
        )
    assert answer.status_code == 218
    assert answer.headers["x-upstream"] == "yes"
    assert answer.headers["set-cookie"] == "a=1"
    assert answer.headers["content-type"] == "application/x-echo"
    seen = answer.json()
    assert (seen["method"], seen["path"], seen["query"]) == ("POST", "/v1/connectors/conn%2Fodd/sync", "b=2&a=1&a=%20")
    headers = dict(seen["headers"])
    assert headers["authorization"] == f"Bearer {KEY}"
    assert (headers["x-team-id"], headers["x-custom"]) == ("team-1", "kept")
    assert headers["host"] == upstream.removeprefix("http://")
    assert seen["body"] == '{"sync_mode": "full"}'


def test_a_cookie_one_caller_was_set_is_not_sent_for_another() -> None:
    with running(echo) as upstream, proxy(upstream) as url:
        assert httpx.get(f"{url}/v1/connectors", headers=AUTH).headers["set-cookie"] == "a=1"
        again = httpx.get(f"{url}/v1/connectors", headers=AUTH).json()
    assert "cookie" not in dict(again["headers"])


def test_a_body_larger_than_the_judge_reads_is_still_forwarded_whole() -> None:
    judge = Judge(Spec.load())
    body = b"x" * 300_000
    with running(echo) as upstream, proxy(upstream, judge, max_body_bytes=100_000) as url:
        answer = httpx.put(f"{url}/v1/connectors/conn_1", content=body, headers=AUTH)
    assert answer.json()["body"] == body.decode()
    assert judge.violations.exchanges == 1


def error_of(answer: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = answer.json()
    assert body["meta"]["requestId"] == answer.headers["x-request-id"]
    error: dict[str, Any] = body["error"]
    return error


def test_an_unreachable_upstream_is_a_502_in_the_envelope() -> None:
    sock = bind("127.0.0.1", 0)  # bound, never listening: connections are refused
    port = sock.getsockname()[1]
    try:
        with proxy(f"http://user:hunter22@127.0.0.1:{port}") as url:
            answer = httpx.get(f"{url}/v1/connectors", headers={**AUTH, "X-Request-ID": "mine-1"})
    finally:
        sock.close()
    assert answer.status_code == 502
    error = error_of(answer)
    assert error["code"] == "service_unavailable"
    assert f"127.0.0.1:{port}" in error["message"]
    assert "hunter22" not in answer.text
    assert answer.json()["meta"]["requestId"] == "mine-1"


def test_a_slow_upstream_is_a_504_in_the_envelope() -> None:
    with running(slow) as upstream, proxy(upstream, timeout=0.2) as url:
        answer = httpx.get(f"{url}/v1/connectors", headers=AUTH)
    assert answer.status_code == 504
    assert error_of(answer)["code"] == "timeout"


def test_the_upstream_url_is_printed_without_its_password() -> None:
    assert shown_url("https://me:secret@staging.example.com:8443/api/") == "https://staging.example.com:8443/api/"


def test_violations_are_served_as_the_control_document_says(spec: Spec) -> None:
    judge = Judge(spec)
    with running(unbroken()) as upstream, proxy(upstream, judge) as url:
        client = httpx2.Client(base_url=url, headers=AUTH)
        assert client.post("/v1/connectors", json={**S3_CREATE, "config": {"bucket": 5}}).status_code == 422
        report = client.get("/_mock/violations")
        check_control_response(report, spec)
        forwarded = client.get("/_mock/clock")  # every other /_mock path is the upstream's
        assert forwarded.status_code == 200
        assert "mode" in forwarded.json()["data"]
    data = report.json()["data"]
    assert data["bySide"] == {"request": 2, "response": 0, "invariant": 0}
    first = data["violations"][0]
    assert (first["side"], first["operation"], first["status"]) == ("request", "createConnector", 422)
    assert {v["where"] for v in data["violations"]} == {"$.config.bucket", "$.config.region"}
    assert first["requestId"].startswith("req_")  # the answer's, as the fake gave it
    assert judge.violations.exchanges == 1


def test_a_route_without_its_operation_stops_start_up() -> None:
    async def nothing(request: Any) -> Any:
        raise AssertionError

    with pytest.raises(SpecMismatch, match="readSomething"):
        own_routes({"readViolations": nothing, "readSomething": nothing})
    with pytest.raises(SpecMismatch, match="readViolations"):
        own_routes({})


def test_a_leaked_credential_is_reported_by_where_it_is_never_what_it_is(capfd: pytest.CaptureFixture[str]) -> None:
    [leaky] = [mutant for mutant in MUTANTS if mutant.name == "leaks-credentials"]
    secret = "wJalrXUtnFEMI-K7MDENG-proxied-secret"
    judge = Judge(Spec.load(), violations=Violations())
    with running(leaky.build()) as upstream, proxy(upstream, judge) as url:
        client = httpx.Client(base_url=url, headers=AUTH)
        made = client.post(
            "/v1/connectors", json={**S3_CREATE, "credentials": {**S3_CREATE["credentials"], "secretAccessKey": secret}}
        )
        assert made.status_code == 201
        read = client.get(f"/v1/connectors/{made.json()['data']['id']}")
        assert secret in read.text  # the answer is forwarded unchanged, leak and all
        report = client.get("/_mock/violations").text
    leaks = [v for v in judge.violations.kept if v.check == "credentials_never_returned"]
    assert leaks
    assert leaks[0].where == "$"
    assert "$.data.credentials.secretAccessKey" in leaks[0].found
    assert secret not in report
    logged = capfd.readouterr().err
    assert "credentials_never_returned" in logged
    assert "response_schema" in logged  # `credentials` is no field of a connector
    assert secret[:8] not in logged
