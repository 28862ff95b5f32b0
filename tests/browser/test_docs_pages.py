"""`/docs` and `/_mock/docs` in a browser: Swagger UI from the package lists every operation,
and "Try it out" calls this fake, with the key typed into Authorize."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from connectors_mock.control import control_document
from tests.browser.conftest import Fake, label_of, screenshot


def test_docs_list_all_nine_operations_and_try_it_out_gets_a_200(page: Any, fake: Fake) -> None:
    page.goto(f"{fake.url}/docs")
    operations = page.locator(".opblock")
    expect(operations).to_have_count(9)
    expect(page.locator(".servers select")).to_contain_text(fake.url)

    page.get_by_role("button", name="Authorize").first.click()
    dialog = page.locator(".modal-ux")
    dialog.locator("input").first.fill("typed-into-authorize")
    dialog.locator("button.modal-btn.authorize").click()
    dialog.locator("button.btn-done").click()

    listing = try_it_out(page.locator("#operations-Connectors-listConnectors"))
    expect(listing.locator("tr.response .response-col_status")).to_have_text("200")
    expect(listing).to_contain_text("conn_abc123")
    page.locator("#operations-tag-Connectors").scroll_into_view_if_needed()
    page.mouse.wheel(0, page.locator("#operations-tag-Connectors").bounding_box()["y"] - 60)
    screenshot(page, "docs")
    # The fake served it, for the key typed into Authorize.
    status, journal = fake.call("GET", "/_mock/journal?operation=listConnectors", key=None)
    assert status == 200
    [entry] = journal["data"]["entries"]
    assert entry["status"] == 200
    # Try it out fills X-Team-ID with the document's example: the key's team is the tenant.
    assert entry["tenant"] == f"{label_of('typed-into-authorize')}/team_research"


def test_control_docs_list_the_control_api_and_try_it_out_reads_the_clock(page: Any, fake: Fake) -> None:
    page.goto(f"{fake.url}/_mock/docs")
    documented = sum(
        1
        for item in control_document()["paths"].values()
        for method in item
        if method in ("get", "put", "post", "delete")
    )
    expect(page.locator(".opblock")).to_have_count(documented)
    screenshot(page, "control-docs")
    clock = try_it_out(page.locator("#operations-Clock-readClock"))
    expect(clock.locator("tr.response .response-col_status")).to_have_text("200")
    expect(clock).to_contain_text("2025-01-01T00:00:00Z")


def try_it_out(operation: Any) -> Any:
    """Open an operation, press "Try it out" and "Execute": the table of the live response."""
    operation.locator(".opblock-summary-control").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    return operation.locator(".live-responses-table")
