"""`connectors-mock serve` runs the fake under uvicorn; `check-scenario` checks scenario files;
`verify` runs the contract suite against a server; `proxy` judges a server's traffic."""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from connectors_mock import __version__, resources, server
from connectors_mock.app import Settings, build_app, startup_clock, startup_seed
from connectors_mock.clock import CLOCK_MODES, MAX_SPEED
from connectors_mock.contract.options import (
    DEFAULT_JOB_TIMEOUT,
    DEFAULT_MAX_EXAMPLES,
    DEFAULT_SEED,
    DEFAULT_TIME_BUDGET,
    positive_integer,
    seconds,
)
from connectors_mock.fixtures import FixtureError
from connectors_mock.install import install_command
from connectors_mock.logs import LOG_FORMATS, log_request
from connectors_mock.persistence import StateFileError
from connectors_mock.scenarios.loader import ScenarioError, load_file, load_files
from connectors_mock.scenarios.model import RateLimit
from connectors_mock.scenarios.rate_limit import DEFAULT_PLAN
from connectors_mock.spec import SpecMismatch, default_spec
from connectors_mock.tenancy import DEFAULT_MAX_TENANTS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="connectors-mock", description="A stateful fake of the Connectors API.")
    parser.add_argument("--version", action="version", version=f"connectors-mock {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the fake", description="Run the fake on HOST:PORT.")
    _add_address_options(serve)
    serve.add_argument(
        "--public-url",
        type=_public_url,
        help="where browsers reach the fake, such as http://localhost:8080 behind Docker; OAuth URLs "
        "point there (default: the address each request was sent to)",
    )
    serve.add_argument("--fixtures", type=Path, help="fixture file to load instead of the built-in one")
    serve.add_argument(
        "--seed",
        type=int,
        help="make ids, generated data and timestamps repeat across runs (the clock starts at "
        "2025-01-01T00:00:00Z, and is manual unless --clock real)",
    )
    serve.add_argument(
        "--clock",
        choices=CLOCK_MODES,
        help="real: time runs at wall time times --speed; manual: time moves only by POST "
        "/_mock/clock/advance (default: manual with --seed, else real)",
    )
    serve.add_argument("--speed", type=_speed, help="how fast a real clock runs: 10 = ten times wall time (default: 1)")
    serve.add_argument(
        "--api-key",
        action="append",
        type=_token,
        dest="api_keys",
        metavar="KEY",
        help="accept only this bearer key (repeatable); without it any non-empty key works",
    )
    serve.add_argument(
        "--scenario",
        action="append",
        dest="scenarios",
        type=_scenario_path,
        default=[],
        metavar="FILE",
        help="load this scenario file and apply it to every request (repeatable; later files win where they "
        f"overlap); a bare name is a built-in example: {', '.join(resources.example_scenarios())}",
    )
    serve.add_argument(
        "--admin-token",
        type=_token,
        metavar="TOKEN",
        help="require this token in the X-Mock-Admin-Token header for the /_mock control API",
    )
    serve.add_argument(
        "--access-log",
        action="store_true",
        help="log every request: client address, method, path (without its query) and status",
    )
    serve.add_argument(
        "--max-tenants",
        type=positive_integer,
        default=DEFAULT_MAX_TENANTS,
        metavar="N",
        help="remember at most N tenants (keys, and teams under them); past that, the least recently seen is "
        "forgotten and journaled (default: %(default)s)",
    )
    serve.add_argument(
        "--rate-limit",
        type=_rate_limit,
        default=DEFAULT_PLAN,
        metavar="N/SECONDS",
        help="the plan every API response reports in X-RateLimit-*: N requests per SECONDS per key and team, "
        "counted for real but not enforced unless --enforce-rate-limit; 'off' reports none (default: 3000/60, "
        "the vendor's largest plan)",
    )
    serve.add_argument(
        "--enforce-rate-limit",
        action="store_true",
        help="answer 429 rate_limit_exceeded, with Retry-After, past the --rate-limit plan",
    )
    serve.add_argument(
        "--cors-origin",
        action="append",
        type=_origin,
        dest="cors_origins",
        default=[],
        metavar="ORIGIN",
        help="let pages on ORIGIN (such as http://localhost:3000) read /_mock and change the fake's state "
        "(repeatable); the API itself is open to every origin",
    )
    serve.add_argument(
        "--api-key-file",
        type=Path,
        metavar="FILE",
        help="accept the keys in FILE too, one a line (blank lines and # comments skipped), so keys stay out of "
        "ps and shell history",
    )
    serve.add_argument(
        "--admin-token-file", type=Path, metavar="FILE", help="--admin-token, read from the first line of FILE"
    )
    serve.add_argument(
        "--state-file",
        type=Path,
        metavar="FILE",
        help="keep the state in FILE: loaded at start if it exists, written (whole, atomically) within a second "
        "of a change and at shutdown",
    )
    serve.add_argument(
        "--watch",
        action="store_true",
        help="reload the --fixtures and --scenario files when they change on disk; a broken edit keeps the last "
        "good version running",
    )
    serve.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default="text",
        help="text, for a person, or json: one JSON object per line, for log tooling (default: %(default)s)",
    )
    _from_environment(serve)
    check = commands.add_parser(
        "check-scenario",
        help="check scenario files",
        description="Check scenario files against the scenario schema and the contract; print every problem "
        "with its file, line and path, and exit 1 if there is any.",
    )
    check.add_argument("files", nargs="+", type=_scenario_path, metavar="FILE")
    verify = commands.add_parser(
        "verify",
        help="run the contract suite against a server",
        description="Run the contract suite (pytest --pyargs connectors_mock.contract) against URL, or against "
        "the fake in-process without one. Arguments after -- go to pytest (-- -x -k sync). Exits as "
        "pytest does: 0 when the server keeps the contract.",
    )
    verify.add_argument("url", nargs="?", help="the server's base URL, such as https://staging.example.com")
    _proxy_parser(commands)
    for option, kind, text in (
        ("--api-key", _token, "the key to act with; required with a URL (default: $CONNECTORS_API_KEY)"),
        ("--api-key-b", _token, "a key of another team, to check tenant isolation (default: $CONNECTORS_API_KEY_B)"),
        (
            "--collection",
            str,
            "an existing collection to create connectors in (default: $CONNECTORS_COLLECTION, else the "
            "collection of a connector the key can list)",
        ),
        ("--max-examples", positive_integer, f"generated requests per operation (default: {DEFAULT_MAX_EXAMPLES})"),
        ("--contract-seed", int, f"the seed; the same seed repeats a run (default: {DEFAULT_SEED})"),
        (
            "--time-budget",
            seconds,
            f"seconds of testing after which the remaining tests are skipped (default: {DEFAULT_TIME_BUDGET:g})",
        ),
        ("--job-timeout", seconds, f"seconds a sync job may take to finish (default: {DEFAULT_JOB_TIMEOUT:g})"),
    ):
        verify.add_argument(option, type=kind, help=text)
    verify.add_argument(
        "--workers",
        type=positive_integer,
        metavar="N",
        help="spread the tests over N processes (pytest-xdist); each judges the server with its own connectors, "
        f"and without a URL starts its own fake (default: 1 with a URL; without, {DEFAULT_FAKE_WORKERS} if the "
        "machine has that many CPUs)",
    )
    return parser


