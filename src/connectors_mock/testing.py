"""The fake for a test suite: one server per session on a real socket of 127.0.0.1, and for
each test a tenant of its own (`ConnectorsApi`), made by choosing a new API key and dropped
with `DELETE /_mock/tenant` when the test ends. Making a tenant costs nothing on the server
until its first request, so a test pays a millisecond or two for its fake, not a server start.

The `connectors_api` pytest fixture (`pytest_plugin.py`) is built on this; without pytest:

    with FakeServer(FakeOptions(seed=1)) as fake:
        api = fake.tenant("a-test")
        ...  # api.url, api.headers, api.advance(60), api.journal()
        api.forget()

Importing this module costs nothing: the fake itself is imported when a server starts, since
pytest loads the plugin in every run of every project where connectors-mock is installed.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote, urlencode, urlsplit

if TYPE_CHECKING:
    import httpx

    from connectors_mock.server import Serving

ClockMode = Literal["real", "manual"]
SCENARIO_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class FakeOptions:
    """What a fake starts with, as `serve`'s options of the same names: tests that ask for the
    same options share one fake."""

    fixtures: Path | None = None
    seed: int | None = None
    clock: ClockMode | None = None
    speed: float | None = None
    # Active server-wide from the start, later ones winning (`serve --scenario`).
    scenarios: tuple[Path, ...] = ()


class ControlError(RuntimeError):
    """The fake refused a call of its control API; the message is its error, field by field."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code = status, code


class FakeServer:
    """One fake, served in a thread of this process, and a keep-alive connection to its
    control API. Not safe to share between threads that call it at once (pytest runs a
    worker's tests one at a time)."""

    def __init__(self, options: FakeOptions | None = None) -> None:
        self.options = options or FakeOptions()
        self._stack = ExitStack()
        self._serving: Serving | None = None
        self.app: Any = None
        self._connection: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()
        # Scenarios loaded from files or examples, by where they came from: their names.
        self._scenarios: dict[tuple[str, str], str] = {}
        # How often each tenant name was asked for: a test run twice gets a new key the second
        # time, so its journal holds only its own requests.
        self._names: dict[str, int] = {}

    def __enter__(self) -> FakeServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self) -> None:
        # Imported here: see the top.
        from connectors_mock.app import Settings, build_app, startup_clock  # noqa: PLC0415
        from connectors_mock.scenarios.loader import load_files  # noqa: PLC0415
        from connectors_mock.server import serving  # noqa: PLC0415
        from connectors_mock.spec import default_spec  # noqa: PLC0415

        options = self.options
        scenarios = tuple(load_files(list(options.scenarios), default_spec()))
        clock = startup_clock(options.seed, options.clock, options.speed, scenarios)
        settings = Settings(fixtures=options.fixtures, seed=options.seed, clock=clock, scenarios=scenarios)
        self.app = build_app(settings)
        self._serving = self._stack.enter_context(serving(self.app))

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        self._stack.close()
        self._serving = None

    @property
    def url(self) -> str:
        return self._served().url

    def _served(self) -> Serving:
        if self._serving is None:
            raise RuntimeError("the fake is not running: start() it, or use it in a `with` block")
        return self._serving

    def tenant(self, name: str, roots: tuple[Path, ...] = ()) -> ConnectorsApi:
        """A tenant of its own for `name` (a test's id): the same name gives the same key, so
        under a seed its ids repeat from run to run. A scenario file it names by a relative
        path is looked for under `roots`, then the working directory."""
        runs = self._names[name] = self._names.get(name, 0) + 1
        unique = name if runs == 1 else f"{name}#{runs}"
        key = "pytest-" + hashlib.sha256(unique.encode()).hexdigest()[:24]
        return ConnectorsApi(self, key, roots)

    # The control API --------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        *,
        key: str | None = None,
        body: bytes | None = None,
        media_type: str = "application/json",
    ) -> Any:
        """Send one request to `/_mock`; its `data`, or None for a 204. A refusal raises
        `ControlError`."""
        headers = {"Content-Type": media_type} if body is not None else {}
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        with self._lock:
            status, raw = self._send(method, path, body, headers)
        if status == 204:
            return None
        answer = json.loads(raw)
        if status >= 400:
            error = answer.get("error", {})
            message = error.get("message", raw.decode(errors="replace"))
            # The message names the first problem; the details have every one.
            problems = [f"{e.get('path')}: {e.get('message')}" for e in error.get("details", {}).get("errors", [])]
            message = "; ".join([message, *(problem for problem in problems if problem not in message)])
            raise ControlError(status, error.get("code", "?"), message)
        return answer["data"]

    def _send(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, bytes]:
        # The server closes a connection left idle for 5 s: a stale one is replaced, once.
        for attempt in (1, 2):
            connection = self._connection or self._connect()
            try:
                connection.request(method, path, body, headers)
                response = connection.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, OSError):
                connection.close()
                self._connection = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _connect(self) -> http.client.HTTPConnection:
        address = urlsplit(self.url)
        self._connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=30)
        return self._connection

    def advance(self, seconds: float) -> datetime:
        """Move the clock (in either mode); the time it shows now."""
        clock = self.call("POST", "/_mock/clock/advance", body=json.dumps({"seconds": seconds}).encode())
        return datetime.fromisoformat(clock["now"])

    def now(self) -> datetime:
        return datetime.fromisoformat(self.call("GET", "/_mock/clock")["now"])

    def load_scenario(self, scenario: str | Path, roots: tuple[Path, ...] = ()) -> str:
        """The name of a scenario on the fake, loaded once: by name, one it holds already or
        else a shipped example (`"outage"`); or a file (a path, or a name ending in `.yaml`),
        a relative one looked for under each of `roots`, then the working directory."""
        if isinstance(scenario, str) and not scenario.endswith(SCENARIO_SUFFIXES) and "/" not in scenario:
            source = ("example", scenario)
            if source in self._scenarios:
                return self._scenarios[source]
            try:
                return str(self.call("GET", f"/_mock/scenarios/{quote(scenario, safe='')}")["name"])
            except ControlError as missing:
                if missing.status != 404:
                    raise
            loaded = self.call("POST", "/_mock/scenarios?" + urlencode({"example": scenario}), body=b"")
            self._scenarios[source] = loaded["name"]
            return self._scenarios[source]
        path = _find_file(Path(scenario), roots)
        text = path.read_bytes()
        source = ("file", f"{path}:{hashlib.sha256(text).hexdigest()}")
        if source not in self._scenarios:
            loaded = self.call("POST", "/_mock/scenarios", body=text, media_type="application/yaml")
            # A later file of the same name replaces it on the server.
            self._scenarios = {where: name for where, name in self._scenarios.items() if name != loaded["name"]}
            self._scenarios[source] = loaded["name"]
        return self._scenarios[source]

    # For the transports ------------------------------------------------------------------------

    @property
    def loop(self) -> Any:
        return self._served().loop


