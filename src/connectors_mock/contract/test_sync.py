"""Sync jobs as a client polls them: counters in order and never going back, an end within
`--job-timeout`, and the connector showing how the job ended."""

from __future__ import annotations

import itertools
import time
from typing import Any

import pytest

from connectors_mock.contract.client import ApiClient
from connectors_mock.contract.ledger import Ledger
from connectors_mock.contract.options import ContractOptions
from connectors_mock.contract.strategies import s3_body
from connectors_mock.contract.test_connectors import created, fetched, instant

TERMINAL = ("completed", "failed")
# Polls start quick and slow down, so a fast server is judged fast and a slow one is not hammered.
FIRST_POLL, LAST_POLL, SLOWDOWN = 0.05, 2.0, 1.5


def polled_to_the_end(contract_api: ApiClient, connector_id: str, job_id: str, timeout: float) -> list[dict[str, Any]]:
    """Every state of the job seen until it ended; fails if it has not ended within `timeout`."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    pause = FIRST_POLL
    while True:
        response = contract_api.call("getSyncStatus", path={"id": connector_id, "jobId": job_id})
        assert response.status_code == 200, f"polling job {job_id} answered {response.status_code}"
        seen.append(contract_api.data(response))
        if seen[-1]["status"] in TERMINAL:
            return seen
        if time.monotonic() > deadline:
            pytest.fail(
                f"job {job_id} is still {seen[-1]['status']} after {timeout:g} s (--job-timeout); "
                f"last progress {seen[-1]['progress']}"
            )
        time.sleep(pause)
        pause = min(pause * SLOWDOWN, LAST_POLL)


@pytest.mark.parametrize("request_body", [None, {"sync_mode": "full"}, {"sync_mode": "incremental"}])
def test_a_sync_ends_in_order_and_the_connector_shows_it(
    contract_api: ApiClient,
    contract_collection_id: str,
    contract_ledger: Ledger,
    contract_options: ContractOptions,
    request_body: dict[str, Any] | None,
) -> None:
    connector = created(contract_api, s3_body(contract_ledger.prefix, contract_collection_id, f"sync {request_body}"))
    started = contract_api.call("triggerSync", path={"id": connector["id"]}, body=request_body)
    assert started.status_code == 202, f"triggering a sync answered {started.status_code}"
    job = contract_api.data(started)
    if fetched(contract_api, connector["id"])["status"] != "syncing":
        ended = contract_api.call("getSyncStatus", path={"id": connector["id"], "jobId": job["jobId"]})
        assert contract_api.data(ended)["status"] in TERMINAL, "a connector with an active job is not `syncing`"
    states = [job, *polled_to_the_end(contract_api, connector["id"], job["jobId"], contract_options.job_timeout)]
    counters = [tuple(state["progress"][key] for key in ("collected", "parsed", "indexed")) for state in states]
    for earlier, later in itertools.pairwise(counters):
        assert all(b >= a for a, b in zip(earlier, later, strict=True)), f"progress went back: {earlier} then {later}"
    assert all(c >= p >= i for c, p, i in counters), f"counters out of order: {counters}"
    end = states[-1]
    assert end["completedAt"] is not None, "an ended job has no completedAt"
    after = fetched(contract_api, connector["id"])
    if end["status"] == "completed":
        assert after["status"] == "active", f"after a completed sync the connector is {after['status']}"
        assert after["lastSync"] is not None, "a completed sync did not set the connector's lastSync"
        assert instant(after["lastSync"]) >= instant(job["startedAt"]), "lastSync is older than the completed sync"
    else:
        assert end["error"] is not None, "a failed job does not say why"
        assert after["status"] == "error", f"after a failed sync the connector is {after['status']}"
        assert after["lastError"] is not None, "a failed sync did not set the connector's lastError"


def test_a_second_sync_waits_for_the_first(
    contract_api: ApiClient, contract_collection_id: str, contract_ledger: Ledger
) -> None:
    connector = created(contract_api, s3_body(contract_ledger.prefix, contract_collection_id, "two syncs"))
    first = contract_api.data(contract_api.call("triggerSync", path={"id": connector["id"]}))
    second = contract_api.call("triggerSync", path={"id": connector["id"]})
    if second.status_code == 409:
        assert second.json()["error"]["code"] == "sync_in_progress"
        assert first["jobId"] in second.json()["error"]["message"], "the 409 does not name the active job"
        return
    assert second.status_code == 202, f"a second trigger answered {second.status_code}"
    # Accepted: only right if the first job had already ended.
    status = contract_api.data(
        contract_api.call("getSyncStatus", path={"id": connector["id"], "jobId": first["jobId"]})
    )
    assert status["status"] in TERMINAL, "a second sync was accepted while the first was still active"


def test_a_job_belongs_to_its_connector(
    contract_api: ApiClient, contract_collection_id: str, contract_ledger: Ledger
) -> None:
    one = created(contract_api, s3_body(contract_ledger.prefix, contract_collection_id, "job owner"))
    other = created(contract_api, s3_body(contract_ledger.prefix, contract_collection_id, "not the job owner"))
    job = contract_api.data(contract_api.call("triggerSync", path={"id": one["id"]}))
    answer = contract_api.call("getSyncStatus", path={"id": other["id"], "jobId": job["jobId"]})
    assert answer.status_code == 404, f"a job read through another connector answered {answer.status_code}"
