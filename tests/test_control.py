"""The fake's own routes under `/_mock`: the clock, and the OAuth consent and callback pages,
driven as a browser would (read the HTML, submit its form, follow the redirect)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest
from starlette.testclient import TestClient

from tests.conftest import S3_CREATE
from tests.test_handlers import advance, authorize


@dataclass
class Form:
    action: str = ""
    method: str = "get"
    fields: dict[str, str] = field(default_factory=dict)
    buttons: dict[str, tuple[str, str]] = field(default_factory=dict)


class FormReader(HTMLParser):
    """The forms of a page, and their hidden fields and submit buttons by label."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._button: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form":
            self.forms.append(Form(found.get("action") or "", (found.get("method") or "get").lower()))
        elif tag == "input" and found.get("type") == "hidden":
            self.forms[-1].fields[found["name"] or ""] = found.get("value") or ""
        elif tag == "button" and found.get("type", "submit") == "submit":
            self._button = found

    def handle_data(self, data: str) -> None:
        if self._button is not None and data.strip():
            self.forms[-1].buttons[data.strip()] = (self._button["name"] or "", self._button["value"] or "")
            self._button = None


def only_form(html: str, page_url: str) -> Form:
    """The page's one form, its action resolved against the page's URL as a browser does."""
    reader = FormReader()
    reader.feed(html)
    assert len(reader.forms) == 1
    form = reader.forms[0]
    form.action = urljoin(page_url, form.action)
    return form


def click(client: TestClient, page_url: str, label: str) -> Any:
    """Open the consent page, press the button labelled `label`, and return the redirect."""
    page = client.get(page_url)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    form = only_form(page.text, page_url)
    assert form.method == "post"
    name, value = form.buttons[label]
    return client.post(form.action, data={**form.fields, name: value}, follow_redirects=False)


def test_the_clock_reads_and_advances(client: TestClient) -> None:
    assert client.get("/_mock/clock").json()["data"] == {"mode": "manual", "speed": 1.0, "now": "2025-01-01T00:00:00Z"}
    advanced = client.post("/_mock/clock/advance", json={"seconds": 90.5})
    assert advanced.status_code == 200
    assert advanced.json()["data"]["now"] == "2025-01-01T00:01:30Z"
    assert client.get("/v1/connectors/conn_abc123").json()["meta"]["timestamp"] == "2025-01-01T00:01:30Z"


@pytest.mark.parametrize(
    ("body", "status", "mentions"),
    [
        ({"seconds": -1}, 422, "$.seconds"),
        ({"seconds": "10"}, 422, "$.seconds"),
        ({}, 422, "seconds"),
        ({"seconds": 1, "minutes": 2}, 422, "minutes"),
        ({"seconds": 10**12}, 422, "$.seconds"),
        (None, 400, "required"),
    ],
)
def test_a_bad_advance_is_refused_and_moves_nothing(
    client: TestClient, body: dict[str, Any] | None, status: int, mentions: str
) -> None:
    refused = (
        client.post("/_mock/clock/advance", json=body) if body is not None else client.post("/_mock/clock/advance")
    )
    assert refused.status_code == status
    assert mentions in refused.json()["error"]["message"]
    assert client.get("/_mock/clock").json()["data"]["now"] == "2025-01-01T00:00:00Z"


def test_approving_on_the_consent_page_returns_to_the_caller_with_a_code(client: TestClient) -> None:
    auth = authorize(client, collection="col_abc123", redirect_uri="http://localhost:3000/oauth/callback?from=ui")
    redirect = click(client, auth["authUrl"], "Approve")
    assert redirect.status_code == 303
    location = urlsplit(redirect.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == "http://localhost:3000/oauth/callback"
    returned = dict(parse_qsl(location.query))
    assert returned["from"] == "ui"
    assert returned["state"] == auth["state"]
    completed = client.post(
        "/v1/connectors/oauth/google_drive/callback", json={"code": returned["code"], "state": returned["state"]}
    )
    assert completed.status_code == 201
    assert completed.json()["data"]["type"] == "google_drive"


def test_denying_returns_access_denied_and_the_flow_cannot_complete(client: TestClient) -> None:
    auth = authorize(client, "notion", collection="col_abc123", redirect_uri="http://localhost:3000/cb")
    redirect = click(client, auth["authUrl"], "Deny")
    returned = dict(parse_qsl(urlsplit(redirect.headers["location"]).query))
    assert returned == {"error": "access_denied", "state": auth["state"]}
    refused = client.post("/v1/connectors/oauth/notion/callback", json={"code": "none", "state": auth["state"]})
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "access_denied")


def test_without_a_redirect_uri_the_fake_shows_the_code_and_the_call_to_make(client: TestClient) -> None:
    auth = authorize(client, collection="col_abc123")
    redirect = click(client, auth["authUrl"], "Approve")
    shown = client.get(redirect.headers["location"])
    assert shown.status_code == 200
    code = dict(parse_qsl(urlsplit(redirect.headers["location"]).query))["code"]
    assert code in shown.text
    assert "/v1/connectors/oauth/google_drive/callback" in shown.text


