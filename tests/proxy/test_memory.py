"""What the proxy remembers is bounded, and it judges an answer only against what was settled
before its request started."""

from __future__ import annotations

from connectors_mock.contract.ledger import Progress
from connectors_mock.proxy.judge import BoundedLedger, redacted
from connectors_mock.proxy.memory import Bounded, Memory
from connectors_mock.proxy.violations import Violations

S3 = {"id": "conn_1", "name": "Docs", "type": "s3", "collection": "col_1", "config": {"bucket": "b", "region": "r"}}


def add(violations: Violations, number: int) -> None:
    violations.add(
        "response",
        "response_schema",
        operation="getConnector",
        method="GET",
        path="/v1/connectors/conn_1",
        request_id=f"req_{number}",
        status=200,
        where="$.data",
        expected="x",
        found="y" * 1000,
    )


def test_violations_past_the_limit_are_counted_not_kept() -> None:
    violations = Violations(limit=3)
    for number in range(5):
        add(violations, number)
    report = violations.to_json()
    assert (report["total"], report["dropped"], len(report["violations"])) == (5, 2, 3)
    assert report["bySide"] == {"request": 0, "response": 5, "invariant": 0}
    assert len(report["violations"][0]["found"]) == 300
    assert "5 contract violations (0 request, 5 response, 0 invariant)" in violations.summary()


def test_a_bounded_dict_forgets_the_least_recently_set() -> None:
    seen: Bounded[str, int] = Bounded(2)
    seen["a"], seen["b"], seen["a"], seen["c"] = 1, 2, 3, 4
    assert dict(seen) == {"a": 3, "c": 4}


def test_the_ledger_keeps_at_most_its_limit_of_secrets_and_jobs() -> None:
    ledger = BoundedLedger(limit=2)
    for number in range(4):
        ledger.record_accepted_credentials({"credentials": {"token": f"secret-number-{number}"}})
        ledger.record_progress(f"job_{number}", Progress(1, 1, 1))
    assert ledger.secrets == {"secret-number-2", "secret-number-3"}
    assert list(ledger.progress) == ["job_2", "job_3"]


def test_a_credential_is_replaced_wherever_it_is_and_whatever_field_holds_it() -> None:
    body = {"data": [{"config": {"label": "secret-1"}, "name": "secret-1 and more"}]}
    assert redacted(body, {"secret-1"}) == {
        "data": [{"config": {"label": "<credential>"}, "name": "secret-1 and more"}]
    }
    assert redacted(body, {"other"}) is body
    # Never seen accepted, but under a secret's name: hidden too; an error's `code` is not.
    unseen = {"data": {"credentials": {"user": "u"}, "apiToken": "t"}, "error": {"code": "not_found"}}
    assert redacted(unseen, set()) == {
        "data": {"credentials": {"user": "<credential>"}, "apiToken": "<credential>"},
        "error": {"code": "not_found"},
    }


def test_a_read_overlapping_a_write_is_not_judged() -> None:
    memory = Memory()
    memory.created("t", S3, S3, memory.tick())
    update_started = memory.tick()
    memory.write_begins("t", "conn_1", update_started)
    read_started = memory.tick()
    # The read came while the rename was in flight: either name is right.
    assert memory.read("t", "conn_1", {**S3, "name": "Renamed"}, read_started) == []
    memory.write_ends("t", "conn_1")
    renamed = {**S3, "name": "Renamed"}
    assert (
        memory.updated("t", "conn_1", {"name": "Renamed"}, renamed, started=update_started, settled=memory.tick()) == []
    )
    # A read that started after the rename settled must show it.
    [stale] = memory.read("t", "conn_1", S3, memory.tick())
    assert (stale.check, stale.where, stale.expected, stale.found) == (
        "reads_back_as_written",
        "$.data.name",
        '"Renamed"',
        '"Docs"',
    )


def test_a_deleted_connector_answering_or_listed_is_an_invariant_violation() -> None:
    memory = Memory()
    memory.created("t", S3, S3, memory.tick())
    memory.deleted("t", "conn_1", memory.tick())
    [read] = memory.read("t", "conn_1", S3, memory.tick())
    assert read.check == "deleted_stays_deleted"
    [listed] = memory.listed("t", [S3], memory.tick())
    assert (listed.check, listed.where) == ("deleted_stays_deleted", "$.data[0].id")


def test_a_list_must_hold_what_this_team_created() -> None:
    memory = Memory()
    memory.created("t", S3, S3, memory.tick())
    [missing] = memory.listed("t", [], memory.tick())
    assert missing.check == "lists_hold_what_was_created"
    assert memory.listed("another team", [], memory.tick()) == []


def test_a_connector_answered_to_another_team_is_an_invariant_violation() -> None:
    memory = Memory()
    memory.created("t", S3, S3, memory.tick())
    [finding] = memory.read("u", "conn_1", S3, memory.tick())
    assert finding.check == "teams_see_only_their_own"
