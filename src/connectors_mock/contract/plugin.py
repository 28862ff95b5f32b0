"""The pytest plugin behind `pytest --pyargs connectors_mock.contract`: its options, the
server under test, the fixtures the tests use, a time budget, and the clean-up at the end.

Registered through the `pytest11` entry point (`entry.py`, which loads it only when the
`contract` extra is installed); it does nothing until a contract test asks for its fixtures.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import tempfile
import time
import tomllib
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import hypothesis
import pytest
import requests
from _pytest.pathlib import fnmatch_ex
from jsonschema import Draft202012Validator

from connectors_mock import resources
from connectors_mock.contract.checks import Check, named_checks
from connectors_mock.contract.client import ApiClient, Sender, clean_up, connectors_of, patient_session
from connectors_mock.contract.ledger import Ledger, Owner, contract_words
from connectors_mock.contract.options import ContractOptions, add_options, read_options
from connectors_mock.contract.safety import Safety
from connectors_mock.contract.target import FAKE_KEYS, Target, in_process_fake
from connectors_mock.spec import read_document

if TYPE_CHECKING:
    from schemathesis.specs.openapi.schemas import OpenApiSchema as BaseSchema

POLICY = Path(__file__).with_name("schemathesis.toml")


@dataclass
class RunReport:
    """What the terminal summary says about a run that used the suite: one process's, or,
    under xdist, every worker's added up (each worker sends its own, `pytest_testnodedown`)."""

    servers: list[str] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    created: int = 0
    deleted: int = 0
    left: list[str] = field(default_factory=list)
    cleaned: bool = False
    discarded: bool = False
    out_of_time: list[str] = field(default_factory=list)

    def add(self, other: RunReport) -> None:
        self.servers += [server for server in other.servers if server not in self.servers]
        self.prefixes += other.prefixes
        self.created += other.created
        self.deleted += other.deleted
        self.left += other.left
        self.cleaned = self.cleaned or other.cleaned
        self.discarded = self.discarded or other.discarded
        self.out_of_time += other.out_of_time


@dataclass
class Causes:
    """Failed contract tests grouped by what failed (a check and its message, or an assertion),
    with the operations and tests each cause was seen in, in the order they were seen."""

    operations: dict[str, list[str]] = field(default_factory=dict)
    tests: dict[str, list[str]] = field(default_factory=dict)

    def add(self, cause: str, operation: str | None, test: str) -> None:
        operations = self.operations.setdefault(cause, [])
        tests = self.tests.setdefault(cause, [])
        if operation is not None and operation not in operations:
            operations.append(operation)
        if test not in tests:
            tests.append(test)


REPORT = pytest.StashKey[RunReport]()
CAUSES = pytest.StashKey[Causes]()
STARTED = pytest.StashKey[float]()
HYPOTHESIS_HOME = pytest.StashKey[Path]()
# How a worker's RunReport travels to the controller under xdist, and how a failed report
# carries its causes (a report's attributes travel with it).
WORKER_OUTPUT = "connectors_mock_contract"
FAILURES = "contract_failures"
CONTRACT_DIR = Path(__file__).parent
# The schema tests whose cases share what is slowest to build (see pytest_xdist_make_scheduler):
# the coverage phases of the two operations whose bodies carry a connector's config.
SHARED_CASES = frozenset(
    f"test_operation_coverage[{label}]" for label in ("POST /v1/connectors", "PUT /v1/connectors/{id}")
)
# The options of the pytest run in this process, for what runs before any fixture exists.
_run_options: ContractOptions | None = None


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    global _run_options  # noqa: PLW0603 (see above)
    _run_options = read_options(config)
    config.stash[REPORT] = RunReport()
    config.stash[CAUSES] = Causes()
    config.stash[STARTED] = time.monotonic()
    config.pluginmanager.register(CauseCollector(config.stash[CAUSES]), "connectors-mock-contract-causes")


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    """With `--pyargs connectors_mock.contract`, pytest finds no such path and loads the
    conftest.py files of the working directory and its `test*` folders instead, so a checkout
    whose tests/conftest.py imports a test-only package fails before the suite starts. Point
    that search at the suite's own folder; what pytest collects is unchanged."""
    namespace = early_config.known_args_namespace
    if getattr(namespace, "pyargs", False):
        namespace.file_or_dir = [contract_path(arg) or arg for arg in namespace.file_or_dir]


