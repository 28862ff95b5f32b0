"""Each named check refuses the answer it exists for and accepts a right one."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from schemathesis.core.transport import Response

from connectors_mock.contract.checks import Check, named_checks
from connectors_mock.contract.ledger import Ledger
from connectors_mock.contract.plugin import configured_schema, contract_document

JOB = {
    "jobId": "job_1",
    "connectorId": "conn_1",
    "status": "running",
    "syncMode": "auto",
    "fileFilter": None,
    "progress": {"collected": 10, "parsed": 8, "indexed": 5},
    "startedAt": "2024-01-20T14:00:00Z",
    "completedAt": None,
    "error": None,
}
# The checks read nothing from schemathesis's context.
CONTEXT: Any = None
META = {"requestId": "req_1", "timestamp": "2024-01-20T14:00:00Z"}


def checks(ledger: Ledger | None = None) -> dict[str, Check]:
    schemas = contract_document()["components"]["schemas"]
    built = named_checks(ledger or Ledger(), frozenset(schemas["ErrorCode"]["enum"]), schemas["RequestId"]["pattern"])
    return {check.__name__: check for check in built}


def case(operation_id: str, **parts: Any) -> Any:
    return configured_schema(0, 1).find_operation_by_id(operation_id).Case(**parts)


def answer(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    content = b"" if body is None else json.dumps(body).encode()
    return Response(
        status_code=status,
        headers={key.lower(): [value] for key, value in (headers or {}).items()},
        content=content,
        request=requests.Request("GET", "http://127.0.0.1/v1/connectors").prepare(),
        elapsed=0.0,
        verify=True,
    )


def test_credentials_accepted_at_create_must_not_come_back_later() -> None:
    check = checks(Ledger())["credentials_never_returned"]
    create = case("createConnector", body={"name": "n", "credentials": {"token": "ghp_secret_value"}})
    check(CONTEXT, answer(201, {"data": {"id": "conn_1"}, "meta": META}), create)
    with pytest.raises(AssertionError, match=r"at \$\.data\.credentials\.token"):
        check(CONTEXT, answer(200, {"data": {"credentials": {"token": "ghp_secret_value"}}}), case("listConnectors"))


def test_a_rejected_create_does_not_make_its_credentials_secret() -> None:
    check = checks(Ledger())["credentials_never_returned"]
    create = case("createConnector", body={"name": "n", "credentials": {"token": "ghp_secret_value"}})
    check(CONTEXT, answer(422, {"error": {}, "meta": META}), create)
    check(CONTEXT, answer(200, {"data": "ghp_secret_value"}), case("listConnectors"))


@pytest.mark.parametrize(
    ("response", "problem"),
    [
        (answer(200, {"data": [], "meta": {"timestamp": "x"}}), "no `meta.requestId`"),
        (answer(200, {"data": []}), "no `meta.requestId`"),
        (answer(200, {"data": [], "meta": META}, {"X-Request-ID": "req_2"}), "`X-Request-ID` is 'req_2'"),
    ],
)
def test_every_answer_carries_its_request_id(response: Response, problem: str) -> None:
    with pytest.raises(AssertionError, match=problem):
        checks()["request_id_in_meta"](CONTEXT, response, case("listConnectors"))


def test_a_request_id_the_client_chose_comes_back() -> None:
    check = checks()["request_id_in_meta"]
    chosen = case("listConnectors", headers={"X-Request-ID": "mine-1"})
    check(CONTEXT, answer(200, {"data": [], "meta": {**META, "requestId": "mine-1"}}), chosen)
    with pytest.raises(AssertionError, match="came back as"):
        check(CONTEXT, answer(200, {"data": [], "meta": META}), chosen)
    check(CONTEXT, answer(204, None), case("deleteConnector", path_parameters={"id": "conn_1"}))


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"message": "gone"}, "without the error envelope"),
        ({"error": {"code": "connector_not_found", "message": "gone"}, "meta": META}, "not a documented error code"),
        ({"error": {"code": "not_found", "message": ""}, "meta": META}, "message is empty"),
    ],
)
def test_errors_use_the_envelope_and_a_documented_code(body: Any, problem: str) -> None:
    check = checks()["error_envelope"]
    with pytest.raises(AssertionError, match=problem):
        check(CONTEXT, answer(404, body), case("getConnector", path_parameters={"id": "conn_1"}))
    check(
        CONTEXT, answer(404, {"error": {"code": "not_found", "message": "gone"}, "meta": META}), case("listConnectors")
    )


def status_of(progress: dict[str, int], status: str = "running") -> Response:
    return answer(200, {"data": {**JOB, "status": status, "progress": progress}, "meta": META})


def test_sync_counters_stay_in_order_and_never_go_back() -> None:
    check = checks(Ledger())["sync_progress_ordered"]
    poll = case("getSyncStatus", path_parameters={"id": "conn_1", "jobId": "job_1"})
    check(CONTEXT, status_of({"collected": 10, "parsed": 8, "indexed": 5}), poll)
    with pytest.raises(AssertionError, match="went down"):
        check(CONTEXT, status_of({"collected": 9, "parsed": 8, "indexed": 5}), poll)
    with pytest.raises(AssertionError, match="collected, then parsed, then indexed"):
        check(CONTEXT, status_of({"collected": 20, "parsed": 8, "indexed": 9}), poll)
    with pytest.raises(AssertionError, match="completed job with unequal counters"):
        check(CONTEXT, status_of({"collected": 30, "parsed": 30, "indexed": 29}, "completed"), poll)


PLAN = {"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "59", "X-RateLimit-Reset": "1735689660"}


@pytest.mark.parametrize(
    ("response", "problem"),
    [
        (answer(200, {"data": [], "meta": META}), "A 200 without X-RateLimit-Limit, X-RateLimit-Remaining"),
        (answer(404, {"error": {}}, {**PLAN, "X-RateLimit-Reset": "soon"}), "not whole numbers"),
        (answer(200, {"data": []}, {**PLAN, "X-RateLimit-Remaining": "61"}), "Remaining 61 is more than"),
        (answer(429, {"error": {}}, {**PLAN, "Retry-After": "5"}), "A 429 with X-RateLimit-Remaining 59"),
        (answer(429, {"error": {}}, {**PLAN, "X-RateLimit-Remaining": "0"}), "A 429 without Retry-After"),
    ],
)
def test_every_answer_but_a_401_reports_the_plan_and_it_holds_together(response: Response, problem: str) -> None:
    with pytest.raises(AssertionError, match=problem):
        checks()["rate_limit_reported"](CONTEXT, response, case("listConnectors"))


def test_a_401_and_a_plan_that_holds_together_pass() -> None:
    check = checks()["rate_limit_reported"]
    check(CONTEXT, answer(401, {"error": {}}), case("listConnectors"))
    check(CONTEXT, answer(200, {"data": []}, PLAN), case("listConnectors"))
    check(
        CONTEXT,
        answer(429, {"error": {}}, {**PLAN, "X-RateLimit-Remaining": "0", "Retry-After": "5"}),
        case("listConnectors"),
    )
