"""The dashboard (`/_mock/ui`) in a browser, as a person uses it: a tenant picked by link or
from the list, what the API does showing up live, a sync's bars rising as the clock moves, an
outage switched on from the page, state saved and restored, and an admin token asked for once.
`LIVE` is the issue's promise: what the API does shows within a second, with no reload."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from connectors_mock.snapshot import SNAPSHOT_VERSION
from tests.browser.conftest import Fake, Watch, label_of, screenshot
from tests.conftest import S3_CREATE

LIVE = 1_000
KEY = "browser-key"


def open_dashboard(page: Any, fake: Fake, key: str = KEY) -> None:
    fake.call("GET", "/v1/connectors", key=key)
    page.goto(f"{fake.url}/_mock/ui?tenant={label_of(key)}")
    expect(page.locator("#connection")).to_have_text("Live")
    expect(page.locator("#connectors tbody tr")).to_have_count(8)


def progress(page: Any, job_id: str) -> list[int]:
    return [int(page.locator(f"[id='{job_id}-{stage}']").get_attribute("value")) for stage in STAGES]


STAGES = ("collected", "parsed", "indexed")


def test_a_connector_created_over_the_api_appears_within_a_second(page: Any, fake: Fake) -> None:
    open_dashboard(page, fake)
    expect(page.locator("#tenant")).to_have_value(label_of(KEY))
    status, _ = fake.call("POST", "/v1/connectors", {**S3_CREATE, "name": "Made just now"})
    assert status == 201
    expect(page.locator("#connectors tbody")).to_contain_text("Made just now", timeout=LIVE)
    expect(page.locator("#journal tbody tr").first).to_contain_text("POST", timeout=LIVE)


def test_a_syncs_bars_rise_as_the_clock_advances_and_the_job_completes(page: Any, fake: Fake) -> None:
    open_dashboard(page, fake)
    status, job = fake.call("POST", "/v1/connectors/conn_abc123/sync")
    assert status == 202
    job_id = job["data"]["jobId"]
    expect(page.locator(f"[data-job='{job_id}']")).to_contain_text("queued", timeout=LIVE)
    page.get_by_label("Advance by (seconds)").fill("1")
    seen = [progress(page, job_id)]
    for _ in range(4):
        page.get_by_role("button", name="Advance", exact=True).click()
        expect(page.locator(f"[id='{job_id}-collected']")).not_to_have_attribute(
            "value", str(seen[-1][0]), timeout=LIVE
        )
        seen.append(progress(page, job_id))
    for stage in range(len(STAGES)):
        counts = [each[stage] for each in seen]
        assert counts == sorted(counts), (STAGES[stage], seen)
    assert seen[-1][0] > seen[1][0] > 0
    expect(page.locator(f"[data-job='{job_id}']")).to_contain_text("running")
    page.get_by_role("button", name="Advance to the end of running jobs").click()
    card = page.locator(f"[data-job='{job_id}']")
    expect(card).to_contain_text("completed", timeout=LIVE)
    total = page.locator(f"[id='{job_id}-indexed']").get_attribute("max")
    assert progress(page, job_id) == [int(total)] * 3
    expect(page.locator("#connectors tbody tr").first).to_contain_text("active")


def test_activating_outage_from_the_page_makes_the_api_answer_503(page: Any, fake: Fake) -> None:
    open_dashboard(page, fake)
    page.get_by_label("Shipped example").select_option("outage")
    page.get_by_role("button", name="Load", exact=True).click()
    expect(page.locator("#scenarios tbody")).to_contain_text("active")
    status, _ = fake.call("GET", "/v1/connectors/conn_abc123")
    assert status == 503
    row = page.locator("#journal tbody tr").first
    expect(row).to_contain_text("503", timeout=LIVE)
    expect(row).to_contain_text("outage")
    # From the keyboard: the row's Detail button, then the masked entry.
    row.get_by_role("button").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#entry-json")).to_contain_text('"fault": "error 503')
    expect(page.locator("#entry-heading")).to_be_focused()
    page.get_by_role("button", name="Deactivate outage").click()
    expect(page.locator("#scenarios tbody")).to_contain_text("loaded")
    assert fake.call("GET", "/v1/connectors/conn_abc123")[0] == 200


def test_the_journal_is_filtered_by_status_and_by_operation(page: Any, fake: Fake) -> None:
    open_dashboard(page, fake)
    assert fake.call("GET", "/v1/connectors/conn_missing")[0] == 404
    assert fake.call("GET", "/v1/connectors/conn_abc123")[0] == 200
    rows = page.locator("#journal tbody tr")
    expect(rows.first).to_contain_text("/v1/connectors/conn_abc123", timeout=LIVE)
    page.get_by_label("Status").fill("404")
    page.get_by_label("Status").press("Enter")
    page.get_by_label("Status").blur()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("/v1/connectors/conn_missing")
    page.get_by_label("Status").fill("")
    page.get_by_label("Status").blur()
    page.get_by_label("Operation").select_option("listConnectors")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("GET")
    expect(rows.first.locator("td").nth(2)).to_have_text("/v1/connectors")
    # New requests keep to the filter as they come.
    fake.call("GET", "/v1/connectors/conn_abc123")
    fake.call("GET", "/v1/connectors")
    expect(rows).to_have_count(2, timeout=LIVE)


def test_a_scenario_is_bound_to_the_tenant_from_the_page(page: Any, fake: Fake) -> None:
    open_dashboard(page, fake)
    page.get_by_label("activate").uncheck()
    page.get_by_label("Shipped example").select_option("outage")
    page.get_by_role("button", name="Load", exact=True).click()
    page.get_by_role("button", name="Bind outage to the tenant").click()
    expect(page.locator("#tenant-note")).to_contain_text("Bound to scenario outage")
    assert fake.call("GET", "/v1/connectors")[0] == 503
    assert fake.call("GET", "/v1/connectors", key="someone-else")[0] == 200
    page.get_by_role("button", name="Unbind outage from the tenant").click()
    expect(page.locator("#tenant-note")).not_to_contain_text("Bound")
    assert fake.call("GET", "/v1/connectors")[0] == 200


def test_a_tenant_is_picked_from_the_list_and_the_url_names_it(page: Any, fake: Fake) -> None:
    fake.call("GET", "/v1/connectors", key="first-key")
    fake.call("POST", "/v1/connectors", {**S3_CREATE, "name": "Second's own"}, key="second-key")
    page.goto(f"{fake.url}/_mock/ui")
    expect(page.locator("#connection")).to_have_text("Live")
    page.get_by_role("combobox", name="Tenant").select_option(label_of("second-key"))
    expect(page.locator("#connectors tbody")).to_contain_text("Second's own")
    assert page.url.endswith(f"/_mock/ui?tenant={label_of('second-key')}")
    assert "second-key" not in page.content()


def test_oauth_flows_waiting_link_their_consent_page(page: Any, fake: Fake) -> None:
    open_dashboard(page, fake)
    status, _ = fake.call("GET", "/v1/connectors/oauth/google_drive/authorize?collection=col_abc123")
    assert status == 200
    link = page.get_by_role("link", name="open the consent page")
    expect(link).to_have_count(1, timeout=LIVE)
    with page.context.expect_page() as opened:
        link.click()
    consent = opened.value
    expect(consent.get_by_role("button", name="Approve")).to_be_visible()
    consent.get_by_role("button", name="Approve").click()
    consent.close()
    expect(page.locator("#flows")).to_contain_text("None.")


def test_state_is_exported_reset_and_imported(page: Any, fake: Fake, tmp_path: Path) -> None:
    open_dashboard(page, fake)
    fake.call("POST", "/v1/connectors", {**S3_CREATE, "name": "Worth keeping"})
    expect(page.locator("#connectors tbody")).to_contain_text("Worth keeping")
    with page.expect_download() as downloading:
        page.get_by_role("button", name="Export state").click()
    saved = tmp_path / "state.json"
    downloading.value.save_as(saved)
    assert "Worth keeping" in saved.read_text()
    assert KEY not in saved.read_text()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Reset every tenant").click()
    expect(page.locator("#connectors tbody")).not_to_contain_text("Worth keeping")
    page.get_by_label("State file").set_input_files(str(saved))
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#notice")).to_contain_text("Imported state.json")
    expect(page.locator("#connectors tbody")).to_contain_text("Worth keeping")
    assert json.loads(saved.read_text())["data"]["version"] == SNAPSHOT_VERSION


def test_a_scenario_file_is_loaded_from_the_page(page: Any, fake: Fake, tmp_path: Path) -> None:
    open_dashboard(page, fake)
    scenario = tmp_path / "teapot.yaml"
    scenario.write_text("name: teapot\nfaults:\n  - match: {operation: getConnector}\n    error: {status: 418}\n")
    page.get_by_label("Scenario file").set_input_files(str(scenario))
    page.get_by_role("button", name="Load file").click()
    expect(page.locator("#scenarios tbody")).to_contain_text("teapot")
    page.get_by_role("button", name="Activate teapot").click()
    expect(page.get_by_role("button", name="Deactivate teapot")).to_be_visible()
    assert fake.call("GET", "/v1/connectors/conn_abc123")[0] == 418


@pytest.mark.parametrize("settings", [{"seed": 1, "admin_token": "tab-only-token"}])
def test_with_an_admin_token_the_page_asks_once_per_tab_and_never_shows_it(
    page: Any, fake: Fake, browser: Any, watch: Watch
) -> None:
    # The wrong token typed on purpose is refused, and the browser reports the 401.
    watch.allowed.append("401")
    page.goto(f"{fake.url}/_mock/ui")
    expect(page.locator("#token-form")).to_be_visible()
    expect(page.locator("#board")).to_be_hidden()
    page.get_by_label("Admin token").fill("wrong")
    page.get_by_role("button", name="Use it").click()
    expect(page.locator("#token-error")).to_contain_text("refused")
    page.get_by_label("Admin token").fill("tab-only-token")
    page.get_by_role("button", name="Use it").click()
    expect(page.locator("#connection")).to_have_text("Live")
    page.reload()
    expect(page.locator("#connection")).to_have_text("Live")
    expect(page.locator("#token-form")).to_be_hidden()
    assert "tab-only-token" not in page.content()
    assert "tab-only-token" not in page.url
    other = browser.new_context()
    elsewhere = other.new_page()
    elsewhere.goto(f"{fake.url}/_mock/ui")
    expect(elsewhere.locator("#token-form")).to_be_visible()
    other.close()


def test_the_dashboard_as_the_readme_shows_it(page: Any, fake: Fake) -> None:
    """A tenant in the middle of a day: syncs under way, one that failed, a mistake in the
    journal, a consent waiting. Its screenshot is the README's."""
    open_dashboard(page, fake)
    fake.call("POST", "/v1/connectors", S3_CREATE)
    for connector in ("conn_abc123", "conn_mktassets01"):
        fake.call("POST", f"/v1/connectors/{connector}/sync")
    fake.call("POST", "/_mock/scenarios?example=sync-fails-midway&activate=true", key=None)
    fake.call("POST", "/v1/connectors/conn_shareddrive1/sync", key=KEY)
    fake.call("DELETE", "/_mock/scenarios/sync-fails-midway/active", key=None)
    fake.call("GET", "/v1/connectors/conn_missing")
    fake.call("GET", "/v1/connectors/oauth/notion/authorize?collection=col_abc123&name=Wiki")
    fake.call("POST", "/_mock/clock/advance", {"seconds": 2.5}, key=None)
    expect(page.locator("#jobs .job")).to_have_count(4)
    expect(page.locator("#jobs .job.failed")).to_have_count(1)
    expect(page.locator("#journal tbody")).to_contain_text("404")
    screenshot(page, "dashboard", full_page=True)
