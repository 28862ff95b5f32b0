"""Every operation, from the schema: schemathesis generates valid and invalid requests (from
the examples, the coverage phase and hypothesis) and runs all of its checks and ours on each
answer; then the stateful phase follows the spec's links (create, then get, update, sync,
delete the connector it made)."""

from __future__ import annotations

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


# One test per operation, named by it (`test_operation[POST /v1/connectors]`), its cases built
# when it runs (operations.py).
@pytest.mark.parametrize("operation", operations.operation_labels(contract_document()))
def test_operation(
    operation: str,
    request: pytest.FixtureRequest,
    contract_schema: Any,
    contract_sender: Sender,
    contract_collection_id: str,
) -> None:
    config = request.config

    def send(case: Case[Any]) -> None:
        check_budget(config, operation)
        contract_sender.send(case)

    test, building = operations.build(contract_schema, operation, send)
    leave_out_of_budget(config, building)
    operations.run(test)


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