def contract_path(arg: str) -> str | None:
    """The file or folder of a `--pyargs` argument naming the suite or one of its modules."""
    name, separator, rest = arg.partition("::")
    if name != __package__ and not name.startswith(f"{__package__}."):
        return None
    try:
        spec = importlib.util.find_spec(name)
    except ImportError:
        return None
    if spec is None or spec.origin is None:
        return None
    origin = Path(spec.origin)
    path = origin.parent if origin.name == "__init__.py" else origin
    return f"{path}{separator}{rest}"


class ContractModule(pytest.Module):
    """A module of the suite, whose tests are named `test_*` whatever the run's
    `python_functions` and `python_classes` say."""

    def funcnamefilter(self, name: str) -> bool:
        return name.startswith("test")

    def classnamefilter(self, name: str) -> bool:
        return name.startswith("Test")


def is_contract_file(path: Path) -> bool:
    return path.parent == CONTRACT_DIR and path.name.startswith("test_") and path.suffix == ".py"


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    if is_contract_file(module_path):
        return ContractModule.from_parent(parent, path=module_path)
    return None


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    """The suite's modules, also when the run's `python_files` would not name them (pytest's
    own hook makes a module only of a file it names, or one given on the command line)."""
    if not is_contract_file(file_path) or parent.session.isinitpath(file_path):
        return None
    if any(fnmatch_ex(pattern, file_path) for pattern in parent.config.getini("python_files")):
        return None
    return ContractModule.from_parent(parent, path=file_path)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    # The suite alone runs its longest tests first (the stateful phase, then each operation's),
    # so that under xdist, which hands tests out in this order, the processes end together on
    # short property tests rather than one waiting for another's stateful phase.
    if runs_the_suite_alone(items):
        items.sort(key=running_order)
    # `--junitxml` gives each schema test the operation it judged as a property too.
    for item in items:
        operation = getattr(item, "callspec", None) and item.callspec.params.get("operation")  # type: ignore[attr-defined]
        if is_contract_test(item) and isinstance(operation, str):
            item.user_properties.append(("operation", operation))


def pytest_collection_finish(session: pytest.Session) -> None:
    # The budget is for testing: collecting does not count (nor building cases: see leave_out_of_budget).
    session.config.stash[STARTED] = time.monotonic()
    # Hypothesis keeps caches under `.hypothesis` in the working directory; a run of the suite
    # alone keeps them in a folder of its own, removed at the end. A run with other tests
    # leaves their home where they expect it.
    suite_alone = runs_the_suite_alone(session.items)
    if suite_alone and not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        home = Path(tempfile.mkdtemp(prefix="connectors-mock-hypothesis-"))
        hypothesis.configuration.set_hypothesis_home_dir(home)
        session.config.stash[HYPOTHESIS_HOME] = home
    # A process that runs the suite alone keeps what it has loaded (the schema, schemathesis's
    # and hypothesis's caches) to the end, and its cases are garbage by reference counting: at
    # CPython's defaults the collector ran some 2,700 times a worker, 1.1 s of its 10 s of CPU,
    # 0.35 s after (benchmarks/verify_speed.py). A run with other tests is left as it is.
    if suite_alone:
        from connectors_mock.server import settle_garbage_collector  # noqa: PLC0415 (uvicorn: for the suite only)

        settle_garbage_collector()


def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    if config.rootpath.resolve() != CONTRACT_DIR.resolve():
        return
    # Run as `verify` runs it (this folder its rootdir): tests are named as they are
    # (`test_schema.py::test_operation[POST /v1/connectors]`), not by a path from the working
    # directory into site-packages.
    setattr(config, "cwd_relative_nodeid", lambda nodeid: nodeid)  # noqa: B010 (a method, replaced)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.startpath = config.rootpath


def pytest_unconfigure(config: pytest.Config) -> None:
    home = config.stash.get(HYPOTHESIS_HOME, None)
    if home is not None:
        hypothesis.configuration.set_hypothesis_home_dir(None)
        shutil.rmtree(home, ignore_errors=True)


def leave_out_of_budget(config: pytest.Config, seconds: float) -> None:
    """Time spent building cases, which the time budget does not count."""
    config.stash[STARTED] += seconds


def run_options() -> ContractOptions:
    if _run_options is None:
        raise RuntimeError("the contract suite runs under pytest: pytest --pyargs connectors_mock.contract")
    return _run_options


