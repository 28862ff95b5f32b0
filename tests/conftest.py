"""Shared test setup: the spec, and clients of the fake whose every response is checked
against the contract (schema, documented status, request id) before a test sees it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import pytest
import schemathesis
from starlette.testclient import TestClient

from connectors_mock import resources
from connectors_mock.app import Settings, build_app
from connectors_mock.clock import manual_clock
from connectors_mock.connectors import SeedData
from connectors_mock.jobs import ScriptSource, default_script
from connectors_mock.oauth import OAuthFlows
from connectors_mock.spec import Spec, default_spec
from connectors_mock.state import Backend, Shared

SEED = 20240120
S3_CREATE: dict[str, Any] = {
    "name": "Document Storage",
    "type": "s3",
    "collection": "col_abc123",
    "config": {"bucket": "my-documents", "region": "us-east-1", "prefix": "/documents/"},
    "credentials": {"accessKeyId": "AKIA...", "secretAccessKey": "..."},
}
SECRET_VALUES = ("AKIA...", "...")


@pytest.fixture(scope="session")
def spec() -> Spec:
    return default_spec()


@pytest.fixture(scope="session")
def contract() -> Any:
    """The same openapi.yaml as schemathesis reads it: an independent judge of responses."""
    return schemathesis.openapi.from_path(str(resources.spec_path()))


def check_response(response: httpx2.Response, spec: Spec, contract: Any) -> None:
    """What every response of the fake must be: documented, valid, with its request id."""
    response.read()
    request = response.request
    if request.method in ("HEAD", "OPTIONS"):
        return
    if request.url.path.startswith("/_mock/"):
        check_control_response(response, spec)
        return
    operation = contract.find_operation_by_path(request.method, request.url.path)
    if operation is None:
        assert response.status_code in (404, 405), f"{request.method} {request.url.path} matched no operation"
        errors = spec.schema_validator("ErrorEnvelope").errors(response.json())
        assert not errors, errors
    else:
        documented = operation.definition.raw["responses"]
        assert str(response.status_code) in documented, (
            f"{operation.label} answered {response.status_code}, which the spec does not document"
        )
        operation.validate_response(response)
    if response.status_code != 204:
        assert response.headers["content-type"] == "application/json"
        assert response.json()["meta"]["requestId"] == response.headers["x-request-id"]
    assert response.headers["x-request-id"]


def check_control_response(response: httpx2.Response, spec: Spec) -> None:
    """`/_mock` is not in the contract, but its JSON speaks the same envelope."""
    if response.headers.get("content-type") != "application/json":
        return
    body = response.json()
    if response.status_code >= 400:
        assert not spec.schema_validator("ErrorEnvelope").errors(body)
    else:
        assert set(body) == {"data", "meta"}
        assert not spec.schema_validator("Meta").errors(body["meta"])


ClientFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(spec: Spec, contract: Any) -> Iterator[ClientFactory]:
    """Build a fake (seeded unless told otherwise) and a client for it; `token=None` sends
    no Authorization header."""
    clients: list[TestClient] = []

    def factory(token: str | None = "key-a", **settings: Any) -> TestClient:
        settings.setdefault("seed", SEED)
        client = TestClient(build_app(Settings(**settings), spec), raise_server_exceptions=False)
        if token is not None:
            client.headers["Authorization"] = f"Bearer {token}"
        client.event_hooks = {"response": [lambda response: check_response(response, spec, contract)]}
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()


BackendFactory = Callable[..., Backend]


@pytest.fixture
def make_backend(spec: Spec) -> BackendFactory:
    """A state model with no HTTP around it: two empty collections, a manual clock, seed 3."""

    def factory(
        clock: Any = None,
        seed: int | None = 3,
        seed_data: SeedData | None = None,
        sync_scripts: ScriptSource = default_script,
    ) -> Backend:
        clock = clock or manual_clock()
        shared = Shared(clock, spec.config_validators, spec.oauth_types, OAuthFlows(clock), sync_scripts)
        return Backend(seed_data or SeedData(collections=("col_a", "col_b"), connectors=()), shared, seed)

    return factory


@pytest.fixture
def client(make_client: ClientFactory) -> TestClient:
    return make_client()


@pytest.fixture
def created(client: TestClient) -> dict[str, Any]:
    """An S3 connector made from the reference's create example."""
    response = client.post("/v1/connectors", json=S3_CREATE)
    assert response.status_code == 201
    data: dict[str, Any] = response.json()["data"]
    return data
