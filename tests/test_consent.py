"""The OAuth consent and callback pages under `/_mock/oauth`, driven as a browser would (read
the HTML, submit its form, follow the redirect), and as a scenario changes them."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

from starlette.testclient import TestClient

from connectors_mock.scenarios.loader import load_text
from connectors_mock.spec import default_spec
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


def test_a_scenario_can_approve_for_the_user_fail_the_exchange_and_shorten_the_state(make_client: Any) -> None:
    scenario = load_text(
        b"name: provider\noauth:\n  consent: approve\n  code_exchange: {fail: true, message: token endpoint down}\n"
        b"  state_lifetime_seconds: 60\n",
        "test.yaml",
        default_spec(),
    )
    client = make_client(scenarios=(scenario,))
    auth = authorize(client, collection="col_abc123", redirect_uri="https://app.example/cb")
    assert auth["expiresAt"] == "2025-01-01T00:01:00Z"
    opened = client.get(auth["authUrl"], follow_redirects=False)
    assert opened.status_code == 303, "no page to click: the scenario approves at once"
    code = dict(parse_qsl(urlsplit(opened.headers["location"]).query))["code"]
    body = {"code": code, "state": auth["state"]}
    refused = client.post("/v1/connectors/oauth/google_drive/callback", json=body)
    assert (refused.status_code, refused.json()["error"]) == (
        400,
        {"code": "invalid_grant", "message": "token endpoint down"},
    )
    client.app.state.scenarios.clear()
    assert client.post("/v1/connectors/oauth/google_drive/callback", json=body).status_code == 201, (
        "a refused exchange leaves the state usable"
    )