def test_a_consent_page_is_answered_once(client: TestClient) -> None:
    auth = authorize(client, collection="col_abc123")
    page = client.get(auth["authUrl"]).text
    assert click(client, auth["authUrl"], "Approve").status_code == 303
    form = only_form(page, auth["authUrl"])
    again = client.post(form.action, data={**form.fields, "decision": "deny"}, follow_redirects=False)
    assert again.status_code == 409
    assert "already answered" in again.text


def test_an_unknown_or_expired_consent_page_says_so(client: TestClient) -> None:
    unknown = client.get("/_mock/oauth/google_drive/consent?state=st_nope")
    assert unknown.status_code == 404
    assert "st_nope" in unknown.text
    auth = authorize(client, collection="col_abc123")
    advance(client, 600)
    expired = client.get(auth["authUrl"])
    assert expired.status_code == 400
    assert "expired" in expired.text
    nonsense = client.get(f"{auth['authUrl']}&decision=maybe")
    assert nonsense.status_code == 400
    assert "decision" in nonsense.text


def test_what_a_caller_chose_is_shown_escaped(client: TestClient) -> None:
    auth = authorize(client, collection="col_abc123", name="<script>alert(1)</script>")
    page = client.get(auth["authUrl"]).text
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_mock_routes_need_no_api_key_and_do_not_touch_tenants(make_client: Any) -> None:
    anonymous = make_client(token=None)
    assert anonymous.get("/_mock/clock").status_code == 200
    assert anonymous.app.state.backend.tenant_count == 0
    assert anonymous.post("/v1/connectors", json=S3_CREATE).status_code == 401


def test_a_consent_answer_without_a_decision_says_what_is_missing(client: TestClient) -> None:
    auth = authorize(client, collection="col_abc123")
    form = only_form(client.get(auth["authUrl"]).text, auth["authUrl"])
    as_json = client.post(form.action, json=form.fields)
    assert as_json.status_code == 400
    assert "application/x-www-form-urlencoded" in as_json.text
    without = client.post(form.action, data=form.fields)
    assert without.status_code == 400
    assert "decision: missing" in without.text
    assert "None" not in without.text


def test_a_consent_url_with_the_wrong_type_or_no_state_says_which(client: TestClient) -> None:
    auth = authorize(client, collection="col_abc123")
    wrong_type = client.get(auth["authUrl"].replace("/google_drive/", "/notion/"))
    assert wrong_type.status_code == 404
    assert "was issued for google_drive, not notion" in wrong_type.text
    no_state = client.get("/_mock/oauth/google_drive/consent")
    assert no_state.status_code == 400
    assert "state: required" in no_state.text


def test_the_clock_stops_short_of_the_end_of_the_calendar(client: TestClient) -> None:
    century = 100 * 365 * 24 * 3600
    while client.post("/_mock/clock/advance", json={"seconds": century}).status_code == 200:
        pass
    refused = client.post("/_mock/clock/advance", json={"seconds": century})
    assert refused.status_code == 422
    assert "past 9000-01-01T00:00:00Z" in refused.json()["error"]["message"]
    # Everything still answers, OAuth expiry included.
    assert client.get("/v1/connectors").status_code == 200
    assert authorize(client)["expiresAt"].startswith("89")


def test_a_head_request_looks_at_the_consent_page_without_answering(client: TestClient) -> None:
    auth = authorize(client, collection="col_abc123")
    assert client.head(f"{auth['authUrl']}&decision=approve").status_code == 200
    assert click(client, auth["authUrl"], "Approve").status_code == 303


def test_the_callback_page_shows_the_flows_own_outcome_not_the_querys(client: TestClient) -> None:
    auth = authorize(client, collection="col_abc123")
    pending = client.get(f"/_mock/oauth/callback?state={auth['state']}&code=x';touch /tmp/pwned;'")
    assert pending.status_code == 409
    redirect = click(client, auth["authUrl"], "Approve")
    code = dict(parse_qsl(urlsplit(redirect.headers["location"]).query))["code"]
    forged = client.get(f"/_mock/oauth/callback?state={auth['state']}&code=x';touch /tmp/pwned;'")
    assert forged.status_code == 200
    assert code in forged.text
    assert "pwned" not in forged.text


def test_a_redirect_uri_that_could_not_take_the_outcome_is_refused_at_authorize(client: TestClient) -> None:
    refused = client.get(
        "/v1/connectors/oauth/notion/authorize", params={"redirect_uri": "http://app.test/cb?state=mine"}
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["details"]["errors"] == [
        {"location": "query", "path": "redirect_uri", "message": "must not carry state: the consent page adds them"}
    ]


def test_the_callback_page_shows_only_flows_that_return_to_it(client: TestClient) -> None:
    elsewhere = authorize(client, collection="col_abc123", redirect_uri="http://localhost:3000/cb")
    assert click(client, elsewhere["authUrl"], "Approve").status_code == 303
    shown = client.get(f"/_mock/oauth/callback?state={elsewhere['state']}")
    assert shown.status_code == 404
    assert "code_" not in shown.text
    assert client.get("/_mock/oauth/callback").status_code == 400


def test_the_callback_page_of_an_expired_flow_says_so(client: TestClient) -> None:
    auth = authorize(client, collection="col_abc123")
    redirect = click(client, auth["authUrl"], "Approve")
    advance(client, 600)
    expired = client.get(redirect.headers["location"])
    assert expired.status_code == 400
    assert "expired" in expired.text