def running_order(item: pytest.Item) -> int:
    name = getattr(item, "originalname", item.name)
    return 0 if name == "test_stateful" else 1 if name.startswith("test_operation") else 2


def runs_the_suite_alone(items: list[pytest.Item]) -> bool:
    """Whether this process runs the contract suite and nothing else, so that what the suite
    changes for itself (test order, hypothesis's home, the garbage collector) touches no one's."""
    return bool(items) and all(is_contract_test(item) for item in items)


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
        pytestconfig.stash[REPORT].servers.append(target.base_url)
        yield target
        return
    # Keys given (or in the environment) are the fake's keys too, so they work against it.
    keys = (options.api_key or FAKE_KEYS[0], options.api_key_b or FAKE_KEYS[1])
    with in_process_fake(keys) as url:
        target = Target(url, keys[0], keys[1], in_process=True)
        pytestconfig.stash[REPORT].servers.append(f"{url} (the fake, in-process)")
        yield target


@pytest.fixture(scope="session")
def contract_session(contract_options: ContractOptions, contract_target: Target) -> Iterator[requests.Session]:
    with patient_session(max_wait=contract_options.job_timeout) as session:
        # The fake in this process needs no proxy, netrc or CA bundle from the environment, and
        # looking them up again for every request was a third of what a request cost the suite.
        session.trust_env = not contract_target.in_process
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
    # A ledger per process: under xdist each worker has its own prefix, and deletes only what
    # carries it, so workers sharing a server never delete each other's connectors.
    ledger = Ledger(vocabulary=contract_words(contract_document()))
    report = pytestconfig.stash[REPORT]
    report.prefixes.append(ledger.prefix)
    keys = [key for key in (contract_target.api_key, contract_target.api_key_b) if key]
    try:
        with interrupted_by_sigterm():
            yield ledger
    finally:
        report.created += len(ledger.created)
        if contract_target.in_process:
            # The fake ends with this process, and what was created in it: nothing to delete.
            report.discarded = True
        else:
            cleaned = clean_up(ledger, contract_target.base_url, contract_session, keys)
            report.deleted += cleaned.deleted
            report.left += cleaned.left
            report.cleaned = True


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


@pytest.fixture(scope="session")
def contract_schema(contract_options: ContractOptions) -> BaseSchema:
    return configured_schema(contract_options.seed, contract_options.max_examples)


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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report: pytest.TestReport = yield
    if report.failed and call.excinfo is not None and is_contract_test(item):
        failures = [[cause, operation] for cause, operation in causes_of(call.excinfo.value)]
        setattr(report, FAILURES, failures)
        for cause, operation in failures:
            item.user_properties.append(("failure", f"{cause} ({operation})" if operation else cause))
    return report


def causes_of(error: BaseException) -> Iterator[tuple[str, str | None]]:
    """What failed, once per cause, each with the operation it hit when a check says so."""
    from schemathesis.core.failures import Failure  # noqa: PLC0415

    if isinstance(error, BaseExceptionGroup):
        seen: set[tuple[str, str | None]] = set()
        for inner in error.exceptions:
            for cause in causes_of(inner):
                if cause not in seen:
                    seen.add(cause)
                    yield cause
    elif isinstance(error, Failure):
        message = first_line(error.message)
        yield (f"{error.title}: {message}" if message else error.title), error.operation
    elif isinstance(error, AssertionError | pytest.fail.Exception):
        yield first_line(str(error)) or type(error).__name__, None
    else:
        yield f"{type(error).__name__}: {first_line(str(error))}", None


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


