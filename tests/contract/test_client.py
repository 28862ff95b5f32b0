from __future__ import annotations

from requests.adapters import HTTPAdapter
from urllib3.response import HTTPResponse

from connectors_mock.contract.client import RateLimitRetry, patient_session


def refused(status: int, retry_after: str) -> HTTPResponse:
    return HTTPResponse(status=status, headers={"Retry-After": retry_after}, body=b"")


def session_retry() -> RateLimitRetry:
    adapter = patient_session(max_wait=2.5).get_adapter("http://127.0.0.1")
    assert isinstance(adapter, HTTPAdapter)
    assert isinstance(adapter.max_retries, RateLimitRetry)
    return adapter.max_retries


def test_a_long_retry_after_is_cut_to_the_cap_on_every_attempt() -> None:
    retry = session_retry()
    later = retry.increment(method="POST", url="/v1/connectors", response=refused(429, "3600"))
    assert later.get_retry_after(refused(429, "3600")) == 2.5
    assert later.get_retry_after(refused(429, "1")) == 1


def test_only_a_429_is_retried() -> None:
    retry = session_retry()
    assert retry.is_retry("POST", 429, has_retry_after=True)
    assert not retry.is_retry("POST", 503, has_retry_after=True)
    assert not retry.is_retry("GET", 413, has_retry_after=True)
