"""`/docs` and `/_mock/docs`: Swagger UI from the package, with the document in the page and
nothing from another host; or, when the build had no Swagger UI to put in, a page saying so."""

from __future__ import annotations

import json
import re

import pytest
from starlette.testclient import TestClient

from connectors_mock import resources
from connectors_mock.control import control_document
from connectors_mock.spec import Spec
from tests.conftest import ClientFactory


def embedded(page: str) -> dict[str, object]:
    found = re.search(r'<script type="application/json" id="openapi-document">(.*?)</script>', page, re.S)
    assert found, "no document in the page"
    document: dict[str, object] = json.loads(found.group(1))
    return document


def test_docs_carry_the_contract_with_every_operation(client: TestClient, spec: Spec) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    document = embedded(page.text)
    paths = document["paths"]
    assert isinstance(paths, dict)
    operations = {op["operationId"] for item in paths.values() for op in item.values() if isinstance(op, dict)}
    assert operations == set(spec.operations)
    assert len(operations) == 9


def test_control_docs_carry_the_control_document(make_client: ClientFactory) -> None:
    client = make_client(token=None, admin_token="s3cret")
    page = client.get("/_mock/docs")
    assert page.status_code == 200
    assert embedded(page.text) == control_document()


def test_the_pages_load_only_from_this_server(client: TestClient) -> None:
    page = client.get("/docs")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "connect-src 'self'" in policy
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources
    assert all(source.startswith(("/", "data:")) for source in sources), sources
    for source in sources:
        if source.startswith("/_mock/assets/"):
            assert client.get(source).status_code == 200, source


def test_swagger_ui_ships_with_its_licence(client: TestClient) -> None:
    licence = client.get("/_mock/assets/swagger-ui/LICENSE")
    assert licence.status_code == 200
    assert "Apache License" in licence.text
    assert client.get("/_mock/assets/swagger-ui/no-such-file.js").status_code == 404


def test_a_script_cannot_end_the_embedded_document(make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("connectors_mock.viewer.contract_document", lambda: {"info": {"title": "</script><b>"}})
    page = make_client().get("/docs").text
    assert "</script><b>" not in page
    assert embedded(page) == {"info": {"title": "</script><b>"}}


def test_without_swagger_ui_a_page_says_so(make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources, "viewer_dir", lambda: None)
    client = make_client()
    for path in ("/docs", "/_mock/docs"):
        page = client.get(path)
        assert page.status_code == 404
        assert "were not built into this installation" in page.text
