"""`GET /`: a page for a browser, a small JSON document for anyone else; no part of the
contract, so no scenario reaches it and the journal does not keep it, and every other unknown
path is still the API's 404."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from connectors_mock.landing import prefers_html
from tests.conftest import ClientFactory

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        (BROWSER, True),
        ("*/*", False),
        ("", False),
        ("application/json", False),
        ("application/json, text/html;q=0.5", False),
        ("text/*", True),
        ("text/html;q=0, */*", False),
        # A quality that is no number counts as 1, as python-mimeparse reads it.
        ("text/html;q=oops, application/json;q=0.1", True),
        ("text/html application/json", False),
    ],
)
def test_a_browser_gets_the_page_and_anyone_else_the_document(accept: str, html: bool) -> None:
    assert prefers_html(accept) is html


def test_the_document_says_what_this_server_is_and_where_to_go(client: TestClient) -> None:
    client.post("/_mock/scenarios?example=outage&activate=true")
    document = client.get("/", headers={"Accept": "application/json"})
    assert document.status_code == 200
    assert "Accept" in document.headers["vary"]
    data = document.json()["data"]
    assert data["name"] == "connectors-mock"
    assert data["clock"] == {"mode": "manual", "speed": 1.0, "now": "2025-01-01T00:00:00Z"}
    assert data["activeScenarios"] == ["outage"]
    assert data["links"]["dashboard"] == "/_mock/ui"


def test_the_page_links_the_docs_and_the_dashboard(client: TestClient) -> None:
    page = client.get("/", headers={"Accept": BROWSER})
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    for link in ('href="/docs"', 'href="/_mock/docs"', 'href="/_mock/ui"', 'href="/_mock/guide/"'):
        assert link in page.text
    assert "manual: it moves when advanced" in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]


def test_with_an_admin_token_the_scenarios_are_not_named(make_client: ClientFactory) -> None:
    client = make_client(token=None, admin_token="s3cret")
    client.post("/_mock/scenarios?example=outage&activate=true", headers={"X-Mock-Admin-Token": "s3cret"})
    assert client.get("/").json()["data"]["activeScenarios"] is None
    assert "outage" not in client.get("/", headers={"Accept": BROWSER}).text


def test_no_scenario_reaches_the_pages_and_the_journal_does_not_keep_them(client: TestClient) -> None:
    client.post("/_mock/scenarios?example=outage&activate=true")
    assert client.get("/").status_code == 200
    assert client.get("/docs").status_code == 200
    assert client.get("/v1/connectors").status_code == 503
    paths = [entry["path"] for entry in client.get("/_mock/journal").json()["data"]["entries"]]
    assert paths == ["/v1/connectors"]


def test_other_unknown_paths_are_still_the_apis_404(client: TestClient) -> None:
    for path in ("/docs/", "/docs/openapi.json", "/index.html", "/v1"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json()["error"]["message"] == f"No such endpoint: GET {path}"
    assert client.post("/").status_code == 405
