"""What a test does to the fake besides calling the API: move its manual clock, and click on
its consent page as the user would. Both are the fake's own (`/_mock`), so no client generated
from openapi.yaml knows them; the TypeScript flows do the same with fetch (`typescript/flows.ts`)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx


def advance_clock(base_url: str, seconds: float) -> None:
    httpx.post(f"{base_url}/_mock/clock/advance", json={"seconds": seconds}).raise_for_status()


def approve_consent(auth_url: str) -> tuple[str, str]:
    """Open the consent page at `auth_url` and press Approve; the code and state that the
    provider's redirect carries back."""
    page = httpx.get(auth_url)
    assert page.status_code == 200, page.text
    assert 'value="approve"' in page.text, page.text
    state = parse_qs(urlsplit(auth_url).query)["state"][0]
    # The form posts to its own address, as the page's `action="consent"` says.
    answer = httpx.post(auth_url.split("?", 1)[0], data={"state": state, "decision": "approve"})
    assert answer.status_code == 303, answer.text
    returned = parse_qs(urlsplit(answer.headers["location"]).query)
    return returned["code"][0], returned["state"][0]