def _add_address_options(parser: argparse.ArgumentParser) -> None:
    """Where `serve` or `proxy` listens (`_listening_socket` binds it)."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    parser.add_argument(
        "--port", type=_port, default=8080, help="port to bind; 0 picks a free one (default: %(default)s)"
    )


def _proxy_parser(commands: Any) -> None:
    proxy = commands.add_parser(
        "proxy",
        help="forward to a server and judge every exchange against the contract",
        description="Forward every request to --upstream unchanged and its answer back, judging each exchange "
        "against openapi.yaml: violations are logged, listed at GET /_mock/violations and summed up at "
        "shutdown.",
    )
    proxy.add_argument(
        "--upstream", required=True, type=_public_url, metavar="URL", help="the server to forward to (http or https)"
    )
    _add_address_options(proxy)
    proxy.add_argument(
        "--public-url",
        type=_public_url,
        help="where clients reach the proxy (behind Docker, a tunnel), printed at start (default: the bound address)",
    )
    proxy.add_argument(
        "--insecure", action="store_true", help="do not verify the upstream's TLS certificate (verified by default)"
    )
    proxy.add_argument(
        "--timeout",
        type=seconds,
        default=30.0,
        metavar="SECONDS",
        help="seconds to wait for the upstream's answer (and between its chunks); past it the client gets 504 "
        "(default: %(default)g; connecting: 10)",
    )
    proxy.add_argument(
        "--record",
        type=Path,
        metavar="FILE",
        help="at shutdown, write the connectors the upstream showed as a fixtures file for serve --fixtures "
        "(no credentials, ids kept)",
    )
    proxy.add_argument(
        "--fail-on-violation",
        action="store_true",
        help="exit with status 1 at shutdown if any contract violation was seen (any side)",
    )
    proxy.add_argument(
        "--job-timeout",
        type=seconds,
        default=600.0,
        metavar="SECONDS",
        help="a sync job still queued or running this long after it was started is a violation (default: %(default)g)",
    )
    proxy.add_argument(
        "--max-violations",
        type=positive_integer,
        default=1000,
        metavar="N",
        help="keep (and log) the first N violations; the rest are counted (default: %(default)s)",
    )
    proxy.add_argument(
        "--max-resources",
        type=positive_integer,
        default=10_000,
        metavar="N",
        help="remember at most N connectors, jobs and credentials for the invariants and --record; the least "
        "recently seen are forgotten (default: %(default)s)",
    )
    proxy.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default="text",
        help="text, for a person, or json: one JSON object per line (default: %(default)s)",
    )
    _from_environment(proxy)


ENVIRONMENT_PREFIX = "CONNECTORS_MOCK_"
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


class _AppendOverEnvironment(argparse._AppendAction):
    """`append`, whose first use on the command line replaces the environment's list rather
    than adding to it: a flag wins over the environment."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        if getattr(namespace, self.dest, None) is self.default:
            setattr(namespace, self.dest, [])
        super().__call__(parser, namespace, values, option_string)


