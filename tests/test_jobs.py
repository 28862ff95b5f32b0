"""The job timeline as a pure function of its script and the time since it started."""

from __future__ import annotations

import random
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from connectors_mock.clock import MANUAL_EPOCH
from connectors_mock.jobs import (
    TYPICAL_DOCUMENTS,
    Job,
    JobState,
    Progress,
    SyncFailure,
    SyncRequest,
    SyncScript,
    default_script,
    is_full_sync,
    job_state,
    requested_sync,
)

STATUS_ORDER = {"queued": 0, "running": 1, "completed": 2, "failed": 2}
FAILURE = SyncFailure(at=0.5, code="source_unreachable", message="The bucket stopped answering")


def counts(state: JobState) -> tuple[int, int, int]:
    return state.progress.collected, state.progress.parsed, state.progress.indexed


def test_the_default_script_queues_runs_and_completes_within_five_seconds() -> None:
    script = SyncScript(total=1000)
    readings = [job_state(script, step * 0.5) for step in range(11)]
    statuses = [state.status for state in readings]
    assert statuses == ["queued"] + ["running"] * 8 + ["completed"] * 2
    assert counts(readings[0]) == (0, 0, 0)
    # Half way through the run: collection leads, indexing trails.
    assert counts(readings[5]) == (714, 500, 285)
    assert counts(readings[-1]) == (1000, 1000, 1000)
    # A client polling every half second sees the bar move, not jump.
    assert len({counts(state) for state in readings if state.status == "running"}) >= 3


def test_a_failing_job_stops_where_it_failed_and_says_why() -> None:
    script = SyncScript(total=1000, failure=FAILURE)
    assert script.finishes_after == 2.5
    assert job_state(script, 2.4).status == "running"
    failed = job_state(script, 2.5)
    assert failed.status == "failed"
    assert failed.error == FAILURE
    assert counts(failed) == (714, 500, 285)
    assert job_state(script, 3600) == failed


def test_a_failure_at_the_start_of_the_run_fails_with_nothing_collected() -> None:
    script = SyncScript(total=50, failure=SyncFailure(at=0, code="credentials_rejected", message="403 from S3"))
    assert job_state(script, 0.4).status == "queued"
    assert job_state(script, 0.5) == JobState("failed", Progress(0, 0, 0), script.failure)


scripts = st.builds(
    SyncScript,
    total=st.integers(min_value=0, max_value=10_000_000),
    queued_seconds=st.floats(min_value=0, max_value=60),
    running_seconds=st.floats(min_value=0.001, max_value=3600),
    failure=st.none()
    | st.builds(SyncFailure, at=st.floats(min_value=0, max_value=1), code=st.just("x"), message=st.just("x")),
)


@given(script=scripts, advances=st.lists(st.floats(min_value=0, max_value=600), max_size=40))
def test_any_clock_advances_and_polls_keep_counters_ordered_and_rising(
    script: SyncScript, advances: list[float]
) -> None:
    elapsed, previous = 0.0, job_state(script, 0.0)
    for step in advances:
        elapsed += step
        state = job_state(script, elapsed)
        collected, parsed, indexed = counts(state)
        assert script.total >= collected >= parsed >= indexed >= 0
        assert all(now >= before for now, before in zip(counts(state), counts(previous), strict=True))
        assert STATUS_ORDER[state.status] >= STATUS_ORDER[previous.status]
        if previous.status in ("completed", "failed"):
            assert state == previous
        previous = state


def test_a_job_renders_completion_and_failure_with_their_moments() -> None:
    job = Job("job_1", "conn_1", "auto", None, MANUAL_EPOCH, SyncScript(total=10, failure=FAILURE), full=True)
    running = job.to_json(MANUAL_EPOCH + timedelta(seconds=1))
    assert (running["status"], running["completedAt"], running["error"]) == ("running", None, None)
    failed = job.to_json(MANUAL_EPOCH + timedelta(minutes=5))
    assert failed["status"] == "failed"
    assert failed["completedAt"] == "2025-01-01T00:00:02Z"
    assert failed["error"] == {
        "code": "source_unreachable",
        "message": "The bucket stopped answering",
        "occurredAt": "2025-01-01T00:00:02Z",
    }


def test_a_trigger_body_is_optional_and_defaults_to_auto() -> None:
    assert requested_sync(None) == ("auto", None)
    assert requested_sync({"sync_mode": "incremental", "file_filter": ["/a.pdf"]}) == ("incremental", ("/a.pdf",))
    assert requested_sync({"force_full_sync": True}) == ("full", None)
    assert requested_sync({"force_full_sync": False, "sync_mode": "incremental"}) == ("incremental", None)
    assert requested_sync({"force_full_sync": True, "sync_mode": "full"}) == ("full", None)


def request(connector_type: str = "s3", full: bool = True) -> SyncRequest:
    return SyncRequest("conn_1", connector_type, "Docs", "auto" if full else "incremental", None, full)


def test_default_totals_repeat_under_a_seed_and_differ_by_type() -> None:
    def totals(seed: int) -> list[int]:
        rng = random.Random(seed)
        return [default_script(request(connector_type), rng).total for connector_type in TYPICAL_DOCUMENTS]

    assert totals(7) == totals(7)
    assert totals(7) != totals(8)
    salesforce, github = (default_script(request(t), random.Random(1)).total for t in ("salesforce", "github"))
    assert salesforce > github


def test_auto_is_full_until_a_full_sync_has_completed() -> None:
    assert is_full_sync("auto", full_sync_done=False)
    assert not is_full_sync("auto", full_sync_done=True)
    assert is_full_sync("full", full_sync_done=True)
    assert not is_full_sync("incremental", full_sync_done=False)


def test_incremental_syncs_are_smaller_and_a_file_filter_counts_its_paths() -> None:
    full = default_script(request("slack"), random.Random(1)).total
    incremental = default_script(request("slack", full=False), random.Random(1)).total
    assert incremental < full / 5
    filtered = SyncRequest("conn_1", "slack", "Docs", "incremental", ("/a", "/b", "/c"), False)
    assert default_script(filtered, random.Random(1)).total == 3
