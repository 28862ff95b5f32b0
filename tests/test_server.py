"""The server's edge, on a real socket: what it refuses before the app sees a request (a target
or a head one byte over its limit, bytes that are not HTTP/1.1, a head that never ends) is
answered with the error envelope, and nothing a client sends there is logged as a fault."""

from __future__ import annotations

import json
import logging
import re
import socket
from collections.abc import Iterator
from urllib.parse import quote, urlencode

import pytest

from connectors_mock import server
from connectors_mock.app import Settings, build_app
from connectors_mock.server import MAX_HEAD_BYTES, MAX_TARGET_BYTES, running
from connectors_mock.spec import Spec


@pytest.fixture
def address(spec: Spec) -> Iterator[tuple[str, int]]:
    with running(build_app(Settings(seed=1), spec)) as url:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        yield host, int(port)


def exchange(address: tuple[str, int], request: bytes, timeout: float = 5.0) -> bytes:
    """Send raw bytes; the answer, read to the end of its body or of the connection."""
    with socket.create_connection(address, timeout=timeout) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
            head, found, body = answer.partition(b"\r\n\r\n")
            length = re.search(rb"(?im)^content-length: *(\d+)", head)
            if found and length and len(body) >= int(length.group(1)):
                break
    return answer


def envelope_of(answer: bytes) -> tuple[int, dict[str, str], dict[str, object]]:
    """The status, headers and JSON body of a raw answer."""
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value for name, _, value in (line.partition(": ") for line in lines)}
    document: dict[str, object] = json.loads(body[: int(headers["content-length"])])
    return int(status_line.split(" ")[1]), headers, document


def get(target: bytes, extra: bytes = b"") -> bytes:
    return b"GET " + target + b" HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer key-a\r\n" + extra + b"\r\n"


def error_code(answer: bytes) -> tuple[int, str]:
    status, headers, body = envelope_of(answer)
    error = body["error"]
    assert isinstance(error, dict)
    meta = body["meta"]
    assert isinstance(meta, dict)
    assert headers["content-type"] == "application/json"
    assert meta["requestId"] == headers["x-request-id"]
    return status, str(error["code"])


def test_a_request_target_one_byte_over_its_limit_is_refused_with_414(address: tuple[str, int]) -> None:
    path = b"/v1/connectors/conn_abc123?"
    at_limit = path + b"x" * (MAX_TARGET_BYTES - len(path))
    assert exchange(address, get(at_limit)).startswith(b"HTTP/1.1 200")
    assert error_code(exchange(address, get(at_limit + b"x"))) == (414, "invalid_request")


def test_the_longest_target_the_contract_allows_fits(address: tuple[str, int]) -> None:
    """A 200-character name of 4-byte characters and a 2,048-character redirect URI whose
    every character is percent-encoded: no request the contract allows meets the 414."""
    query = {
        "collection": "col_" + "c" * 64,
        "name": "\U0001f600" * 200,
        "redirect_uri": "http://localhost/" + "!" * (2048 - len("http://localhost/")),
    }
    target = "/v1/connectors/oauth/google_drive/authorize?" + urlencode(query, quote_via=quote, safe="")
    assert 8 * 1024 < len(target) <= MAX_TARGET_BYTES
    assert not exchange(address, get(target.encode())).startswith(b"HTTP/1.1 414")


def test_headers_one_byte_over_their_limit_are_refused_with_431(address: tuple[str, int]) -> None:
    bare = len(get(b"/v1/connectors", b"X-Pad: \r\n"))
    fits = get(b"/v1/connectors", b"X-Pad: " + b"p" * (MAX_HEAD_BYTES - bare) + b"\r\n")
    assert len(fits) == MAX_HEAD_BYTES
    assert exchange(address, fits).startswith(b"HTTP/1.1 200")
    over = get(b"/v1/connectors", b"X-Pad: " + b"p" * (MAX_HEAD_BYTES - bare + 1) + b"\r\n")
    assert error_code(exchange(address, over)) == (431, "invalid_request")


def test_a_huge_header_is_refused_without_being_read_whole(address: tuple[str, int]) -> None:
    """A 300 MiB header value was once buffered and answered 200."""
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(get(b"/v1/connectors")[:-2] + b"X-Huge: ")
        sent = 0
        try:
            while sent < 64 * 1024 * 1024:
                sock.sendall(b"h" * 65536)
                sent += 65536
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading and closed
    assert sent < 8 * 1024 * 1024


@pytest.mark.parametrize(
    ("request_bytes", "reason"),
    [
        (b"GET /v1/caf\xc3\xa9 HTTP/1.1\r\nHost: test\r\n\r\n", "url"),
        (b"GET /v1/connectors?q=\xff HTTP/1.1\r\nHost: test\r\n\r\n", ""),
        (b"BREW /v1/connectors HTTP/1.1\r\nHost: test\r\n\r\n", "method"),
        (b"GET /v1/connectors HTTP/1.1\r\nHost: test\r\nX-Bad: a\x01b\r\n\r\n", "header"),
        (b"POST /v1/connectors HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "chunk"),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", ""),
    ],
)
def test_what_the_http_parser_refuses_is_answered_with_the_envelope(
    address: tuple[str, int], request_bytes: bytes, reason: str
) -> None:
    answer = exchange(address, request_bytes)
    if answer.startswith(b"HTTP/1.1 4"):
        status, code = error_code(answer)
        assert (status, code) == (400, "invalid_request")
        assert reason.lower() in answer.decode("latin-1").lower()
    else:
        assert answer.startswith(b"HTTP/1.1 "), answer


def test_an_upgrade_request_is_answered_as_plain_http_without_a_warning(
    address: tuple[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    """uvicorn logged a misleading warning about a missing WebSocket library for every one."""
    with caplog.at_level(logging.WARNING):
        answer = exchange(address, get(b"/v1/connectors", b"Connection: Upgrade\r\nUpgrade: websocket\r\n"), 2)
    assert answer.startswith(b"HTTP/1.1 200")
    assert not [record for record in caplog.records if "WebSocket" in record.getMessage()]


def test_a_head_that_never_ends_is_answered_408_and_closed(spec: Spec, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server, "HEAD_TIMEOUT_SECONDS", 0.3)
    with running(build_app(Settings(seed=1), spec)) as url:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        answer = exchange((host, int(port)), b"GET /v1/connectors HTTP/1.1\r\nHost: te")
        assert error_code(answer) == (408, "timeout")
        # A connection that never says anything is closed without a word.
        assert exchange((host, int(port)), b"") == b""


def test_bytes_refused_after_a_request_wait_for_its_answer(
    address: tuple[str, int], capfd: pytest.CaptureFixture[str]
) -> None:
    """The refusal once went out first and the app's answer then failed, with a traceback."""
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(get(b"/v1/connectors/conn_abc123") + b"garbage\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    first, _, rest = answer.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 200 ")
    assert b"HTTP/1.1 400 " in rest
    assert "Traceback" not in capfd.readouterr().err


def test_an_http_1_1_request_without_a_host_is_refused(address: tuple[str, int]) -> None:
    answer = exchange(address, b"GET /v1/connectors HTTP/1.1\r\nAuthorization: Bearer k\r\n\r\n")
    assert error_code(answer) == (400, "invalid_request")
    assert b"Host header" in answer
