from __future__ import annotations

from connectors_mock import resources
from connectors_mock.contract.ledger import Ledger, Progress, contract_words
from connectors_mock.spec import read_document


def test_a_credential_the_server_accepted_is_found_anywhere_in_a_response() -> None:
    ledger = Ledger()
    ledger.record_accepted_credentials({"credentials": {"token": "ghp_0123456789"}})
    assert ledger.leaked({"data": [{"config": {"x": ["ghp_0123456789"]}}]}) == ["ghp_0123456789"]
    assert ledger.leaked({"data": {"name": "ghp_0123456789 but longer"}}) == []


def test_short_credentials_and_values_also_sent_elsewhere_are_not_traced() -> None:
    """A 3-letter secret, or one equal to a name the suite sent, could come back innocently."""
    ledger = Ledger()
    ledger.record_sent({"name": "shared-value-1", "credentials": {"token": "never-seen"}})
    ledger.record_accepted_credentials({"credentials": {"a": "abc", "b": "shared-value-1"}})
    assert ledger.leaked({"data": {"name": "shared-value-1", "other": "abc"}}) == []


def test_a_credential_that_is_a_word_of_the_contract_is_not_traced() -> None:
    """A generated token "unauthorized" comes back in every 401's error code without leaking."""
    ledger = Ledger(vocabulary=contract_words(read_document(resources.spec_path())))
    ledger.record_accepted_credentials({"credentials": {"token": "unauthorized", "key": "ghp_0123456789"}})
    answer = {"error": {"code": "unauthorized", "message": "Authorization header required"}}
    assert ledger.leaked(answer) == []
    assert ledger.leaked({**answer, "data": "ghp_0123456789"}) == ["ghp_0123456789"]


def test_progress_that_goes_down_is_reported_with_what_came_before() -> None:
    ledger = Ledger()
    assert ledger.record_progress("job_1", Progress(10, 5, 2)) is None
    assert ledger.record_progress("job_1", Progress(12, 5, 4)) is None
    assert ledger.record_progress("job_1", Progress(12, 3, 3)) == Progress(12, 5, 4)
    assert ledger.record_progress("job_2", Progress(0, 0, 0)) is None


def test_every_run_has_its_own_prefix() -> None:
    assert Ledger().prefix != Ledger().prefix
    assert Ledger().prefix.startswith("cmk-contract-")
