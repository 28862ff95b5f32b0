"""What a client can send wrong at the HTTP level: each gets a clear error, nothing breaks."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from connectors_mock import inputs
from connectors_mock.app import Settings, build_app
from connectors_mock.inputs import MAX_BODY_BYTES
from connectors_mock.json_text import MAX_DEPTH
from connectors_mock.server import running
from connectors_mock.spec import Spec
from tests.conftest import S3_CREATE


def error_of(response: object) -> dict[str, object]:
    body: dict[str, dict[str, object]] = response.json()  # type: ignore[attr-defined]
    return body["error"]


def test_malformed_json_is_a_400_naming_where(client: TestClient) -> None:
    response = client.post("/v1/connectors", content=b'{"name": "x",', headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_request"
    assert "line 1 column" in str(error_of(response)["message"])


def test_non_finite_numbers_are_not_json(client: TestClient) -> None:
    body = json.dumps({**S3_CREATE, "config": {**S3_CREATE["config"], "bucket": float("nan")}})
    response = client.post("/v1/connectors", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "NaN" in str(error_of(response)["message"])


def test_invalid_utf8_is_a_400(client: TestClient) -> None:
    response = client.post("/v1/connectors", content=b'{"name": "\xff"}', headers={"Content-Type": "application/json"})
    assert response.status_code == 400


def test_a_surrogate_encoded_as_raw_bytes_is_refused_and_breaks_nothing(client: TestClient) -> None:
    """CESU-style bytes for U+D800: stored, they would make every later list a 500."""
    body = json.dumps({**S3_CREATE, "name": "A@@B"}).encode().replace(b"@@", b"\xed\xa0\x80")
    response = client.post("/v1/connectors", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "not UTF-8" in str(error_of(response)["message"])
    assert client.get("/v1/connectors").status_code == 200


def test_a_utf16_body_is_not_json_for_this_api(client: TestClient) -> None:
    body = json.dumps(S3_CREATE).encode("utf-16")
    response = client.post("/v1/connectors", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400


def test_numbers_too_large_for_any_field_are_refused_plainly(client: TestClient) -> None:
    for number, words in (("1" * 5000, "5000 digits"), ("1e400", "1e400 is too large")):
        body = json.dumps({**S3_CREATE, "name": "@@"}).replace('"@@"', number)
        response = client.post("/v1/connectors", content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 400
        assert words in str(error_of(response)["message"])
        assert "sys." not in response.text


def test_thousands_of_errors_are_summed_up_not_all_listed(client: TestClient) -> None:
    body = {**S3_CREATE, "config": {**S3_CREATE["config"], **{f"extra{i}": i for i in range(5000)}}}
    response = client.post("/v1/connectors", json=body)
    assert response.status_code == 422
    assert len(error_of(response)["details"]["errors"]) == 100  # type: ignore[index]
    assert "(and at least 100 more; details.errors lists the first 100)" in str(error_of(response)["message"])


def test_deeply_nested_json_is_refused_not_crashed_on(client: TestClient) -> None:
    body = b'{"name":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = client.post("/v1/connectors", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code in (400, 422)


@pytest.mark.parametrize("path", ["/v1/connectors", "/_mock/state"])
def test_nesting_one_level_past_the_limit_is_a_400_naming_where(client: TestClient, path: str) -> None:
    """A body, a state import or a scenario nested near 1000 levels deep once met 500s."""
    nested: dict[str, Any] = {"a": None}
    for _ in range(MAX_DEPTH - 2):
        nested = {"a": nested}
    at_limit = client.request("POST" if path == "/v1/connectors" else "PUT", path, json={"x": nested})
    assert at_limit.status_code == 422
    response = client.request("POST" if path == "/v1/connectors" else "PUT", path, json={"x": {"a": nested}})
    assert response.status_code == 400
    assert str(error_of(response)["message"]) == (
        f"Request body nests deeper than {MAX_DEPTH} levels (at $.x" + ".a" * (MAX_DEPTH - 1) + ")"
    )


def test_a_body_that_stops_arriving_is_a_408(spec: Spec, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inputs, "BODY_TIMEOUT_SECONDS", 0.3)
    with running(build_app(Settings(seed=1), spec)) as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            head = b"POST /v1/connectors HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n"
            sock.sendall(head + b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
            answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b'"code":"timeout"' in answer


def test_a_lone_surrogate_is_refused_with_its_place(client: TestClient) -> None:
    body = json.dumps({**S3_CREATE, "config": {**S3_CREATE["config"], "prefix": "bad \ud800"}})
    response = client.post("/v1/connectors", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "$.config.prefix" in str(error_of(response)["message"])


def test_a_surrogate_pair_is_an_ordinary_character(client: TestClient) -> None:
    body = json.dumps({**S3_CREATE, "name": "folder \U0001f4c1"})
    assert "\\ud83d\\udcc1" in body
    response = client.post("/v1/connectors", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 201
    assert response.json()["data"]["name"] == "folder \U0001f4c1"


def test_the_wrong_content_type_is_a_415(client: TestClient) -> None:
    response = client.post("/v1/connectors", content=json.dumps(S3_CREATE), headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert "application/json" in str(error_of(response)["message"])
    assert "text/plain" in str(error_of(response)["message"])


def test_a_charset_parameter_is_fine(client: TestClient) -> None:
    headers = {"Content-Type": "application/json; charset=utf-8"}
    assert client.post("/v1/connectors", content=json.dumps(S3_CREATE), headers=headers).status_code == 201


def test_a_missing_body_is_a_400(client: TestClient) -> None:
    response = client.post("/v1/connectors")
    assert response.status_code == 400
    assert "required" in str(error_of(response)["message"])


def test_an_optional_body_may_be_left_out(client: TestClient) -> None:
    assert client.post("/v1/connectors/conn_abc123/sync").status_code != 400


def test_a_body_over_one_mebibyte_is_a_413(client: TestClient) -> None:
    body = json.dumps({**S3_CREATE, "name": "x" * MAX_BODY_BYTES})
    response = client.post("/v1/connectors", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert "1 MiB" in str(error_of(response)["message"])


def test_a_chunked_body_over_one_mebibyte_is_a_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'"}'

    response = client.post("/v1/connectors", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413


def test_a_body_just_under_the_limit_is_read_and_the_reason_kept_short(client: TestClient) -> None:
    body = json.dumps({**S3_CREATE, "name": "x" * (MAX_BODY_BYTES - 400)})
    response = client.post("/v1/connectors", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    [error] = error_of(response)["details"]["errors"]  # type: ignore[index]
    assert error["path"] == "$.name"
    assert error["message"].endswith("(1048178 characters) is longer than 200 characters")
    assert len(response.content) < 1000