@dataclass(frozen=True)
class _EnvironmentProblem:
    """A variable's value that does not parse, kept as its option's default: `parse` says so
    only when the command that has the option runs without the option on its command line
    (`serve` and `proxy` share names such as CONNECTORS_MOCK_PORT, and neither may stop the other,
    or `verify`, or `--help`)."""

    parser: argparse.ArgumentParser
    message: str

    def __str__(self) -> str:
        return self.message


def environment_variable(action: argparse.Action) -> str:
    """`--api-key` (dest `api_keys`) is CONNECTORS_MOCK_API_KEYS; `--port` is CONNECTORS_MOCK_PORT."""
    return ENVIRONMENT_PREFIX + action.dest.upper()


def _from_environment(parser: argparse.ArgumentParser) -> None:
    """Every option of `parser` may come from its environment variable instead: the command
    line wins, then the environment, then the default. `--help` names each variable."""
    for action in parser._actions:
        if not action.option_strings or action.dest == "help":
            continue
        variable = environment_variable(action)
        action.help = f"{action.help} [env: {variable}]"
        if isinstance(action, argparse._AppendAction):
            action.__class__ = _AppendOverEnvironment
        text = os.environ.get(variable)
        if text is None:
            continue
        try:
            action.default = _environment_value(action, text)
        except (argparse.ArgumentTypeError, ValueError) as problem:
            action.default = _EnvironmentProblem(parser, f"{variable}={text!r}: {problem}")
        # A required option (proxy's --upstream) the environment gives need not be on the command line.
        action.required = False


def _environment_value(action: argparse.Action, text: str) -> Any:
    if isinstance(action, argparse._StoreTrueAction):
        if text.strip().lower() not in TRUE + FALSE:
            raise ValueError(f"say {', '.join(TRUE)} or {', '.join(name for name in FALSE if name)}")
        return text.strip().lower() in TRUE
    convert = action.type if callable(action.type) else str
    if isinstance(action, argparse._AppendAction):
        # Several values, as the option repeated: comma-separated.
        return [_checked(action, convert(part.strip())) for part in text.split(",") if part.strip()]
    return _checked(action, convert(text))


def _checked(action: argparse.Action, value: Any) -> Any:
    if action.choices is not None and value not in action.choices:
        raise ValueError(f"{value!r} is not one of {', '.join(map(str, action.choices))}")
    return value


