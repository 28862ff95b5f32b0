"""The pytest plugin behind `pytest --pyargs connectors_mock.contract`: its options, the
server under test, the fixtures the tests use, a time budget, and the clean-up at the end.

Registered through the `pytest11` entry point (`entry.py`, which loads it only when the
`contract` extra is installed); it does nothing until a contract test asks for its fixtures.
"""

from __future__ import annotations

import signal
import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import hypothesis
import pytest
import requests
from jsonschema import Draft202012Validator

from connectors_mock import resources
from connectors_mock.contract.checks import Check, named_checks
from connectors_mock.contract.client import ApiClient, CleanUp, Sender, clean_up, connectors_of, patient_session
from connectors_mock.contract.ledger import Ledger, Owner
from connectors_mock.contract.options import ContractOptions, add_options, read_options
from connectors_mock.contract.safety import Safety
from connectors_mock.contract.target import FAKE_KEYS, Target, in_process_fake
from connectors_mock.spec import read_document

if TYPE_CHECKING:
    from schemathesis.specs.openapi.schemas import OpenApiSchema as BaseSchema

POLICY = Path(__file__).with_name("schemathesis.toml")


@dataclass
class RunReport:
    """What the terminal summary says about a run that used the suite."""

    target: Target | None = None
    prefix: str = ""
    created: int = 0
    cleaned: CleanUp | None = None
    out_of_time: list[str] = field(default_factory=list)


REPORT = pytest.StashKey[RunReport]()
STARTED = pytest.StashKey[float]()
# The options of the pytest run in this process. The schema is built when test_schema.py is
# imported, before any fixture exists, and needs the seed and the number of examples.
_run_options: ContractOptions | None = None


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    global _run_options  # noqa: PLW0603 (see above)
    _run_options = read_options(config)
    config.stash[REPORT] = RunReport()
    config.stash[STARTED] = time.monotonic()


def pytest_collection_finish(session: pytest.Session) -> None:
    # The budget is for testing: building schemathesis's cases at collection does not count.
    session.config.stash[STARTED] = time.monotonic()


def run_options() -> ContractOptions:
    if _run_options is None:
        raise RuntimeError("the contract suite runs under pytest: pytest --pyargs connectors_mock.contract")
    return _run_options


def is_contract_test(item: pytest.Item) -> bool:
    module = getattr(item, "module", None)
    return module is not None and module.__name__.startswith(f"{__package__}.")


def check_budget(config: pytest.Config, what: str) -> None:
    """Skip `what` once the run has used its `--time-budget`."""
    budget: float = config.getoption("time_budget")
    if time.monotonic() - config.stash[STARTED] > budget:
        config.stash[REPORT].out_of_time.append(what)
        pytest.skip(f"the contract suite's time budget ({budget:g} s, --time-budget) is spent")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if is_contract_test(item):
        check_budget(item.config, item.nodeid)


@pytest.fixture(scope="session")
def contract_options(pytestconfig: pytest.Config) -> ContractOptions:
    return run_options()


@pytest.fixture(scope="session")
def contract_target(pytestconfig: pytest.Config, contract_options: ContractOptions) -> Iterator[Target]:
    options = contract_options
    if options.base_url:
        if not options.api_key:
            pytest.exit("the contract suite needs --api-key KEY (or $CONNECTORS_API_KEY) with --base-url", returncode=4)
        target = Target(options.base_url.rstrip("/"), options.api_key, options.api_key_b, in_process=False)
        pytestconfig.stash[REPORT].target = target
        yield target
        return
    # Keys given (or in the environment) are the fake's keys too, so they work against it.
    keys = (options.api_key or FAKE_KEYS[0], options.api_key_b or FAKE_KEYS[1])
    with in_process_fake(keys) as url:
        target = Target(url, keys[0], keys[1], in_process=True)
        pytestconfig.stash[REPORT].target = target
        yield target


@pytest.fixture(scope="session")
def contract_session(contract_options: ContractOptions) -> Iterator[requests.Session]:
    with patient_session(max_wait=contract_options.job_timeout) as session:
        yield session


