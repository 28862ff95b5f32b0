"""The request journal without a server: what it keeps of a request, what it hides, and
which entries a query gets back."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors_mock.auth import tenant_label
from connectors_mock.clock import MANUAL_EPOCH
from connectors_mock.errors import ApiError, FieldError
from connectors_mock.journal import (
    Entry,
    Journal,
    JournalEntry,
    JournalFilter,
    body_for_journal,
    journal_filter,
)
from connectors_mock.json_text import MAX_DEPTH
from connectors_mock.masking import MASK, mask_body
from tests.conftest import json_values

# --- request bodies --------------------------------------------------------------------------


def kept(raw: bytes, **options: Any) -> Any:
    """What the journal shows of a body (it keeps it as JSON text)."""
    text = body_for_journal(raw, **options)
    return json.loads(text) if text is not None else None


def test_an_empty_body_is_none() -> None:
    assert kept(b"") is None


def test_a_json_body_is_kept_masked() -> None:
    raw = json.dumps({"code": "code_1", "state": "st_1"}).encode()
    assert kept(raw) == {"code": MASK, "state": "st_1"}
    assert kept(b"null") is None
    assert kept(b'"x"') == "x"


@pytest.mark.parametrize(
    "raw",
    [
        b"code=code_1&state=st_1",  # a form where JSON was expected: its code must not show
        b'{"a": 1',
        b'"\xff"',  # not UTF-8
        '{"a": 1}'.encode("utf-16"),  # JSON, but not UTF-8
        b'\xef\xbb\xbf{"a": 1}',  # a byte order mark
        b'{"a": "\\ud800"}',  # a lone surrogate could not be written back out as UTF-8
        b'{"\\udfff": 1}',
        b'{"a": NaN}',
        b'{"a": 1e999}',  # would come back out as Infinity
        b"9" * 5000,  # past Python's int digits limit
        b"[" * 30_000 + b"]" * 30_000,  # deeper than the parser goes
        b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1),  # parses, but deeper than the API takes
    ],
)
def test_a_body_that_is_not_json_is_described_not_kept(raw: bytes) -> None:
    assert kept(raw) == f"<{len(raw)} bytes, not JSON>"


def test_nesting_the_api_takes_is_kept() -> None:
    raw = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    assert json.dumps(kept(raw)).replace(" ", "").encode() == raw


def test_a_body_over_the_limit_is_described_without_reading_it() -> None:
    at_limit = b'"' + b"a" * (64 * 1024 - 2) + b'"'
    assert kept(at_limit) == "a" * (64 * 1024 - 2)
    over = b"{" + b" " * (64 * 1024)
    assert kept(over) == f"<{64 * 1024 + 1} bytes, not kept>"
    assert kept(b'{"a": 1}', limit=4) == "<8 bytes, not kept>"


@given(st.binary(max_size=200))
def test_any_bytes_give_an_answer(raw: bytes) -> None:
    json.dumps(kept(raw), ensure_ascii=False).encode("utf-8")


@given(json_values)
def test_any_json_body_is_kept_as_masked(value: Any) -> None:
    raw = json.dumps(value, ensure_ascii=False).encode("utf-8")
    assert kept(raw) == mask_body(value)


# --- parsing a journal query -----------------------------------------------------------------


def test_no_parameters_is_the_default_filter() -> None:
    assert journal_filter({}) == JournalFilter()


def test_every_parameter_is_read() -> None:
    params = {
        "operation": "createConnector",
        "method": "post",
        "path": "/v1/connectors",
        "status": "4XX",
        "tenant": "key_0123456789ab",
        "scenario": "flaky-sync",
        "fault": "true",
        "request_id": "req_abc",
        "since": "5",
        "limit": "1000",
    }
    assert journal_filter(params) == JournalFilter(
        operation="createConnector",
        method="post",
        path="/v1/connectors",
        status="4xx",
        tenant="key_0123456789ab",
        scenario="flaky-sync",
        fault=True,
        request_id="req_abc",
        since=5,
        limit=1000,
    )
    assert journal_filter({"fault": "false", "status": "none", "limit": "1", "since": "0"}) == JournalFilter(
        fault=False, status="none", limit=1, since=0
    )


def refused(params: dict[str, str]) -> ApiError:
    with pytest.raises(ApiError) as caught:
        journal_filter(params)
    assert caught.value.status == 422
    assert caught.value.code == "validation_failed"
    return caught.value


def test_every_refused_parameter_is_named_at_once() -> None:
    error = refused(
        {
            "limit": "abc",
            "since": "-1",
            "status": "4x",
            "fault": "yes",
            "colour": "red",
            "path": "v1/connectors",
            "method": "GET /",
            "operation": "",
        }
    )
    assert error.field_errors == (
        FieldError("query", "limit", 'must be an integer from 1 to 1000, not "abc"'),
        FieldError("query", "since", 'must be an entry id: an integer of 0 or more, not "-1"'),
        FieldError(
            "query", "status", 'must be a status code such as "404", a class such as "4xx", or "none", not "4x"'
        ),
        FieldError("query", "fault", 'must be "true" or "false", not "yes"'),
        FieldError(
            "query",
            "colour",
            "is not a journal filter (known: fault, kind, limit, method, operation, path, request_id, scenario, "
            "since, status, tenant)",
        ),
        FieldError("query", "path", 'must be the start of a path, beginning with "/", not "v1/connectors"'),
        FieldError("query", "method", 'must be an HTTP method such as GET or POST, not "GET /"'),
        FieldError("query", "operation", "must not be empty; leave the parameter out to match every entry"),
    )
    assert error.message == 'Journal query refused: limit: must be an integer from 1 to 1000, not "abc" (and 7 more)'


@pytest.mark.parametrize("limit", ["0", "1001", "99999", "1.5", " 5", "+5", "5_0", "١٢", ""])
def test_limit_is_a_plain_integer_from_1_to_1000(limit: str) -> None:
    (error,) = refused({"limit": limit}).field_errors
    assert error.path == "limit"


@pytest.mark.parametrize("status", ["600", "099", "40", "4xxx", "x4x", "ok", "6xx"])
def test_status_is_a_code_a_class_or_none(status: str) -> None:
    (error,) = refused({"status": status}).field_errors
    assert error.path == "status"
    assert json.dumps(status) in error.message


def test_an_unknown_parameter_is_named_but_its_value_not_shown() -> None:
    error = refused({"api_key": "sk_live_0123"})
    assert "api_key" in error.message
    assert "sk_live_0123" not in error.message
    assert all("sk_live_0123" not in field.message for field in error.field_errors)


def test_a_long_value_is_shortened_in_the_message() -> None:
    (error,) = refused({"limit": "9" * 500}).field_errors
    assert len(error.message) < 120


# --- the journal -----------------------------------------------------------------------------


def record(journal: Journal, **overrides: Any) -> Entry:
    fields: dict[str, Any] = {
        "request_id": f"req_{journal.last_id + 1}",
        "at": MANUAL_EPOCH,
        "method": "GET",
        "path": "/v1/connectors",
        "query": {},
        "operation_id": "listConnectors",
        "tenant": tenant_label("key-a"),
        "scenario": None,
        "fault": None,
        "status": 200,
        "error_code": None,
        "duration_ms": 1.0,
        "request_body": None,
    }
    fields.update(overrides)
    return journal.record(JournalEntry(**fields))


def ids(entries: Sequence[Entry]) -> list[int]:
    return [entry.id for entry in entries]


@pytest.fixture
def journal() -> Journal:
    """Seven requests of two tenants, two of them touched by a scenario."""
    journal = Journal()
    record(journal)  # 1
    record(journal, method="POST", operation_id="createConnector", status=201)  # 2
    record(journal, path="/v1/connectors/conn_abc", operation_id="getConnector", status=404, error_code="not_found")
    record(
        journal,
        path="/v1/connectors/conn_abc/sync",
        method="POST",
        operation_id="triggerSync",
        scenario="flaky",
        fault="error 503",
        status=503,
        error_code="service_unavailable",
    )  # 4
    record(journal, scenario="flaky", fault="drop", status=None, tenant=tenant_label("key-b\nteam_1"))  # 5
    record(journal, method="DELETE", path="/v2/nothing", operation_id=None, status=404, tenant=None)  # 6
    record(journal, scenario="flaky", tenant=tenant_label("key-b\nteam_1"))  # 7: the scenario let it through
    return journal


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (JournalFilter(), [1, 2, 3, 4, 5, 6, 7]),
        (JournalFilter(operation="createConnector"), [2]),
        (JournalFilter(operation="listConnectors"), [1, 5, 7]),
        (JournalFilter(method="post"), [2, 4]),
        (JournalFilter(method="Delete"), [6]),
        (JournalFilter(path="/v1/connectors/conn_abc"), [3, 4]),
        (JournalFilter(path="/v1/connectors/conn_abc/"), [4]),
        (JournalFilter(path="/v2"), [6]),
        (JournalFilter(status="404"), [3, 6]),
        (JournalFilter(status="4xx"), [3, 6]),
        (JournalFilter(status="5XX"), [4]),
        (JournalFilter(status="2xx"), [1, 2, 7]),
        (JournalFilter(status="none"), [5]),
        (JournalFilter(status="500"), []),
        (JournalFilter(tenant=tenant_label("key-b\nteam_1")), [5, 7]),
        (JournalFilter(tenant=tenant_label("key-b")), []),
        (JournalFilter(scenario="flaky"), [4, 5, 7]),
        (JournalFilter(fault=True), [4, 5]),
        (JournalFilter(fault=False), [1, 2, 3, 6, 7]),
        (JournalFilter(request_id="req_3"), [3]),
        (JournalFilter(since=5), [6, 7]),
        (JournalFilter(since=7), []),
        (JournalFilter(scenario="flaky", fault=False), [7]),
        (JournalFilter(status="4xx", operation="getConnector"), [3]),
    ],
)
def test_each_filter_picks_its_entries(journal: Journal, query: JournalFilter, expected: list[int]) -> None:
    assert ids(journal.entries(query)) == expected


def test_a_parsed_query_filters_the_same(journal: Journal) -> None:
    assert ids(journal.entries(journal_filter({"fault": "true", "method": "GET"}))) == [5]


def test_limit_returns_the_newest_matches_oldest_first(journal: Journal) -> None:
    assert ids(journal.entries(JournalFilter(limit=3))) == [5, 6, 7]
    assert ids(journal.entries(JournalFilter(limit=2, status="4xx"))) == [3, 6]
    assert ids(journal.entries(JournalFilter(limit=1, fault=False))) == [7]
    # With `since`, a poller pages forward: the first entries after it, from the very first.
    assert ids(journal.entries(JournalFilter(limit=2, since=4))) == [5, 6]
    assert ids(journal.entries(journal_filter({"limit": "2", "since": "0"}))) == [1, 2]


def test_beyond_its_capacity_the_oldest_entries_go() -> None:
    journal = Journal(capacity=3)
    for _ in range(5):
        record(journal)
    assert len(journal) == 3
    assert ids(journal.entries()) == [3, 4, 5]
    assert journal.last_id == 5


def test_ids_keep_counting_after_a_clear_so_since_still_works(journal: Journal) -> None:
    mark = journal.last_id
    journal.clear()
    assert len(journal) == 0
    assert journal.entries() == []
    assert journal.last_id == mark
    entry = record(journal)
    assert entry.id == mark + 1
    assert ids(journal.entries(JournalFilter(since=mark))) == [mark + 1]


def test_an_empty_journal() -> None:
    journal = Journal()
    assert len(journal) == 0
    assert journal.last_id == 0
    assert journal.entries() == []
    with pytest.raises(ValueError, match="capacity"):
        Journal(capacity=0)


def test_an_entry_as_json() -> None:
    journal = Journal()
    entry = record(
        journal,
        request_id="req_9",
        at=datetime(2025, 1, 1, 12, 30, 5, 900_000, tzinfo=UTC),
        method="POST",
        path="/v1/connectors/oauth/google_drive/callback",
        query={"collection": "col_a"},
        operation_id="completeOAuth",
        tenant=tenant_label("sk_live_secret\nteam_1"),
        scenario="slow",
        fault="latency 200 ms",
        status=400,
        error_code="invalid_grant",
        duration_ms=203.456,
        request_body=body_for_journal(b'{"code": "code_1", "state": "st_1"}'),
    )
    shown = entry.to_json()
    assert shown == {
        "id": 1,
        "requestId": "req_9",
        "at": "2025-01-01T12:30:05Z",
        "method": "POST",
        "path": "/v1/connectors/oauth/google_drive/callback",
        "query": {"collection": "col_a"},
        "operationId": "completeOAuth",
        "tenant": tenant_label("sk_live_secret\nteam_1"),
        "scenario": "slow",
        "fault": "latency 200 ms",
        "status": 400,
        "errorCode": "invalid_grant",
        "durationMs": 203.5,
        "requestBody": {"code": MASK, "state": "st_1"},
        "note": None,
    }
    text = json.dumps(shown)
    assert "sk_live_secret" not in text
    assert "code_1" not in text


def test_a_dropped_request_as_json() -> None:
    shown = record(Journal(), status=None, fault="drop", operation_id=None, tenant=None).to_json()
    assert shown["status"] is None
    assert shown["fault"] == "drop"
    assert shown["operationId"] is None
    assert shown["tenant"] is None


def test_entries_are_dropped_oldest_first_past_the_byte_budget() -> None:
    size = record(Journal(), request_body=body_for_journal(b'"' + b"a" * 298 + b'"')).size()
    journal = Journal(capacity=100, budget=3 * size + size // 2)
    for _ in range(10):
        record(journal, request_body=body_for_journal(b'"' + b"a" * 298 + b'"'))
    assert ids(journal.entries()) == [8, 9, 10], "three entries fit in three and a half"


def test_the_budget_counts_what_an_entry_keeps_besides_its_body() -> None:
    """10,000 requests with long query strings and no body once held 630 MiB."""
    journal = Journal(capacity=10_000, budget=1024 * 1024)
    long = "q" * 8000
    for _ in range(1000):
        record(journal, path="/v1/" + long, query={"filter": long}, request_id="req_" + "r" * 120)
    assert journal.size <= 1024 * 1024
    assert 40 < len(journal) < 100
