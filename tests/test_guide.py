"""The guide at `/_mock/guide`: the site MkDocs built into the package, readable with the
network unplugged; or, when it was not built, a page that says where the guide is."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors_mock import resources
from tests.conftest import ClientFactory


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A stand-in for the built site, where the package keeps it."""
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "index.html").write_text("<title>connectors-mock</title><a href=scenarios/>Scenarios</a>")
    (tmp_path / "scenarios" / "index.html").write_text("<title>Scenarios</title>")
    monkeypatch.setattr(resources, "guide_dir", lambda: tmp_path)
    return tmp_path


def test_the_built_guide_is_served_from_the_package(built: Path, make_client: ClientFactory) -> None:
    client = make_client(token=None, admin_token="s3cret")
    opened = client.get("/_mock/guide", follow_redirects=False)
    assert (opened.status_code, opened.headers["location"]) == (308, "/_mock/guide/")
    index = client.get("/_mock/guide/")
    assert index.status_code == 200
    assert "connectors-mock" in index.text
    assert client.get("/_mock/guide/scenarios/").text == "<title>Scenarios</title>"
    assert client.get("/_mock/guide/no-such-page/").status_code == 404


def test_without_a_built_guide_a_page_says_where_it_is(
    monkeypatch: pytest.MonkeyPatch, make_client: ClientFactory
) -> None:
    monkeypatch.setattr(resources, "guide_dir", lambda: None)
    client = make_client(token=None)
    for path in ("/_mock/guide", "/_mock/guide/scenarios/"):
        page = client.get(path)
        assert page.status_code == 404
        assert page.headers["content-type"].startswith("text/html")
        assert "mkdocs build" in page.text
