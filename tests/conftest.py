"""Shared test setup: the spec, and clients of the fake whose every response is checked
against the contract (schema, documented status, request id) before a test sees it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import httpx2
import pytest
import schemathesis
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from starlette.testclient import TestClient

from connectors_mock import resources
from connectors_mock.app import Settings, build_app
from connectors_mock.clock import VirtualClock, manual_clock
from connectors_mock.connectors import SeedData
from connectors_mock.control import control_document
from connectors_mock.jobs import ScriptSource, default_script
from connectors_mock.oauth import OAuthFlows
from connectors_mock.pages import PAGE_PATHS
from connectors_mock.spec import Spec, default_spec
from connectors_mock.state import Backend, Shared

# `pytester`: the pytest plugins (the fixture, the contract suite) run as their users run them.
pytest_plugins = ["pytester"]

SEED = 20240120
S3_CREATE: dict[str, Any] = {
    "name": "Document Storage",
    "type": "s3",
    "collection": "col_abc123",
    "config": {"bucket": "my-documents", "region": "us-east-1", "prefix": "/documents/"},
    "credentials": {"accessKeyId": "AKIA...", "secretAccessKey": "..."},
}
SECRET_VALUES = ("AKIA...", "...")

# JSON values for property tests (the masking, the journal). Finite floats only: `Infinity`
# and `NaN` are not JSON, and the journal refuses them as such.
json_floats = st.floats(allow_nan=False, allow_infinity=False)
json_leaves = st.none() | st.booleans() | st.integers() | json_floats | st.text(max_size=8)
SECRET_KEYS = [
    *("credentials", "Credentials", "code", "password", "secret", "token", "apikey", "api_key", "accessToken"),
    *("refresh_token", "secretAccessKey", "securityToken", "apiToken", "botToken", "client_secret", "DB_PASSWORD"),
]
secret_keys = st.sampled_from(SECRET_KEYS)
any_keys = st.text(max_size=8) | secret_keys | st.sampled_from(["state", "name", "config"])
json_values = st.recursive(
    json_leaves, lambda children: st.lists(children, max_size=4) | st.dictionaries(any_keys, children, max_size=4)
)


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
    if request.url.path.startswith("/_mock/") or request.url.path in PAGE_PATHS:
        # `/` and `/docs` are the fake's own pages: the control document describes them.
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


CONTROL_URI = "urn:connectors-mock:control-openapi"


@cache
def control_registry() -> Registry[Any]:
    registry: Registry[Any] = Registry().with_resource(CONTROL_URI, DRAFT202012.create_resource(control_document()))
    return registry


@cache
def control_schema(pointer: str) -> Draft202012Validator:
    """A validator of the schema at `pointer` (`/components/schemas/Binding`) in the control
    API's document."""
    return Draft202012Validator(
        {"$ref": f"{CONTROL_URI}#{pointer}"},
        registry=control_registry(),
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


# Parameters that may hold a `/`: a path within the guide or the assets, a team's tenant label.
MULTI_SEGMENT = ("{page}", "{tenant}")


def control_operation(method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    """The JSON pointer and the object of the operation documented for `method` on `path`. A
    parameter is one segment, but those of `MULTI_SEGMENT`."""
    for template, item in control_document()["paths"].items():
        pattern = template
        for name in MULTI_SEGMENT:
            pattern = pattern.replace(name, "(.*)")
        pattern = re.sub(r"\{[^}]+\}", "[^/]+", pattern)
        if method.lower() in item and re.fullmatch(pattern, path):
            return f"/paths/{escape(template)}/{method.lower()}", item[method.lower()]
    return None


def resolve(pointer: str, node: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """`node` at `pointer`, or what its `$ref` points to (and where)."""
    while "$ref" in node:
        pointer = node["$ref"].removeprefix("#")
        node = control_document()
        for segment in pointer.split("/")[1:]:
            node = node[segment.replace("~1", "/").replace("~0", "~")]
    return pointer, node


def check_control_response(response: httpx2.Response, spec: Spec) -> None:
    """`/_mock` is not in the contract: its own document (`control.openapi.yaml`) judges it,
    as the contract judges the API. An HTML page needs only its status and media type."""
    request, status = response.request, str(response.status_code)
    media_type = response.headers.get("content-type", "").split(";")[0]
    found = control_operation(request.method, request.url.path)
    if found is None:
        # No such route: Starlette's 404 or 405, in the error envelope.
        assert response.status_code in (404, 405), f"{request.method} {request.url.path} is not documented"
        schema = "/components/schemas/ErrorEnvelope"
    else:
        at, operation = found
        label = f"{operation['operationId']} answered {status}"
        assert status in operation["responses"], f"{label}, which the document does not give"
        at, documented = resolve(f"{at}/responses/{status}", operation["responses"][status])
        content = documented.get("content", {})
        assert media_type in content if content else not response.content, f"{label} as {media_type or 'no body'}"
        for header in documented.get("headers", {}):
            assert header in response.headers, f"{label} without {header}"
        schema = f"{at}/content/{escape(media_type)}/schema"
    if media_type == "application/json":
        body = response.json()
        errors = [error.message for error in control_schema(schema).iter_errors(body)]
        assert not errors, errors
        if "meta" in body:
            assert body["meta"]["requestId"] == response.headers["x-request-id"]


ClientFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(spec: Spec, contract: Any) -> Iterator[ClientFactory]:
    """Build a fake (seeded unless told otherwise) and a client for it; `token=None` sends
    no Authorization header."""
    clients: list[TestClient] = []

    def factory(token: str | None = "key-a", app: Any = None, **settings: Any) -> TestClient:
        """`app`: another client's fake, to call it with another key."""
        settings.setdefault("seed", SEED)
        client = TestClient(app or build_app(Settings(**settings), spec), raise_server_exceptions=False)
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
def clock() -> VirtualClock:
    """A manual clock, for a test that moves time itself."""
    return manual_clock()


@pytest.fixture
def backend(make_backend: BackendFactory, clock: VirtualClock) -> Backend:
    """A state model on `clock`."""
    return make_backend(clock=clock)


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


@pytest.fixture
def errors_built(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many errors jsonschema builds while a test runs: what an explanation costs."""
    from jsonschema.exceptions import ValidationError  # noqa: PLC0415 - imported lazily by the code too

    count = [0]
    built = ValidationError.__init__

    def counting(self: ValidationError, *args: Any, **kwargs: Any) -> None:
        count[0] += 1
        built(self, *args, **kwargs)

    monkeypatch.setattr(ValidationError, "__init__", counting)
    return count


@pytest.fixture(scope="session")
def built_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This checkout built as a wheel (`pip wheel --no-deps`), once per run, for the tests that
    install it where the checkout is not."""
    dist = tmp_path_factory.mktemp("dist")
    repo = Path(__file__).resolve().parents[1]
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), str(repo)]
    subprocess.run(command, check=True, timeout=300)
    [wheel] = dist.glob("connectors_mock-*.whl")
    return wheel


@dataclass
class ProxyRun:
    """`connectors-mock proxy` as a process: its URL, and once stopped, its exit status and output."""

    process: subprocess.Popen[str]
    url: str
    log: Path
    returncode: int | None = None

    def stop(self) -> int:
        """SIGTERM, as a CI job stops it; the exit status."""
        if self.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            self.returncode = self.process.wait(timeout=30)
        return self.returncode

    @property
    def output(self) -> str:
        return self.log.read_text(encoding="utf-8")


@contextmanager
def proxying(upstream: str, *args: str, log: Path, env: dict[str, str] | None = None) -> Iterator[ProxyRun]:
    """Start `connectors-mock proxy --upstream UPSTREAM` on a free port, with `env` added to its
    environment; its log (stdout and stderr) goes to a file, which a pipe nobody reads would
    fill and block."""
    with log.open("w", encoding="utf-8") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "connectors_mock", "proxy", "--upstream", upstream, "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=sink,
            text=True,
            env={**os.environ, **(env or {})},
        )
    run = None
    try:
        assert process.stdout is not None
        # Before it listens, it says where it forwards to; nothing after (the rest goes to stderr).
        for line in iter(process.stdout.readline, ""):
            if line.startswith("connectors-mock listening on http://"):
                run = ProxyRun(process, line.strip().rsplit(" ", 1)[1], log)
                break
        if run is None:
            process.kill()
            pytest.fail(f"the proxy did not start: {log.read_text(encoding='utf-8')}")
        yield run
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
