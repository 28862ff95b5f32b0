"""The control API's own OpenAPI document (`control.openapi.yaml`): a valid document, served as
it is loaded, describing exactly the routes the app has under `/_mock`, with valid examples.
(`conftest.check_control_response` judges every `/_mock` response of the tests against it.)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from openapi_spec_validator import validate
from starlette.applications import Starlette
from starlette.routing import Mount, Route

from connectors_mock.control import ADMIN_HEADER, ADVANCE_SCHEMA, BINDING_SCHEMA, control_document
from connectors_mock.journal import JournalFilter
from connectors_mock.pages import ASSETS_PATH, PAGE_PATHS
from connectors_mock.spec import default_spec
from tests.conftest import ClientFactory, control_operation, control_schema, escape

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def examples(node: Any, pointer: str = "") -> Iterator[tuple[str, Any]]:
    """(schema pointer, example) for every example in the document."""
    if isinstance(node, dict):
        if isinstance(node.get("examples"), list):  # a Schema Object's
            yield from ((pointer, example) for example in node["examples"])
        if "example" in node and "schema" in node:  # a Media Type's or a Parameter's
            yield f"{pointer}/schema", node["example"]
        for key, value in node.items():
            yield from examples(value, f"{pointer}/{escape(key)}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from examples(value, f"{pointer}/{index}")


def operations(server: str | None = "fake") -> Iterator[tuple[str, str, dict[str, Any]]]:
    """The document's operations served by `server` (the fake, or `proxy`; None: all)."""
    for path, item in control_document()["paths"].items():
        for method in METHODS:
            if method in item and server in (None, item[method].get("x-connectors-mock-server", "fake")):
                yield path, method.upper(), item[method]


def test_the_document_is_valid_openapi() -> None:
    validate(control_document())


def test_the_document_is_served_as_loaded(make_client: ClientFactory) -> None:
    served = make_client().get("/_mock/openapi.json")
    assert served.status_code == 200
    assert served.json() == control_document()


def test_the_document_and_the_routes_agree(make_client: ClientFactory) -> None:
    app = make_client().app
    assert isinstance(app, Starlette)
    routes = {
        (route.path.replace(":path}", "}"), method)
        for route in app.routes
        if isinstance(route, Route) and (route.path.startswith("/_mock/") or route.path in PAGE_PATHS)
        for method in route.methods or ()
        if method != "HEAD"
    }
    # The built guide and the pages' files are mounts of static files: every file, by GET.
    mounts = {
        ASSETS_PATH if route.path.startswith(ASSETS_PATH) else route.path
        for route in app.routes
        if isinstance(route, Mount)
    }
    routes |= {(f"{path}/{{page}}", "GET") for path in mounts}
    assert routes == {(path, method) for path, method, _ in operations()}


def test_every_operation_is_named_and_described() -> None:
    ids = [operation.get("operationId") for _, _, operation in operations(None)]
    assert None not in ids
    assert len(set(ids)) == len(ids)
    for path, method, operation in operations(None):
        assert operation.get("summary"), f"{method} {path}"
        assert operation.get("description"), f"{method} {path}"


def test_the_admin_token_is_asked_for_where_the_document_says(make_client: ClientFactory) -> None:
    client = make_client(admin_token="s3cret")
    for path, method, operation in operations():
        url = path.replace("{name}", "nope").replace("{type}", "google_drive").replace("{tenant}", "key_000000000000")
        if "text/event-stream" in operation["responses"].get("200", {}).get("content", {}):
            # A stream never ends for the test client: a refused parameter answers once the token passes.
            url += "?no_such_parameter=1"
        response = client.request(method, url, follow_redirects=False)
        wants_token = operation.get("security", control_document()["security"]) != []
        assert (response.status_code == 401) == wants_token, f"{method} {path}: {response.status_code}"
        if wants_token:
            response = client.request(method, url, headers={ADMIN_HEADER: "s3cret"}, follow_redirects=False)
            assert response.status_code != 401, f"{method} {path}"


def test_the_request_schemas_are_the_enforced_ones() -> None:
    schemas = control_document()["components"]["schemas"]
    assert _bare(schemas["ClockAdvance"]) == ADVANCE_SCHEMA
    assert _bare(schemas["BindingRequest"]) == BINDING_SCHEMA


def _bare(schema: Any) -> Any:
    """A schema without its annotations."""
    if isinstance(schema, dict):
        return {key: _bare(value) for key, value in schema.items() if key not in ("description", "examples")}
    return schema


def test_the_journal_filters_are_the_accepted_ones() -> None:
    found = control_operation("GET", "/_mock/journal")
    assert found is not None
    _, operation = found
    documented = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
    assert documented == {field.name for field in dataclasses.fields(JournalFilter)}
    [by_operation] = [p for p in operation["parameters"] if p["name"] == "operation"]
    assert set(by_operation["schema"]["enum"]) == set(default_spec().operations)


EXAMPLES = list(examples(control_document()))


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 15


@pytest.mark.parametrize(("pointer", "example"), EXAMPLES, ids=[pointer for pointer, _ in EXAMPLES])
def test_every_example_is_valid(pointer: str, example: Any) -> None:
    errors = [error.message for error in control_schema(pointer).iter_errors(example)]
    assert not errors, errors
