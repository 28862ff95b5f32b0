"""What counts as a secret in a request, and how it is hidden: never raising, never changing
its input, never leaving a credential readable."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors_mock.masking import MASK, mask_body, mask_query
from connectors_mock.spec import Spec
from tests.conftest import any_keys, json_leaves, json_values, secret_keys


def credential_fields(spec: Spec) -> dict[str, list[str]]:
    """The credential field names of each connector type, as openapi.yaml's create body lists them."""
    schemas = spec.document["components"]["schemas"]
    mapping = schemas["CreateConnectorRequest"]["discriminator"]["mapping"]
    fields = {}
    for connector_type, ref in mapping.items():
        shape = schemas[ref.rsplit("/", 1)[1]]
        credentials = schemas[shape["properties"]["credentials"]["$ref"].rsplit("/", 1)[1]]
        fields[connector_type] = list(credentials["properties"])
    return fields


def test_the_credentials_of_every_connector_type_are_masked_and_nothing_else_is(spec: Spec) -> None:
    by_type = credential_fields(spec)
    assert set(by_type) == set(spec.credential_validators)
    for connector_type, names in by_type.items():
        assert names, connector_type
        body = {
            "name": "Document Storage",
            "type": connector_type,
            "collection": "col_abc123",
            "config": {"bucket": "my-documents", "port": 5432, "spaceKeys": ["ENG"]},
            "credentials": {name: f"{connector_type}-{name}-value" for name in names},
        }
        masked = mask_body(body)
        assert masked["credentials"] == dict.fromkeys(names, MASK)
        assert {key: masked[key] for key in body if key != "credentials"} == {
            key: body[key] for key in body if key != "credentials"
        }
        assert "-value" not in json.dumps(masked)


def test_secret_fields_are_masked_wherever_they_are_sent() -> None:
    # A client that puts a token in the wrong place still must not see it in the journal.
    body = {
        "config": {
            "apiToken": "t1",
            "nested": [{"password": "p1"}, {"client_secret": "s1", "region": "eu"}],
            "api_key": "k1",
            "api-key": "k2",
            "Secret_Access_Key": "k3",
            "refreshToken": "r1",
            "DB_PASSWORD": "p2",
        },
        "code": "code_4f5a6b7c8d9e",
    }
    assert mask_body(body) == {
        "config": {
            "apiToken": MASK,
            "nested": [{"password": MASK}, {"client_secret": MASK, "region": "eu"}],
            "api_key": MASK,
            "api-key": MASK,
            "Secret_Access_Key": MASK,
            "refreshToken": MASK,
            "DB_PASSWORD": MASK,
        },
        "code": MASK,
    }


def test_complete_oauth_keeps_its_state_and_hides_its_code() -> None:
    body = {"code": "code_4f5a6b7c8d9e", "state": "st_9b1c2d3e4f5a", "name": "Drive"}
    assert mask_body(body) == {"code": MASK, "state": "st_9b1c2d3e4f5a", "name": "Drive"}
    assert mask_query({"code": "code_4f5a6b7c8d9e", "state": "st_9b1c2d3e4f5a", "error": "access_denied"}) == {
        "code": MASK,
        "state": "st_9b1c2d3e4f5a",
        "error": "access_denied",
    }


def test_under_credentials_the_shape_stays_and_every_value_goes() -> None:
    body = {"Credentials": {"keys": ["a", 1, None, True], "inner": {"user": "u", "empty": {}}}, "label": "x"}
    assert mask_body(body) == {
        "Credentials": {"keys": [MASK, MASK, MASK, MASK], "inner": {"user": MASK, "empty": {}}},
        "label": "x",
    }
    assert mask_body({"credentials": "plain"}) == {"credentials": MASK}
    assert mask_query({"credentials": "abc", "collection": "col_a"}) == {"credentials": MASK, "collection": "col_a"}


def test_masking_leaves_its_input_alone() -> None:
    body = {"credentials": {"token": "x"}, "items": [{"password": "p"}]}
    before = copy.deepcopy(body)
    masked = mask_body(body)
    assert body == before
    masked["items"][0]["extra"] = 1
    assert body == before


@pytest.mark.parametrize("value", [None, True, 3, 2.5, "text", [], {}])
def test_values_without_keys_pass_through(value: Any) -> None:
    assert mask_body(value) == value


@given(json_values)
def test_masking_never_raises_and_never_changes_its_input(value: Any) -> None:
    before = copy.deepcopy(value)
    masked = mask_body(value)
    assert value == before
    assert json.loads(json.dumps(masked)) == masked


# No key spelt from these letters can name a secret (no c, e, o, s or t).
plain_keys = st.text(alphabet="abdfghijklmnpqruvwxyz_", max_size=8)
plain_values = st.recursive(
    json_leaves, lambda children: st.lists(children, max_size=4) | st.dictionaries(plain_keys, children, max_size=4)
)


@given(plain_values)
def test_a_body_without_secrets_is_kept_as_sent(value: Any) -> None:
    assert mask_body(value) == value


SENTINELS = ("hunter2", 31337)
secret_trees = st.recursive(
    st.sampled_from(SENTINELS),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(any_keys, children, max_size=3),
    max_leaves=8,
)
bodies_with_secrets = st.recursive(
    st.none() | st.booleans() | st.text(alphabet="ab", max_size=4),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(plain_keys, children, max_size=3)
        | st.dictionaries(secret_keys, secret_trees, min_size=1, max_size=2)
    ),
    max_leaves=12,
)


@given(bodies_with_secrets)
def test_nothing_under_a_secret_key_survives(value: Any) -> None:
    shown = json.dumps(mask_body(value))
    assert all(str(sentinel) not in shown for sentinel in SENTINELS)
