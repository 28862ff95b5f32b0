"""The `connectors_api` pytest fixture: for each test, a tenant of its own on a fake shared by
the test session (one per pytest-xdist worker, since each worker is a session of its own).

    def test_lists_what_it_made(connectors_api):
        response = httpx.get(f"{connectors_api.url}/v1/connectors", headers=connectors_api.headers)

Registered through the `pytest11` entry point, so active wherever connectors-mock is
installed, and inert for tests that do not ask for it: nothing starts until one does.
Options (or ini settings of the same names with `_` for `-`) choose the fake's fixtures,
seed, clock and server-wide scenarios; `@pytest.mark.connectors_mock(...)` chooses them for one
test, and its `scenario=` binds a scenario to that test's tenant alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from connectors_mock.testing import ConnectorsApi, ControlError, FakeOptions, FakeRegistry, FakeServer

MARKER = "connectors_mock"
MARKER_ARGUMENTS = ("fixtures", "seed", "clock", "speed", "scenario")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("connectors-mock", "connectors-mock fake (the connectors_api fixture)")
    for name, text in (
        ("fixtures", "a fixtures file for the fake (default: the built-in fixtures)"),
        ("seed", "seed the fake: ids repeat from run to run, and its clock is manual unless said otherwise"),
        ("clock", "the fake's clock: real or manual (default: manual with a seed, else real)"),
        ("speed", "how fast a real clock runs (default 1)"),
        ("scenario", "a scenario active server-wide, a shipped name or a file; repeatable"),
    ):
        option = f"connectors-mock-{name}"
        if name == "scenario":
            group.addoption(f"--{option}", action="append", default=[], metavar="NAME_OR_FILE", help=text)
            parser.addini(option.replace("-", "_"), text, type="linelist", default=[])
        else:
            group.addoption(f"--{option}", metavar=name.upper(), help=text)
            parser.addini(option.replace("-", "_"), text, default=None)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(fixtures=None, seed=None, clock=None, speed=None, scenario=None): the fake this test's "
        "connectors_api uses, and a scenario bound to its tenant alone",
    )


def _setting(config: pytest.Config, name: str) -> Any:
    value = config.getoption(f"connectors_mock_{name}")
    return value if value not in (None, []) else config.getini(f"connectors_mock_{name}")


def _path(config: pytest.Config, text: str | Path) -> Path:
    path = Path(text)
    return path if path.is_absolute() else config.rootpath / path


def _fake_options(config: pytest.Config, given: dict[str, Any]) -> FakeOptions:
    """The options of `given` (a marker's or the command line's), checked as `serve` checks
    its own; a mistake stops the test with the reason."""
    seed, clock, speed = given.get("seed"), given.get("clock"), given.get("speed")
    problems = []
    try:
        seed = None if seed in (None, "") else int(seed)
    except ValueError:
        problems.append(f"seed {seed!r} is not a whole number")
    if clock not in (None, "", "real", "manual"):
        problems.append(f"clock {clock!r} is neither real nor manual")
    try:
        speed = None if speed in (None, "") else float(speed)
    except ValueError:
        problems.append(f"speed {speed!r} is not a number")
    if problems:
        pytest.fail(f"connectors-mock: {'; '.join(problems)}", pytrace=False)
    fixtures = given.get("fixtures")
    return FakeOptions(
        fixtures=_path(config, fixtures) if fixtures else None,
        seed=seed,
        clock=clock or None,
        speed=speed,
        scenarios=tuple(_path(config, scenario) for scenario in given.get("scenarios", ())),
    )


def session_options(config: pytest.Config) -> FakeOptions:
    given = {name: _setting(config, name) for name in ("fixtures", "seed", "clock", "speed")}
    given["scenarios"] = _setting(config, "scenario")
    return _fake_options(config, given)


@pytest.fixture(scope="session")
def connectors_mock_fakes() -> Iterator[FakeRegistry]:
    """Every fake this session started, stopped at its end."""
    registry = FakeRegistry()
    try:
        yield registry
    finally:
        registry.close()


@pytest.fixture(scope="session")
def connectors_mock_server(pytestconfig: pytest.Config, connectors_mock_fakes: FakeRegistry) -> FakeServer:
    """The session's fake, as the command line and ini settings describe it."""
    return connectors_mock_fakes.get(session_options(pytestconfig))


@pytest.fixture
def connectors_api(request: pytest.FixtureRequest, connectors_mock_fakes: FakeRegistry) -> Iterator[ConnectorsApi]:
    """A tenant of this test's own on the session's fake (or on one started for the options
    of its `connectors_mock` marker), forgotten when the test ends."""
    config = request.config
    options = session_options(config)
    scenario = None
    marker = request.node.get_closest_marker(MARKER)
    if marker is not None:
        if marker.args or set(marker.kwargs) - set(MARKER_ARGUMENTS):
            wrong = ", ".join(map(repr, marker.args)) or ", ".join(sorted(set(marker.kwargs) - set(MARKER_ARGUMENTS)))
            pytest.fail(
                f"@pytest.mark.{MARKER} takes keyword arguments among {', '.join(MARKER_ARGUMENTS)}, not {wrong}",
                pytrace=False,
            )
        scenario = marker.kwargs.get("scenario")
        chosen = _fake_options(
            config, {name: marker.kwargs.get(name) for name in ("fixtures", "seed", "clock", "speed")}
        )
        options = replace(
            options,
            **{name: getattr(chosen, name) for name in ("fixtures", "seed", "clock", "speed") if name in marker.kwargs},
        )
    api = connectors_mock_fakes.get(options).tenant(request.node.nodeid, roots=(config.rootpath,))
    if scenario is not None:
        try:
            api.use_scenario(scenario)
        except (ControlError, FileNotFoundError) as refused:
            pytest.fail(f"connectors-mock: scenario {scenario!r}: {refused}", pytrace=False)
    try:
        yield api
    finally:
        api.forget()
