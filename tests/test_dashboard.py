"""`GET /_mock/ui`: a page with no data in it, so it opens without the admin token; what its
script needs to start (the shipped examples, the operations, whether to ask for a token)."""

from __future__ import annotations

import json
import re

from starlette.testclient import TestClient

from connectors_mock import resources
from connectors_mock.spec import Spec
from tests.conftest import ClientFactory


def boot(page: str) -> dict[str, object]:
    found = re.search(r'<script type="application/json" id="boot">(.*?)</script>', page, re.S)
    assert found
    data: dict[str, object] = json.loads(found.group(1))
    return data


def test_the_page_opens_without_the_token_and_holds_no_data(make_client: ClientFactory, spec: Spec) -> None:
    client = make_client(token=None, admin_token="s3cret")
    page = client.get("/_mock/ui")
    assert page.status_code == 200
    assert "s3cret" not in page.text
    started = boot(page.text)
    assert started["adminToken"] is True
    assert started["examples"] == list(resources.example_scenarios())
    assert started["operations"] == sorted(spec.operations)
    assert client.get("/_mock/assets/dashboard.js").status_code == 200


def test_the_page_is_labelled_for_screen_readers(client: TestClient) -> None:
    page = client.get("/_mock/ui").text
    controls = re.findall(r'<(?:input|select)[^>]* id="([^"]+)"', page)
    assert controls
    for control in controls:
        labelled = f'for="{control}"' in page or re.search(rf'<label[^>]*><input id="{control}"', page)
        assert labelled, f"#{control} has no label"
    assert page.count("<h2") >= 5


def test_without_a_token_the_page_asks_for_none(client: TestClient) -> None:
    assert boot(client.get("/_mock/ui").text)["adminToken"] is False