class CauseCollector:
    """Adds each failed contract test's causes to the run's, from the report: in one process,
    and on the xdist controller, where every worker's reports arrive."""

    def __init__(self, causes: Causes) -> None:
        self.causes = causes

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for cause, operation in getattr(report, FAILURES, None) or ():
            self.causes.add(cause, operation, report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # An xdist worker: the controller prints the summary, of every worker's report.
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[WORKER_OUTPUT] = asdict(session.config.stash[REPORT])


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    sent = getattr(node, "workeroutput", {}).get(WORKER_OUTPUT)
    if sent is not None:
        node.config.stash[REPORT].add(RunReport(**sent))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under `--dist loadscope` (as `verify --workers N` runs), each contract test is a unit of
    its own but for the coverage phases of the operations whose bodies carry a connector's
    config: they share the slowest cases to build (arrays of up to 500 distinct items, about
    5 s), which a process builds once, so they go to one worker, and first (loadscope starts
    with its largest scope), while the other workers take every other test. Tests that are not
    the suite's keep loadscope's scopes."""
    if config.getoption("dist", None) != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]  # noqa: PLC0415

    rootpath = config.rootpath

    class ContractScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            path, _, name = nodeid.partition("::")
            if not is_contract_file(Path(os.path.normpath(rootpath / path))):
                scope: str = super()._split_scope(nodeid)
                return scope
            if name in SHARED_CASES:
                return "connectors_mock.contract: operations with connector configs"
            return nodeid

    return ContractScheduling(config, log)


@dataclass
class Crash:
    message: str


@dataclass
class Summarized:
    """A failed test's long report, whose line in the short summary is what failed: its causes,
    not the first line of schemathesis's report (or, on CI, where pytest does not shorten it,
    the whole report again)."""

    original: Any
    reprcrash: Crash

    def toterminal(self, tw: Any) -> None:
        if hasattr(self.original, "toterminal"):
            self.original.toterminal(tw)
        else:
            tw.line(str(self.original))

    def __str__(self) -> str:
        return str(self.original)


def summarize_reports(terminalreporter: Any) -> None:
    for report in terminalreporter.stats.get("failed", []):
        failures = getattr(report, FAILURES, None)
        if failures and not isinstance(report.longrepr, Summarized):
            said = [
                cause if not operation or operation in report.nodeid else f"{cause} ({operation})"
                for cause, operation in failures
            ]
            report.longrepr = Summarized(report.longrepr, Crash("; ".join(dict.fromkeys(said))))


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    # Runs before pytest's short summary, and after the failures' long reports.
    summarize_reports(terminalreporter)
    causes = config.stash.get(CAUSES, None)
    if causes is not None and causes.tests:
        summarize_causes(terminalreporter, causes)
    report = config.stash.get(REPORT, None)
    if report is None or (not report.servers and not report.out_of_time):
        return
    options = run_options()
    terminalreporter.write_sep("=", "connectors-mock contract suite")
    if len(report.servers) == 1:
        terminalreporter.write_line(f"server: {report.servers[0]}")
    elif report.servers:
        terminalreporter.write_line(f"servers, one per xdist worker: {', '.join(report.servers)}")
    terminalreporter.write_line(
        f"seed {options.seed}, {options.max_examples} examples per operation, job timeout {options.job_timeout:g} s; "
        f"repeat with --contract-seed {options.seed} --max-examples {options.max_examples}"
    )
    named = f"created {report.created} connectors named {', '.join(prefix + '*' for prefix in report.prefixes)}"
    if report.discarded:
        terminalreporter.write_line(f"{named}; they ended with the fake")
    if report.cleaned:
        terminalreporter.write_line(f"{named}; {report.deleted} still there at the end were deleted")
        if report.left:
            terminalreporter.write_line(f"could NOT delete: {', '.join(report.left)}", red=True)
    if report.out_of_time:
        terminalreporter.write_line(
            f"time budget ({options.time_budget:g} s) spent: {len(report.out_of_time)} tests skipped", yellow=True
        )


def summarize_causes(terminalreporter: Any, causes: Causes) -> None:
    """Each cause once, with the operations it hit (or, for a property a test asserts, the
    tests it failed), so one defect seen by nine tests reads as one line, not nine."""
    terminalreporter.section("contract failures by cause", red=True)
    for cause, tests in causes.tests.items():
        operations = causes.operations[cause]
        where = operations or [test.rpartition("::")[2] for test in tests]
        kind = "operation" if operations else "test"
        terminalreporter.write_line(cause, red=True)
        plural = "s" if len(where) != 1 else ""
        seen_in = f", in {len(tests)} tests" if operations and len(tests) > 1 else ""
        for line in lines_of(f"{len(where)} {kind}{plural}{seen_in}:", where, terminalreporter._tw.fullwidth - 1):
            terminalreporter.write_line(line)


def lines_of(head: str, names: list[str], width: int) -> list[str]:
    """`head` and the names, indented, as many on a line as fit, none cut at its space."""
    lines = [f"    {head}"]
    for name in names:
        if len(lines) > 1 or lines[-1] != f"    {head}":
            lines[-1] += ","
        if len(lines[-1]) + 1 + len(name) > width:
            lines.append("       ")
        lines[-1] += " " + name
    return lines
