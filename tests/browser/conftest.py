"""The pages for people, in a real browser: Debian's Chromium, driven by Playwright for
Python (its own browser download cannot work here: `executable_path` names Debian's). One
browser for the package, a fresh context and a fresh fake for each test.

Every test's page is watched: a console error, an uncaught exception, or a request to any host
but the fake fails the test. Screenshots go to `build/screenshots/` (or `$SCREENSHOT_DIR`); with
`UPDATE_SCREENSHOTS=1`, also to `docs/images/`, where the guide and the README show them.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright import sync_api as playwright_api

from connectors_mock.app import Settings, build_app
from connectors_mock.server import serving
from connectors_mock.spec import Spec

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(os.environ.get("SCREENSHOT_DIR", ROOT / "build" / "screenshots"))
DOC_IMAGES = ROOT / "docs" / "images"


def label_of(key: str) -> str:
    return "key_" + hashlib.sha256(key.encode()).hexdigest()[:12]


@dataclass
class Fake:
    """A fake served on a real socket for the browser, and a client for its API."""

    url: str
    app: Any

    def call(self, method: str, path: str, body: Any = None, key: str | None = "browser-key") -> tuple[int, Any]:
        parts = urlsplit(self.url)
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
        headers = {"Content-Type": "application/json"}
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        connection.close()
        return response.status, json.loads(payload) if payload else None


@dataclass
class Watch:
    """What a page did that it must not: errors, and requests to another host."""

    origin: str
    errors: list[str] = field(default_factory=list)
    elsewhere: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    # Errors a test causes on purpose (a wrong token's 401), by a part of their text.
    allowed: list[str] = field(default_factory=list)

    def error(self, text: str) -> None:
        if not any(part in text for part in self.allowed):
            self.errors.append(text)

    def console(self, kind: str, text: str) -> None:
        if kind == "error":
            self.error(text)

    def response(self, status: int, url: str) -> None:
        if status >= 400:
            self.error(f"{status} {url}")

    def request(self, url: str) -> None:
        self.requests.append(url)
        if not (url.startswith(f"{self.origin}/") or url.startswith(("data:", "blob:"))):
            self.elsewhere.append(url)


# A browser that stops answering would hold the run until CI's own limit; no test here takes
# more than a few seconds, so past this one fails with every thread's stack (pytest-timeout).
BROWSER_TEST_TIMEOUT_SECONDS = 180


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.timeout(BROWSER_TEST_TIMEOUT_SECONDS))


# Not the session's: Playwright's sync API runs its event loop in this thread while it is
# started, and a later test of another package could not run one of its own (`asyncio.run`).
@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and shutil.which(CHROMIUM) is None:
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium package (.ci/run does, as root)")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM)
        yield launched
        launched.close()


@pytest.fixture
def settings() -> dict[str, Any]:
    """What the test's fake is built with; a test may change it before asking for `fake`."""
    return {"seed": 1}


@pytest.fixture
def fake(spec: Spec, settings: dict[str, Any]) -> Iterator[Fake]:
    app = build_app(Settings(**settings), spec)
    with serving(app) as running:
        yield Fake(running.url, app)


@pytest.fixture
def watch(fake: Fake) -> Watch:
    return Watch(fake.url)


@pytest.fixture
def page(browser: Any, fake: Fake, watch: Watch) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    context.on("request", lambda request: watch.request(request.url))
    opened = context.new_page()
    opened.on("console", lambda message: watch.console(message.type, f"{message.text} {message.location}"))
    opened.on("pageerror", lambda error: watch.error(str(error)))
    context.on("response", lambda response: watch.response(response.status, response.url))
    yield opened
    # Pages first, each to a blank one: the dashboard's event stream ends from the browser's
    # side before the context goes (bounded by goto's timeout, which close() does not have).
    for each in context.pages:
        each.goto("about:blank", timeout=10_000)
    context.close()
    assert not watch.errors, f"the page reported errors: {watch.errors}"
    assert not watch.elsewhere, f"the page asked another host: {watch.elsewhere}"
    assert watch.requests, "the page made no request at all"


def screenshot(page: Any, name: str, *, full_page: bool = False) -> Path:
    """Save what the page shows, for a person to look at (and, with UPDATE_SCREENSHOTS=1, for
    the guide and the README)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        DOC_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOC_IMAGES / f"{name}.png")
    return path