@contextmanager
def interrupted_by_sigterm() -> Iterator[None]:
    """Turn SIGTERM (a cancelled CI job) into KeyboardInterrupt, so clean-up still runs."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: nothing to install
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.fixture(scope="session")
def contract_ledger(
    pytestconfig: pytest.Config, contract_target: Target, contract_session: requests.Session
) -> Iterator[Ledger]:
    ledger = Ledger()
    report = pytestconfig.stash[REPORT]
    report.prefix = ledger.prefix
    keys = [key for key in (contract_target.api_key, contract_target.api_key_b) if key]
    try:
        with interrupted_by_sigterm():
            yield ledger
    finally:
        report.created = len(ledger.created)
        report.cleaned = clean_up(ledger, contract_target.base_url, contract_session, keys)


@cache
def contract_document() -> dict[str, Any]:
    return read_document(resources.spec_path())


def is_valid(pointer: str) -> Callable[[Any], bool]:
    schemas = contract_document()["components"]["schemas"]
    validator: Callable[[Any], bool] = Draft202012Validator(schemas[pointer]).is_valid
    return validator


@pytest.fixture(scope="session")
def contract_collection(
    contract_options: ContractOptions, contract_target: Target, contract_session: requests.Session
) -> str | None:
    """Where the suite creates connectors: `--collection`, else that of a connector the key
    can already list (read, never changed), else none and creating tests skip."""
    if contract_options.collection:
        return contract_options.collection
    for connector in connectors_of(Owner(contract_target.api_key, None), contract_target.base_url, contract_session):
        if isinstance(connector.get("collection"), str):
            return str(connector["collection"])
    return None


@pytest.fixture(scope="session")
def contract_checks(contract_ledger: Ledger) -> list[Check]:
    schemas = contract_document()["components"]["schemas"]
    return named_checks(contract_ledger, frozenset(schemas["ErrorCode"]["enum"]), schemas["RequestId"]["pattern"])


@cache
def configured_schema(seed: int, max_examples: int) -> BaseSchema:
    """The packaged contract for schemathesis, with the policy in `schemathesis.toml`. The
    base URL and the key are given per request (see `Sender`), so a run can start the fake first."""
    # Imported when used: every pytest run loads this plugin, and most never judge a server.
    import schemathesis  # noqa: PLC0415
    from schemathesis.config import SchemathesisConfig  # noqa: PLC0415

    with POLICY.open("rb") as stream:
        policy = tomllib.load(stream)
    policy["seed"] = seed
    policy.setdefault("generation", {})["max-examples"] = max_examples
    return schemathesis.openapi.from_dict(contract_document(), config=SchemathesisConfig.from_dict(policy))


def run_schema() -> BaseSchema:
    options = run_options()
    return configured_schema(options.seed, options.max_examples)


@pytest.fixture(scope="session")
def contract_schema(contract_options: ContractOptions) -> BaseSchema:
    return run_schema()


@pytest.fixture(scope="session")
def contract_safety(contract_ledger: Ledger, contract_collection: str | None) -> Safety:
    return Safety(
        ledger=contract_ledger,
        collection=contract_collection,
        is_name=is_valid("ConnectorName"),
        is_collection=is_valid("CollectionId"),
        is_connector_id=is_valid("ConnectorId"),
    )


@pytest.fixture(scope="session")
def contract_sender(
    contract_target: Target,
    contract_session: requests.Session,
    contract_checks: list[Check],
    contract_safety: Safety,
) -> Sender:
    return Sender(contract_target.base_url, contract_target.api_key, contract_session, contract_checks, contract_safety)


@pytest.fixture(scope="session")
def contract_api(contract_schema: BaseSchema, contract_target: Target, contract_sender: Sender) -> ApiClient:
    """The server as the first key sees it."""
    return ApiClient(contract_schema, contract_target.api_key, contract_sender)


@pytest.fixture(scope="session")
def contract_api_b(contract_schema: BaseSchema, contract_target: Target, contract_sender: Sender) -> ApiClient:
    """The server as another team's key sees it; the test skips without `--api-key-b`."""
    if not contract_target.api_key_b:
        pytest.skip("give --api-key-b (a key of another team) to check tenant isolation")
    return ApiClient(contract_schema, contract_target.api_key_b, contract_sender)


Properties = Callable[[Callable[..., None]], Callable[..., None]]


@pytest.fixture(scope="session")
def contract_properties(contract_options: ContractOptions) -> Properties:
    """Hypothesis settings for the property tests, from the run's options. Each example makes
    several requests, so a property gets a fifth of an operation's examples (at least 3)."""
    settings = hypothesis.settings(
        max_examples=max(3, contract_options.max_examples // 5),
        # No shrinking: a replay meets a server that has moved on (see schemathesis.toml).
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        deadline=None,
        database=None,
        suppress_health_check=list(hypothesis.HealthCheck),
    )

    def apply(test: Callable[..., None]) -> Callable[..., None]:
        return hypothesis.seed(contract_options.seed)(settings(test))

    return apply


@pytest.fixture(scope="session")
def contract_collection_id(contract_collection: str | None) -> str:
    if contract_collection is None:
        pytest.skip("give --collection (an existing collection) so the suite can create connectors")
    return contract_collection


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    report = config.stash.get(REPORT, None)
    if report is None or (report.target is None and not report.out_of_time):
        return
    options = run_options()
    terminalreporter.section("connectors-mock contract suite")
    if report.target is not None:
        target = report.target
        where = f"{target.base_url} (the fake, in-process)" if target.in_process else target.base_url
        terminalreporter.write_line(f"server: {where}")
    terminalreporter.write_line(
        f"seed {options.seed}, {options.max_examples} examples per operation, job timeout {options.job_timeout:g} s; "
        f"repeat with --contract-seed {options.seed} --max-examples {options.max_examples}"
    )
    if report.cleaned is not None:
        cleaned = report.cleaned
        terminalreporter.write_line(
            f"created {report.created} connectors named {report.prefix}*; "
            f"{cleaned.deleted} still there at the end were deleted"
        )
        if cleaned.left:
            terminalreporter.write_line(f"could NOT delete: {', '.join(cleaned.left)}", red=True)
    if report.out_of_time:
        terminalreporter.write_line(
            f"time budget ({options.time_budget:g} s) spent: {len(report.out_of_time)} tests skipped", yellow=True
        )
