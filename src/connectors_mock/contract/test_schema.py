"""Every operation, from the schema: schemathesis generates valid and invalid requests (from
the examples, the coverage phase and hypothesis) and runs all of its checks and ours on each
answer; then the stateful phase follows the spec's links (create, then get, update, sync,
delete the connector it made)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import hypothesis
import pytest
from schemathesis import Case, Response

from connectors_mock.contract import operations
from connectors_mock.contract.client import Sender
from connectors_mock.contract.options import ContractOptions
from connectors_mock.contract.plugin import check_budget, contract_document, leave_out_of_budget

# Steps per stateful scenario: create, then enough to get, update, sync, poll and delete.
STATEFUL_STEPS = 8
MAX_RESTARTS = 5


# Two tests per operation, named by it: `test_operation[POST /v1/connectors]` sends the spec's
# examples and hypothesis's requests, `test_operation_coverage[POST /v1/connectors]` the coverage
# phase's (operations.build says why two); each builds its cases when it runs.
@pytest.mark.parametrize("operation", operations.operation_labels(contract_document()))
def test_operation(operation: str, judge_operation: Callable[..., None]) -> None:
    judge_operation(operation, coverage=False)


@pytest.mark.parametrize("operation", operations.operation_labels(contract_document()))
def test_operation_coverage(operation: str, judge_operation: Callable[..., None]) -> None:
    judge_operation(operation, coverage=True)


@pytest.fixture
def judge_operation(
    request: pytest.FixtureRequest, contract_schema: Any, contract_sender: Sender, contract_collection_id: str
) -> Callable[..., None]:
    """Run one operation's schemathesis test, its coverage phase or the others, every case sent
    (and its answer checked) by the suite's sender, within the time budget."""
    config = request.config

    def judge(operation: str, *, coverage: bool) -> None:
        def send(case: Case[Any]) -> None:
            check_budget(config, operation)
            contract_sender.send(case)

        test, building = operations.build(contract_schema, operation, send, coverage=coverage)
        leave_out_of_budget(config, building)
        operations.run(test)

    return judge


def test_stateful(
    request: pytest.FixtureRequest,
    contract_schema: Any,
    contract_sender: Sender,
    contract_options: ContractOptions,
    contract_collection_id: str,
) -> None:
    config = request.config

    class Workflows(contract_schema.as_state_machine()):  # type: ignore[misc]
        scenarios = 0

        def setup(self) -> None:
            check_budget(config, "the stateful phase")
            type(self).scenarios += 1

        def call(self, case: Case[Any], **kwargs: Any) -> Response:
            return contract_sender.call(case)

        def validate_response(self, response: Response, case: Case[Any], *args: Any, **kwargs: Any) -> None:
            kwargs["additional_checks"] = list(contract_sender.checks)
            super().validate_response(response, case, **kwargs)

    # Scenarios run against one live server whose state they change, so hypothesis may meet a
    # choice it made differently before (FlakyStrategyDefinition). Nothing failed then: the
    # remaining scenarios run under the next seed, as schemathesis's own runner does.
    remaining = contract_options.max_examples
    for attempt in range(MAX_RESTARTS + 1):
        started = Workflows.scenarios
        try:
            hypothesis.seed(contract_options.seed + attempt)(Workflows).run(settings=stateful_settings(remaining))
            return
        except hypothesis.errors.FlakyStrategyDefinition:
            remaining -= Workflows.scenarios - started
            if remaining <= 0:
                return


def stateful_settings(max_examples: int) -> hypothesis.settings:
    # Generation only, as schemathesis runs state machines: shrinking replays a scenario that
    # the server, having moved on, would answer differently.
    return hypothesis.settings(
        max_examples=max_examples,
        stateful_step_count=STATEFUL_STEPS,
        phases=[hypothesis.Phase.generate],
        deadline=None,
        database=None,
        suppress_health_check=list(hypothesis.HealthCheck),
    )