def _find_file(path: Path, roots: tuple[Path, ...]) -> Path:
    candidates = (
        [path] if path.is_absolute() else list(dict.fromkeys([*(root / path for root in roots), Path.cwd() / path]))
    )
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(candidate) for candidate in candidates)
    raise FileNotFoundError(f"no scenario file {str(path)!r} (looked for {looked})")


@dataclass
class ConnectorsApi:
    """One test's view of the fake: its own API key, so its own tenant, starting from the
    fixtures; the fake's clock, scenarios and journal, as this tenant meets them."""

    server: FakeServer = field(repr=False)
    api_key: str = field(repr=False)
    roots: tuple[Path, ...] = ()

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def headers(self) -> dict[str, str]:
        """The `Authorization` header of this tenant's key."""
        return {"Authorization": f"Bearer {self.api_key}"}

    @property
    def label(self) -> str:
        """How the journal and state snapshots name this tenant (`key_...`), never by its key."""
        from connectors_mock.auth import tenant_label  # noqa: PLC0415

        return tenant_label(self.api_key)

    def advance(self, seconds: float) -> datetime:
        """Move the fake's clock forward; the time it shows now. The clock is the fake's, not
        this tenant's: tests that share the fake run one after another, so none of them
        notices another's."""
        return self.server.advance(seconds)

    def now(self) -> datetime:
        return self.server.now()

    def use_scenario(self, scenario: str | Path) -> str:
        """From now on this tenant's requests see this scenario alone (a shipped example by
        name, or a file); its name. It ends with the tenant."""
        name = self.server.load_scenario(scenario, self.roots)
        self.server.call("PUT", "/_mock/binding", key=self.api_key, body=json.dumps({"scenario": name}).encode())
        return name

    def journal(self, **filters: str | int) -> list[dict[str, Any]]:
        """This tenant's requests, as `GET /_mock/journal` shows them, oldest first; `filters`
        are that route's (`operation="triggerSync"`, `status="5xx"`, `limit=...`)."""
        query = urlencode({**filters, "tenant": self.label})
        entries: list[dict[str, Any]] = self.server.call("GET", f"/_mock/journal?{query}")["entries"]
        return entries

    def state(self) -> dict[str, Any]:
        """This tenant's collections, connectors (as the API shows them, and what the fake
        keeps besides) and sync jobs, as a state snapshot holds them."""
        tenant: dict[str, Any] = self.server.call("GET", "/_mock/tenant", key=self.api_key)
        return tenant

    def forget(self) -> None:
        """Drop everything the fake keeps for this tenant; its next request starts afresh."""
        self.server.call("DELETE", "/_mock/tenant", key=self.api_key)

    @property
    def transport(self) -> httpx.BaseTransport:
        """An httpx transport that serves the fake's app in this process, with no socket:
        `httpx.Client(transport=api.transport, base_url=api.url, headers=api.headers)`."""
        from connectors_mock.transport import InProcessTransport  # noqa: PLC0415

        return InProcessTransport(self.server.app, self.server.loop)

    @property
    def async_transport(self) -> httpx.AsyncBaseTransport:
        """The same for `httpx.AsyncClient`."""
        from connectors_mock.transport import AsyncInProcessTransport  # noqa: PLC0415

        return AsyncInProcessTransport(self.server.app, self.server.loop)


class FakeRegistry:
    """The fakes of a test session, one for each set of options asked for, started on first
    use and stopped together at the end."""

    def __init__(self) -> None:
        self._fakes: dict[FakeOptions, FakeServer] = {}

    def get(self, options: FakeOptions) -> FakeServer:
        fake = self._fakes.get(options)
        if fake is None:
            fake = FakeServer(options)
            fake.start()
            self._fakes[options] = fake
        return fake

    def __iter__(self) -> Iterator[FakeServer]:
        return iter(self._fakes.values())

    def close(self) -> None:
        for fake in self._fakes.values():
            fake.close()
        self._fakes.clear()
