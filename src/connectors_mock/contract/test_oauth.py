"""OAuth refusals a client relies on: only OAuth types can be authorized, and only a state
the server issued can complete a flow."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors_mock.contract.client import ApiClient
from connectors_mock.contract.plugin import Properties
from connectors_mock.contract.strategies import NON_OAUTH_TYPES, OAUTH_TYPES


@pytest.mark.parametrize("connector_type", NON_OAUTH_TYPES)
def test_authorize_refuses_types_without_oauth(contract_api: ApiClient, connector_type: str) -> None:
    answer = contract_api.call("authorizeOAuth", path={"type": connector_type})
    assert answer.status_code == 400, f"authorizing a {connector_type} connector answered {answer.status_code}"
    assert answer.json()["error"]["code"] == "invalid_parameter"


@pytest.mark.parametrize("connector_type", OAUTH_TYPES)
def test_authorize_starts_a_flow_for_oauth_types(contract_api: ApiClient, connector_type: str) -> None:
    answer = contract_api.call("authorizeOAuth", path={"type": connector_type})
    assert answer.status_code == 200, f"authorizing a {connector_type} connector answered {answer.status_code}"


def test_callback_refuses_a_state_never_issued(contract_api: ApiClient, contract_properties: Properties) -> None:
    @contract_properties
    @given(
        connector_type=st.sampled_from(OAUTH_TYPES),
        state=st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=8, max_size=32).map(lambda s: "st_" + s),
    )
    def check(connector_type: str, state: str) -> None:
        answer = contract_api.call(
            "completeOAuth", path={"type": connector_type}, body={"code": "code_never_issued", "state": state}
        )
        assert answer.status_code == 400, f"completing with an unknown state answered {answer.status_code}"
        assert answer.json()["error"]["code"] == "invalid_state"

    check()
