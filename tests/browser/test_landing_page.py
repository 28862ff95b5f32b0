"""`/` in a browser: what the server is, and links that lead to each page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from connectors_mock import resources
from tests.browser.conftest import Fake, screenshot

PAGES = {
    "API docs": "/docs",
    "Control API docs": "/_mock/docs",
    "Dashboard": "/_mock/ui",
    "Guide": "/_mock/guide/",
}
# Fetched rather than opened: a browser showing JSON asks for /favicon.ico, which is the API's 404.
DOCUMENTS = {"Control API document": "/_mock/openapi.json"}


@pytest.fixture
def built_guide(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A stand-in for the guide MkDocs builds into the package (CI builds it after the tests)."""
    (tmp_path / "index.html").write_text(
        '<!doctype html><html lang="en"><link rel="icon" href="data:,"><title>Guide</title><h1>The guide</h1>'
    )
    monkeypatch.setattr(resources, "guide_dir", lambda: tmp_path)


def test_the_landing_pages_links_work(built_guide: None, page: Any, fake: Fake) -> None:
    fake.call("POST", "/_mock/scenarios?example=slow-sync&activate=true", key=None)
    page.goto(f"{fake.url}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("connectors-mock")
    expect(page.locator(".facts")).to_contain_text("slow-sync")
    screenshot(page, "landing")
    links = page.locator("ul.links a")
    expect(links).to_have_count(len(PAGES) + len(DOCUMENTS))
    for name, path in DOCUMENTS.items():
        href = page.locator("ul.links").get_by_role("link", name=name, exact=True).get_attribute("href")
        assert href == path
        document = page.request.get(f"{fake.url}{href}")
        assert document.status == 200
        assert document.json()["openapi"] == "3.1.0"
    for name, path in PAGES.items():
        page.goto(f"{fake.url}/")
        with page.expect_response(lambda response, path=path: response.url == f"{fake.url}{path}") as answered:
            page.locator("ul.links").get_by_role("link", name=name, exact=True).click()
        assert answered.value.status == 200, name
        assert page.url == f"{fake.url}{path}"
    page.goto(f"{fake.url}/")
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