def _lines_of(path: Path, what: str) -> list[str]:
    """A secrets file's lines, without blanks and # comments; each must be a key or token."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CannotStart(f"cannot read the {what} file {path}: {error}") from None
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    for number, line in enumerate(lines, 1):
        try:
            _token(line)
        except argparse.ArgumentTypeError:
            # Not quoted back: it is a secret.
            raise CannotStart(
                f"{path}: entry {number} cannot be sent in a header (printable ASCII, no spaces)"
            ) from None
    return lines


def _token(text: str) -> str:
    """A key or token a client can send in a header: not empty, no spaces at either end, ASCII."""
    if not text or text != text.strip() or not text.isascii() or not text.isprintable():
        raise argparse.ArgumentTypeError(
            f"{text!r} cannot be sent in a header: use printable ASCII, not empty, with no space at either end"
        )
    return text


def _scenario_path(text: str) -> Path:
    """A file, or the name of an example shipped in the package (`outage`), so the examples
    work from an installed wheel, where there is no `scenarios/` folder to point at."""
    path = Path(text)
    examples = resources.example_scenarios()
    if not path.exists() and path.name == text and text in examples:
        return examples[text]
    return path


def _public_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise argparse.ArgumentTypeError(f"{text!r} is not an http(s) URL such as http://localhost:8080")
    return text.rstrip("/")


def _rate_limit(text: str) -> RateLimit | None:
    if text == "off":
        return None
    limit, _, window = text.partition("/")
    if not (limit.isdigit() and window.isdigit() and 0 < int(limit) <= 10**9 and 0 < int(window) <= 86_400):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a plan such as 3000/60 (requests, then seconds up to a day) or 'off'"
        )
    return RateLimit(int(limit), float(window), enforced=False)


def _origin(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/") or parts.query:
        raise argparse.ArgumentTypeError(f"{text!r} is not an origin such as http://localhost:3000")
    return f"{parts.scheme}://{parts.netloc}"


def _speed(text: str) -> float:
    try:
        speed = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < speed <= MAX_SPEED:
        raise argparse.ArgumentTypeError(f"{speed} is not a speed (above 0, at most {MAX_SPEED})")
    return speed


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0-65535)") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port (0-65535)")
    return port


class CannotStart(Exception):
    """Why `serve` stops before it serves; printed after `connectors-mock: `."""


def serve(args: argparse.Namespace) -> int:
    try:
        app = build_app(_settings(args))
    except (FixtureError, SpecMismatch, StateFileError) as exc:
        print(f"connectors-mock: cannot start: {exc}", file=sys.stderr)
        return 2
    except CannotStart as refused:
        print(f"connectors-mock: {refused}", file=sys.stderr)
        return 2
    sock = _listening_socket(args)
    if sock is None:
        return 2
    config = server.config(app, access_log=args.access_log, log_format=args.log_format)
    if args.access_log:
        # Only the request lines: uvicorn's own start-up chatter stays at warning.
        logging.getLogger("uvicorn.access").setLevel(logging.INFO)
        if args.log_format == "json":
            app.state.journal.listeners.append(log_request)
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal to whatever
    # handler was there before; this one turns a requested stop into exit status 0, so
    # `kill $pid; wait $pid` under `set -e` does not fail a CI script.
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, _exit_cleanly)
    served = server.Server(config)
    served.log_format = args.log_format
    server.settle_garbage_collector()
    served.run(sockets=[sock])
    return 0


def _listening_socket(args: argparse.Namespace) -> socket.socket | None:
    """The socket `serve` or `proxy` listens on, bound before anything is announced; None
    (and why, on stderr) when the address cannot be had."""
    try:
        return server.bind(args.host, args.port)
    except OSError as exc:
        print(f"connectors-mock: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return None


def proxy(args: argparse.Namespace) -> int:
    """Run the proxy until stopped; then the summary, the recording, and the exit status."""
    from connectors_mock.proxy.app import ProxyApp, ProxySettings, shown_url  # noqa: PLC0415 - needs httpx
    from connectors_mock.proxy.judge import Judge  # noqa: PLC0415
    from connectors_mock.proxy.recorder import Recorder  # noqa: PLC0415
    from connectors_mock.proxy.violations import Violations  # noqa: PLC0415

    judge = Judge(
        default_spec(),
        violations=Violations(args.max_violations),
        max_resources=args.max_resources,
        job_timeout=args.job_timeout,
    )
    recorder = Recorder(args.record, judge.ledger, args.max_resources) if args.record else None
    settings = ProxySettings(args.upstream, verify=not args.insecure, timeout=args.timeout)
    try:
        app = ProxyApp(settings, judge, recorder)
    except SpecMismatch as exc:
        print(f"connectors-mock: cannot start: {exc}", file=sys.stderr)
        return 2
    sock = _listening_socket(args)
    if sock is None:
        return 2
    print(f"connectors-mock proxy: forwarding to {shown_url(args.upstream)}", flush=True)
    if args.public_url:
        print(f"connectors-mock proxy: clients reach it at {args.public_url}", flush=True)
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, _exit_cleanly)
    served = server.Server(server.config(app, log_format=args.log_format))
    served.log_format = args.log_format
    server.settle_garbage_collector()
    with contextlib.suppress(SystemExit):  # a requested stop: the summary follows
        served.run(sockets=[sock])
    print(judge.violations.summary(), file=sys.stderr, flush=True)
    if recorder is not None:
        written = recorder.write()
        if written is None:
            print(f"connectors-mock proxy: no connector was seen; {args.record} not written", file=sys.stderr)
        else:
            print(f"connectors-mock proxy: recorded {written} connectors in {args.record}", file=sys.stderr)
    return 1 if args.fail_on_violation and judge.violations.total else 0


def _settings(args: argparse.Namespace) -> Settings:
    """The app's settings from `serve`'s options, or `CannotStart` saying what is wrong."""
    try:
        scenarios = tuple(load_files(args.scenarios, default_spec()))
    except ScenarioError as error:
        raise CannotStart(f"cannot start: invalid scenario\n{error}") from None
    if args.enforce_rate_limit and args.rate_limit is None:
        raise CannotStart("--enforce-rate-limit needs a plan to enforce (--rate-limit N/SECONDS)")
    seed = startup_seed(args.seed, scenarios)
    clock = startup_clock(seed, args.clock, args.speed, scenarios)
    if args.speed is not None and clock.mode == "manual":
        raise CannotStart(
            "--speed sets how fast a real clock runs; a manual clock moves only when advanced (add --clock real)"
        )
    if args.admin_token and args.admin_token_file:
        raise CannotStart("give --admin-token or --admin-token-file, not both")
    api_keys = [*(args.api_keys or ()), *(_lines_of(args.api_key_file, "API key") if args.api_key_file else ())]
    admin_token = args.admin_token
    if args.admin_token_file:
        admin_token = next(iter(_lines_of(args.admin_token_file, "admin token")), None)
        if admin_token is None:
            raise CannotStart(f"{args.admin_token_file} holds no admin token")
    return Settings(
        fixtures=args.fixtures,
        seed=seed,
        api_keys=frozenset(api_keys) if api_keys else None,
        clock=clock,
        public_url=args.public_url,
        scenarios=scenarios,
        admin_token=admin_token,
        max_tenants=args.max_tenants,
        cors_origins=tuple(args.cors_origins),
        rate_limit=replace(args.rate_limit, enforced=args.enforce_rate_limit) if args.rate_limit else None,
        state_file=args.state_file,
        watch=args.watch,
    )


def check_scenario(args: argparse.Namespace) -> int:
    spec = default_spec()
    count = 0
    for path in args.files:
        try:
            scenario = load_file(path, spec)
        except ScenarioError as error:
            print(error)
            count += len(error.problems)
        else:
            print(f"{scenario.source}: OK ({scenario.name})")
    if count:
        print(f"{count} problem{'s' if count != 1 else ''} found", file=sys.stderr)
        return 1
    return 0


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


# The contract extra's packages (`pytest11` entry points, as `-p` loads them); verify loads
# these and no other plugin, so the plugins of the environment cannot change the run.
CONTRACT_PACKAGES = ("pytest", "hypothesis", "schemathesis", "requests", "pytest_base_url", "xdist")
# Without a URL each worker judges a fake of its own, so two share the work and no server: the
# suite's slowest test (POST and PUT /v1/connectors, about 10 s) bounds a third. A real server
# gets one client unless told otherwise: more would change the load it sees.
DEFAULT_FAKE_WORKERS = 2
CONTRACT_PLUGINS = (
    "_hypothesis_pytestplugin",
    "schemathesis.pytest.plugin",
    "pytest_base_url.plugin",
    "xdist.plugin",
    "connectors_mock.contract.plugin",
)


def verify(args: argparse.Namespace, pytest_args: list[str]) -> int:
    missing = [name for name in CONTRACT_PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        print(
            f"connectors-mock verify needs the contract extra ({', '.join(missing)} missing): "
            f"{install_command('contract')}",
            file=sys.stderr,
        )
        return 2
    if args.url and not (args.api_key or os.environ.get("CONNECTORS_API_KEY")):
        print("connectors-mock verify URL needs --api-key KEY (or $CONNECTORS_API_KEY)", file=sys.stderr)
        return 4
    # Keys go by the environment, not the command line, which `ps` shows to everyone.
    environment = dict(os.environ)
    for option, variable in (("api_key", "CONNECTORS_API_KEY"), ("api_key_b", "CONNECTORS_API_KEY_B")):
        if getattr(args, option) is not None:
            environment[variable] = getattr(args, option)
    # Only the plugins verify names (pytest marks every autoloaded plugin's whole package for
    # assertion rewriting, hypothesis and schemathesis included, which slows both down a third).
    environment["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    # Hypothesis keeps its caches in a folder of its own, removed at the end; so does pytest its
    # temporary folders (xdist makes one per worker under /tmp/pytest-of-USER, kept for later).
    with tempfile.TemporaryDirectory(prefix="connectors-mock-verify-") as home:
        environment.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", home)
        basetemp = ["--basetemp", os.path.join(home, "pytest")]
        # A process of its own: pytest must import the suite itself to rewrite its asserts.
        command = [sys.executable, "-m", "pytest", *verify_arguments(args), *basetemp, *pytest_args]
        return _run_to_the_end(command, environment)


def verify_arguments(args: argparse.Namespace) -> list[str]:
    """pytest's arguments for `verify`: the suite's own configuration (`verify.ini`, and its
    folder as rootdir) and no conftest.py, so that nothing of the directory it runs in applies;
    no cache, as that folder may be a read-only site-packages."""
    from connectors_mock import contract  # noqa: PLC0415 (imports nothing of pytest)

    suite = Path(contract.__file__).parent
    argv = ["-c", str(suite / "verify.ini"), "--rootdir", str(suite), "--noconftest", "-p", "no:cacheprovider"]
    for plugin in CONTRACT_PLUGINS:
        argv += ["-p", plugin]
    argv += ["--pyargs", "connectors_mock.contract"]
    if args.url:
        argv += ["--base-url", args.url]
    for option in ("collection", "max_examples", "contract_seed", "time_budget", "job_timeout"):
        value = getattr(args, option)
        if value is not None:
            argv += ["--" + option.replace("_", "-"), str(value)]
    workers = args.workers or (1 if args.url else min(DEFAULT_FAKE_WORKERS, _cpus()))
    if workers > 1:
        # The suite's own grouping of tests over workers (plugin.pytest_xdist_make_scheduler).
        argv += ["-n", str(workers), "--dist", "loadscope"]
    return argv


def _cpus() -> int:
    """The CPUs this process may run on (fewer than the machine's in a container with a quota set)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _run_to_the_end(command: list[str], environment: dict[str, str]) -> int:
    """Run pytest and wait for it, also when verify is told to stop: a SIGTERM (a cancelled CI
    job) is passed on, so the suite deletes what it created, and then verify removes its
    temporary folder; Ctrl-C reaches both processes by itself."""
    process = subprocess.Popen(command, env=environment)

    def pass_on(signum: int, frame: FrameType | None) -> None:
        process.send_signal(signum)

    previous = signal.signal(signal.SIGTERM, pass_on)
    try:
        while True:
            try:
                return process.wait()
            except KeyboardInterrupt:
                continue
    finally:
        signal.signal(signal.SIGTERM, previous)


def parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    """The command line, then the environment of the command it runs: a variable of that command
    that does not parse, and that the command line did not override, stops it with exit status 2."""
    args = parser.parse_args(argv)
    for value in vars(args).values():
        if isinstance(value, _EnvironmentProblem):
            value.parser.error(value.message)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    # `verify ... -- -x -k sync`: what follows `--` is pytest's.
    pytest_args = argv[argv.index("--") + 1 :] if "--" in argv else []
    args = parse(parser, argv[: len(argv) - len(pytest_args) - (1 if "--" in argv else 0)])
    if args.command == "verify":
        return verify(args, pytest_args)
    if pytest_args:
        parser.error("arguments after -- are only for verify")
    if args.command == "serve":
        return serve(args)
    if args.command == "proxy":
        return proxy(args)
    return check_scenario(args)
