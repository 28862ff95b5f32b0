"""Fuzzing at volume: schemathesis over both OpenAPI documents, and malformed HTTP over a raw socket.

    .venv/bin/python benchmarks/fuzz.py [--examples 500] [--quick] [--seed 1] [--only api,control,raw]
                                        [--timeout 5] [--slow-wait 35] [--connections 200] [--workers 1]
                                        [--case TEXT] [--keep-logs DIR]

Not a test: it takes minutes, so CI never runs it. It prints every finding with what reproduces
it, then a compact table and a summary line, and exits with status 1 if it found anything.

Three stages, each against `connectors-mock serve --port 0 --seed 1` launched here:

- **api**: schemathesis (in this process) over every operation of `openapi.yaml`, positive and
  negative data, `--examples` per operation in each of its phases (examples, coverage, fuzzing,
  stateful), with `Authorization: Bearer fuzz`.
- **control**: the same over the `/_mock` OpenAPI document, as `GET /_mock/openapi.json` serves
  it, on a fake of its own, started with `--admin-token` (sent in `X-Mock-Admin-Token`, so the
  document's security is real and checked). That fake is disposable: its fuzzing resets it,
  imports state, advances the clock by up to a century at a time, and loads and activates
  scenarios (`?example=outage&activate=true` makes its API answer 503 on purpose). Faults never
  apply to `/_mock` itself, so every 5xx seen there is a bug, and the API server of the other
  stages never sees a scenario. Before its final check, its scenarios are unloaded.
- **raw**: a corpus of malformed HTTP/1.1 written by hand (request lines, methods, targets,
  header bytes, framing, bodies, upgrades, pipelining, half-sent and trickled requests), sent
  with a plain socket to the api stage's fake, each on a connection of its own, with a fresh
  API key per case (`raw-CASE`) so no case inherits another's tenant. Each answer is read
  until the expected answers are complete, the server closes, or `--timeout` passes.

What counts as a finding:

- schemathesis: a failed check among not_a_server_error, status_code_conformance,
  content_type_conformance, response_headers_conformance, response_schema_conformance,
  negative_data_rejection, missing_required_header, unsupported_method,
  allow_header_conformance, use_after_free, ensure_resource_availability, ignored_auth (control
  only: the API takes any key by design), positive_data_acceptance (with the refusals the
  contract suite's policy documents for the API, and those /_mock documents), and
  `error_envelope`, defined here: every 4xx/5xx answer but an HTML page is
  `{"error": {"code", "message"}, "meta": {"requestId", "timestamp"}}`. Also any request that
  got no answer (a timeout is a hang).
- raw: a 5xx; an answer that is not the envelope; fewer answers than pipelined requests, or
  more requests served than were sent (smuggling); no answer and no close within `--timeout`
  for a complete request (a hang), or within `--slow-wait` for an unfinished or trickled one
  (the server would keep it open for ever); and the server not answering others afterwards.
  Answers the HTTP parser gives before the app sees a request (uvicorn's plain-text "Invalid
  HTTP request received." 400s, or an answer to an API request that closes the connection and
  that the fake's journal did not record) are listed apart, and are findings when they break a
  rule above.
- any line in the server's log (it logs warnings and errors only): a traceback, an ERROR or a
  WARNING, quoted with the stage or case during which it appeared.
- after everything: the fake not alive, or `GET /v1/connectors` not 200.

A 2xx to a malformed request is noted, not counted: the server may be lenient.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import importlib.metadata
import importlib.resources
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import schemathesis
from schemathesis import Case, CheckContext, Response
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema
from servers import HOST, Server, connect, console_script, run_interruptibly, s3_body, send

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi.yaml"
API_KEY = "fuzz"
ADMIN_TOKEN = "fuzz-admin"  # noqa: S105 (the throwaway fake's admin token, no secret)
HEALTH_KEY = "fuzz-health"
QUICK_EXAMPLES = 20
# How long an unfinished request is held open: past the 30 s servers commonly give a request
# head, a server that still holds it holds it for ever.
SLOW_WAIT = 35.0
# The line `serve` prints at start-up: the only one its log holds when all is well.
LISTENING_LINE = re.compile(r"^connectors-mock listening on ")
# uvicorn's own answer to bytes httptools cannot parse, sent before the app sees anything.
PARSER_BODY = b"Invalid HTTP request received."
SHOWN_BYTES = 240
SHOWN_TEXT = 4000

# Refusals /_mock documents for schema-valid requests, which a schema cannot express: a
# generated scenario breaks the contract or names no operation (422), a generated state
# document is inconsistent (422), a name or state that was never loaded or issued (404),
# a consent page for a state that is stale or answered (400, 404, 409).
CONTROL_REFUSALS = {
    "loadScenario": ["2xx", "400", "401", "404", "409", "422"],
    "importState": ["2xx", "400", "401", "409", "422"],
    "bindScenario": ["2xx", "401", "404", "422"],
    "readScenario": ["2xx", "401", "404"],
    "removeScenario": ["2xx", "401", "404"],
    "consentPage": ["2xx", "3xx", "400", "404", "409"],
    "answerConsent": ["2xx", "3xx", "400", "404", "409"],
    "advanceClock": ["2xx", "401", "422"],
    "oauthCallbackPage": ["2xx", "400", "404", "409"],
}
API_REFUSALS = {"createConnector": ["422"], "authorizeOAuth": ["422"]}
# What refuses a schema-violating request: schemathesis's list, and the limits a server keeps
# on a body (413), a request target (414) and a head (431). Whether a status is documented is
# status_code_conformance's business.
REJECTIONS = ["400", "401", "403", "404", "405", "406", "409", "413", "414", "415", "422", "428", "429", "431", "5xx"]


# --------------------------------------------------------------------------------------------
# Findings


@dataclass
class Finding:
    stage: str  # api, control, raw, parser, log, final
    case: str  # an operation and check, a raw case, a log entry
    sent: str  # a curl command, the bytes sent, or the stage during which a log line appeared
    got: str  # the answer, or what happened instead
    details: list[str] = field(default_factory=list)  # everything else that helps reproduce it
    count: int = 1  # how many times it was seen


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


def shown_bytes(data: bytes, limit: int = SHOWN_BYTES) -> str:
    """Bytes as a Python literal, cut to `limit` characters, with the total size when cut."""
    text = repr(data)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(data):,} bytes)"


def is_json_type(content_type: str) -> bool:
    media = content_type.split(";", maxsplit=1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def has_strings(document: dict[str, Any], name: str, keys: Sequence[str]) -> bool:
    part = document.get(name)
    return isinstance(part, dict) and all(isinstance(part.get(key), str) for key in keys)


def envelope_problem(status: int, content_type: str, body: bytes) -> str | None:
    """Why an answer is not what the fake promises, or None: an error (4xx or 5xx) is the error
    envelope unless it is an HTML page (the OAuth pages answer in HTML); a JSON success is
    `{"data", "meta"}`."""
    if status < 400 and not (body and is_json_type(content_type)):
        return None
    if status >= 400 and content_type.lower().startswith("text/html"):
        return None
    try:
        document = json.loads(body)
    except ValueError:
        return f"not JSON ({content_type or 'no Content-Type'}): {shown_bytes(body, 120)}"
    if not isinstance(document, dict):
        return f"not a JSON object: {shown_bytes(body, 120)}"
    problems = []
    if not has_strings(document, "meta", ("requestId", "timestamp")):
        problems.append("no meta.requestId and meta.timestamp strings")
    if status < 400 and "data" not in document:
        problems.append("a success with no `data`")
    if status >= 400 and not has_strings(document, "error", ("code", "message")):
        problems.append("no error.code and error.message strings")
    if status >= 400 and (extra := set(document) - {"error", "meta"}):
        problems.append(f"keys besides error and meta: {sorted(extra)}")
    return "; ".join(problems) or None


# --------------------------------------------------------------------------------------------
# The server's log


@dataclass
class LogEntry:
    lines: list[str]

    @property
    def signature(self) -> str:
        """What tells two entries apart: the first and last lines, ids and numbers blurred."""
        ends = self.lines[:1] + self.lines[-1:] if len(self.lines) > 1 else self.lines
        return re.sub(r"req_[0-9a-z]+|\d+", "#", " / ".join(ends))

    @property
    def kind(self) -> str:
        text = "\n".join(self.lines)
        if "Traceback" in text:
            return "traceback"
        for level in ("CRITICAL", "ERROR", "WARNING"):
            if level in text:
                return level
        return "log line"


def log_entries(lines: Sequence[str]) -> list[LogEntry]:
    """Log lines grouped into entries: a traceback (its frames, its exception line and any
    chained exception) stays with the line that introduced it."""
    entries: list[LogEntry] = []
    previous = ""
    for line in lines:
        if LISTENING_LINE.match(line):
            continue
        continues = entries and (
            line.startswith((" ", "\t"))
            or line.startswith(("Traceback", "During handling", "The above exception"))
            or not line.strip()
            or (previous.startswith((" ", "\t")) and "Traceback" in "\n".join(entries[-1].lines))
        )
        if continues:
            entries[-1].lines.append(line)
        else:
            entries.append(LogEntry([line]))
        previous = line
    for entry in entries:
        while entry.lines and not entry.lines[-1].strip():
            entry.lines.pop()
    return entries


class LogWatch:
    """The lines a server wrote to its log files since the last `take()`."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.offsets = dict.fromkeys(paths, 0)

    def take(self, settle: float = 0.0) -> list[str]:
        if settle:
            time.sleep(settle)  # what a request just caused may take a moment to be written
        lines: list[str] = []
        for path, offset in self.offsets.items():
            with path.open("rb") as stream:
                stream.seek(offset)
                data = stream.read()
            # Only whole lines: a line being written is read next time.
            cut = data.rfind(b"\n") + 1
            self.offsets[path] = offset + cut
            lines += data[:cut].decode(errors="replace").splitlines()
        return lines


def log_findings(lines: Sequence[str], during: str) -> list[Finding]:
    """One finding per kind of log entry, with how many times it appeared."""
    grouped: dict[str, Finding] = {}
    for entry in log_entries(lines):
        found = grouped.get(entry.signature)
        if found is not None:
            found.count += 1
            continue
        grouped[entry.signature] = Finding(
            "log", f"{entry.kind}: {shorten(entry.lines[0], 100)}", during, entry.lines[-1], details=entry.lines
        )
    return list(grouped.values())


# --------------------------------------------------------------------------------------------
# Launching and checking the fake


def launch(workdir: Path, *extra: str) -> Server:
    return Server(
        [console_script(), "serve", "--port", "0", "--seed", "1", *extra],
        name="connectors-mock",
        workdir=workdir,
        capture_stdout=True,
    )


def log_paths(server: Server) -> list[Path]:
    return [server.logs[stream] for stream in ("stderr", "stdout") if stream in server.logs]


def request(
    port: int, method: str, path: str, *, headers: dict[str, str] | None = None, timeout: float
) -> tuple[int, bytes]:
    """One request on a connection of its own, with a bounded wait (servers.call waits minutes)."""
    with contextlib.closing(connect(port, timeout=timeout)) as connection:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()


def health_problem(server: Server, timeout: float, key: str = HEALTH_KEY) -> str | None:
    """Why the fake is not well (gone, or `GET /v1/connectors` not a 200), or None."""
    if server.running().poll() is not None:
        return f"the process exited with status {server.running().returncode}"
    try:
        with contextlib.closing(connect(server.port, timeout=timeout)) as connection:
            status, payload = send(connection, "GET", "/v1/connectors", key=key)
    except (OSError, http.client.HTTPException) as error:
        return f"GET /v1/connectors failed: {type(error).__name__}: {error}"
    if status != 200:
        return f"GET /v1/connectors answered {status}: {shown_bytes(payload, 200)}"
    return None


def keep_logs(server: Server, directory: Path | None, label: str) -> None:
    if directory is None:
        return
    directory.mkdir(parents=True, exist_ok=True)
    for stream, path in server.logs.items():
        shutil.copyfile(path, directory / f"{label}.{stream}.log")


# --------------------------------------------------------------------------------------------
# schemathesis


def header_value(response: Response, name: str) -> str:
    for key, values in response.headers.items():
        if key.lower() == name and values:
            return str(values[0])
    return ""


def error_envelope(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """Every error answer is the API's error envelope (an HTML page excepted)."""
    if response.status_code < 400 or case.method.upper() == "HEAD":
        return None
    problem = envelope_problem(response.status_code, header_value(response, "content-type"), response.content)
    if problem:
        raise AssertionError(f"{response.status_code} is not the error envelope: {problem}")
    return None


def register_checks() -> None:
    schemathesis.check(error_envelope)


def positive_refusals_api() -> list[dict[str, Any]]:
    """The contract suite's policy (schema-valid API requests the contract documents refusing),
    and what it need not say because its own generators avoid it: a collection that does not
    exist (createConnector, 422), a `redirect_uri` the fake refuses (authorizeOAuth, 422)."""
    policy = importlib.resources.files("connectors_mock.contract") / "schemathesis.toml"
    operations: list[dict[str, Any]] = tomllib.loads(policy.read_text())["operations"]
    statuses = {
        entry["include-operation-id"]: entry["checks"]["positive_data_acceptance"]["expected-statuses"]
        for entry in operations
    }
    for name, more in API_REFUSALS.items():
        statuses[name] = sorted({*statuses.get(name, ["2xx", "401", "403", "404", "409", "429"]), *more})
    return refusals(statuses)


def refusals(statuses: dict[str, list[str]]) -> list[dict[str, Any]]:
    return [
        {"include-operation-id": name, "checks": {"positive_data_acceptance": {"expected-statuses": expected}}}
        for name, expected in statuses.items()
    ]


def schemathesis_config(
    args: argparse.Namespace,
    base_url: str,
    headers: dict[str, str],
    *,
    ignored_auth: bool,
    operations: list[dict[str, Any]],
) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "seed": args.seed,
            "workers": args.workers,
            "base-url": base_url,
            "headers": headers,
            "request-timeout": args.timeout,
            "continue-on-failure": True,  # every distinct failure, not the first per operation
            "suppress-health-check": ["all"],
            "output": {"sanitization": {"enabled": False}},  # curl commands as sent, key included
            "generation": {"mode": "all", "max-examples": args.examples, "database": "none", "no-shrink": True},
            "checks": {
                "negative_data_rejection": {"expected-statuses": REJECTIONS},
                "ignored_auth": {"enabled": ignored_auth},
                "object_level_authorization": {"enabled": False},  # needs a second identity
            },
            "operations": operations,
        }
    )


@dataclass
class Sample:
    curl: str
    answer: str
    steps: list[str]  # the requests that came before it, in a stateful scenario


@dataclass
class FailureGroup:
    """One kind of failed check (the same check, title and headline), and a request that shows
    it for each operation it was seen on."""

    stage: str
    check: str
    title: str
    message: str
    samples: dict[str, Sample] = field(default_factory=dict)
    count: int = 0

    def finding(self) -> Finding:
        first = next(iter(self.samples.values()))
        operations = ", ".join(self.samples)
        summary = headline(self.message)
        details = [f"check: {self.check}: {self.title}", *(f"  {line}" for line in self.message.splitlines())]
        details.append(f"on {len(self.samples)} operation(s): {operations}")
        for operation, sample in self.samples.items():
            details += [f"- {operation}:", *(f"    before: {step}" for step in sample.steps)]
            details += [f"    {sample.curl}", f"    -> {sample.answer}"]
        case = f"{self.check}{f' ({summary})' if summary else ''}: {self.title}, on {operations}"
        return Finding(self.stage, case, first.curl, first.answer, details, self.count)


def headline(message: str) -> str:
    """What tells a failure apart: the request component that was invalid (whatever was wrong
    with it), else the first line of its message."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("Invalid component: "):
            return line.removeprefix("Invalid component: ").split(" - ")[0]
    return lines[0] if lines else ""


@dataclass
class FuzzRun:
    groups: dict[tuple[str, ...], FailureGroup] = field(default_factory=dict)
    errors: dict[tuple[str, ...], Finding] = field(default_factory=dict)
    requests: int = 0
    failures: int = 0
    seconds: float = 0.0
    stop_reason: str = ""

    def findings(self) -> list[Finding]:
        return [group.finding() for group in self.groups.values()] + list(self.errors.values())


def answer_text(response: Response | None) -> str:
    if response is None:
        return "no answer"
    return f"{response.status_code} {shown_bytes(response.content, 300)}"


def record_scenario(run: FuzzRun, stage: str, event: events.ScenarioFinished) -> None:
    recorder = event.recorder
    run.requests += len(recorder.interactions)
    label = event.label or f"{event.phase.value} phase"
    for case_id, checks in recorder.checks.items():
        for check in checks:
            if check.status is Status.SUCCESS:
                continue
            run.failures += 1
            interaction = recorder.interactions.get(case_id)
            response = interaction.response if interaction is not None else None
            info = check.failure_info
            title = info.failure.title if info is not None else f"the check itself ended in {check.status.value}"
            message = info.failure.message if info is not None else ""
            key = (stage, check.name, title, headline(message))
            group = run.groups.setdefault(key, FailureGroup(stage, check.name, title, message))
            group.count += 1
            if label not in group.samples:
                curl = info.code_sample if info is not None else ""
                # The requests a stateful failure needs, unless its code sample shows them already.
                steps = [step.curl for step in info.steps if step.curl not in curl] if info is not None else []
                group.samples[label] = Sample(shorten(curl, SHOWN_TEXT), answer_text(response), steps)


def record_error(run: FuzzRun, stage: str, event: events.NonFatalError) -> None:
    key = (stage, event.label, type(event.value).__name__)
    if key in run.errors:
        run.errors[key].count += 1
        return
    sample = event.info.code_sample or ""  # the request, when the error came with one
    run.errors[key] = Finding(
        stage,
        f"{event.label}: {event.info.title}",
        shorten(sample, SHOWN_TEXT),
        shorten(f"{type(event.value).__name__}: {event.value}", 300),
        details=[f"phase: {event.phase.value if event.phase else '-'}", *event.info.message.splitlines()],
    )


def fuzz(stage: str, schema: Any) -> FuzzRun:
    """Run every phase of schemathesis over `schema`, keeping one finding per kind of failure."""
    run = FuzzRun()
    started = time.perf_counter()
    stream = from_schema(schema).execute()
    try:
        for event in stream:
            if isinstance(event, events.ScenarioFinished) and event.is_test_scenario:
                record_scenario(run, stage, event)
            elif isinstance(event, events.NonFatalError):
                record_error(run, stage, event)
            elif isinstance(event, events.FatalError):
                run.errors[(stage, "fatal")] = Finding(stage, "schemathesis stopped", "", repr(event.exception))
            elif isinstance(event, events.Interrupted):
                # schemathesis turns Ctrl-C (and SIGTERM, see servers.run_interruptibly) into
                # this event; the script stops as a whole.
                raise KeyboardInterrupt
            elif isinstance(event, events.EngineFinished):
                run.stop_reason = event.stop_reason.value
                for failure in event.failures:
                    run.errors[(stage, "after run", failure.title)] = Finding(
                        stage, f"after the run: {failure.title}", "", failure.message
                    )
    finally:
        stream.stop()
    run.seconds = time.perf_counter() - started
    return run


def fuzz_api(args: argparse.Namespace, server: Server) -> FuzzRun:
    config = schemathesis_config(
        args,
        f"http://{HOST}:{server.port}",
        {"Authorization": f"Bearer {API_KEY}"},
        ignored_auth=False,
        operations=positive_refusals_api(),
    )
    return fuzz("api", schemathesis.openapi.from_path(SPEC, config=config))


def fuzz_control(args: argparse.Namespace, server: Server) -> FuzzRun:
    base_url = f"http://{HOST}:{server.port}"
    config = schemathesis_config(
        args,
        base_url,
        {"Authorization": f"Bearer {API_KEY}", "X-Mock-Admin-Token": ADMIN_TOKEN},
        ignored_auth=True,
        operations=refusals(CONTROL_REFUSALS),
    )
    return fuzz("control", schemathesis.openapi.from_url(f"{base_url}/_mock/openapi.json", config=config))


# --------------------------------------------------------------------------------------------
# Raw HTTP: the corpus

KEY_MARK = b"@KEY@"  # replaced by the case's own API key when sent
LIST = b"/v1/connectors"
ONE = b"/v1/connectors/conn_abc123"
JSON = b"application/json"
YAML = b"application/yaml"
FORM = b"application/x-www-form-urlencoded"


@dataclass(frozen=True)
class RawCase:
    name: str
    what: str
    parts: tuple[bytes, ...]  # sent in order, `pause` seconds apart
    pause: float = 0.0
    # After sending: wait for the answer; half-close first (the server reads end of file); or
    # close at once without reading (a client that gives up).
    then: Literal["wait", "shut", "close"] = "wait"
    # Answers to read: pipelined requests each get one; otherwise at most this many requests
    # may reach the app (more is request smuggling).
    answers: int = 1
    pipelined: bool = False
    complete: bool = True  # False: the request is unfinished on purpose, and the server may wait
    malformed: bool = True  # False: a valid request, which must get an answer
    head: bool = False  # a HEAD request: answers have no body
    wait: float | None = None  # how long to wait for answers (default --timeout)

    def payload(self) -> tuple[bytes, ...]:
        key = f"raw-{self.name}".encode()
        return tuple(part.replace(KEY_MARK, key) for part in self.parts)


def case(name: str, what: str, payload: bytes, **options: Any) -> RawCase:
    """A case sent in one write."""
    return RawCase(name, what, (payload,), **options)


def line(method: bytes, target: bytes, version: bytes = b"HTTP/1.1") -> bytes:
    return method + b" " + target + b" " + version


def head_block(first: bytes, headers: Sequence[bytes]) -> bytes:
    return b"\r\n".join([first, *headers]) + b"\r\n\r\n"


def auth(*more: bytes) -> list[bytes]:
    return [b"Host: 127.0.0.1", b"Authorization: Bearer " + KEY_MARK, *more]


def get(target: bytes = LIST, *more: bytes, method: bytes = b"GET", version: bytes = b"HTTP/1.1") -> bytes:
    return head_block(line(method, target, version), auth(*more))


def with_body(method: bytes, target: bytes, body: bytes, *more: bytes, media: bytes = JSON) -> bytes:
    """A request with a Content-Length body, unless `more` brings its own framing."""
    headers = auth(b"Content-Type: " + media, *more)
    if not any(header.lower().startswith((b"content-length", b"transfer-encoding")) for header in more):
        headers.append(b"Content-Length: %d" % len(body))
    return head_block(line(method, target), headers) + body


def post_headers(*framing: bytes) -> bytes:
    """The head of a createConnector request with the given framing headers."""
    return head_block(line(b"POST", LIST), auth(b"Content-Type: application/json", *framing))


def chunked(chunks: bytes) -> bytes:
    """A chunked createConnector request with `chunks` as its body, as they are."""
    return post_headers(b"Transfer-Encoding: chunked") + chunks


def create_body(name: str = "raw fuzz") -> bytes:
    return json.dumps(s3_body(name)).encode()


def as_chunks(body: bytes, size: int = 16) -> bytes:
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"


def slug(text: bytes) -> str:
    return re.sub(rb"[^a-z0-9]+", b"-", text.lower()).decode().strip("-")


def request_line_cases() -> list[RawCase]:
    ok = get()
    tabs = ok.replace(b"GET /", b"GET\t/", 1).replace(b"tors HTTP", b"tors\tHTTP", 1)
    no_host = b"GET /v1/connectors %s\r\nAuthorization: Bearer @KEY@\r\n\r\n"
    query_params = b"&".join(b"p%d=1" % i for i in range(100_000))
    cases = [
        case("baseline", "a valid GET /v1/connectors", ok, malformed=False),
        case("baseline-head", "a valid HEAD /v1/connectors", get(method=b"HEAD"), malformed=False, head=True),
        case("rl-empty-lines", "only empty lines, then end of file", b"\r\n" * 8, then="shut"),
        case("rl-garbage", "a line of text that is no request", b"hello world\r\n\r\n"),
        case("rl-binary", "all 256 byte values", bytes(range(256)) + b"\r\n\r\n"),
        case("rl-nul", "64 NUL bytes", b"\x00" * 64 + b"\r\n\r\n"),
        case("rl-lf-endings", "a valid GET with bare LF line ends", ok.replace(b"\r\n", b"\n")),
        case("rl-cr-endings", "a valid GET with bare CR line ends", ok.replace(b"\r\n", b"\r")),
        case("rl-tabs", "tabs between method, target and version", tabs),
        case("rl-double-spaces", "two spaces between the parts", ok.replace(b" ", b"  ", 2)),
        case("rl-leading-space", "a space before the method", b" " + ok),
        case("rl-trailing-space", "a space after the version", ok.replace(b"HTTP/1.1", b"HTTP/1.1 ", 1)),
        case("rl-no-version", "no version, then headers", head_block(b"GET /v1/connectors", auth())),
        case(
            "http09", "HTTP/0.9: `GET /v1/connectors` alone, then end of file", b"GET /v1/connectors\r\n", then="shut"
        ),
        case("rl-100kb-path", "a 100 KB path", get(LIST + b"/" + b"a" * 100_000)),
        case("rl-100kb-query", "a 100 KB query", get(LIST + b"?q=" + b"a" * 100_000)),
        case("rl-1mb-path", "a 1 MB path", get(LIST + b"/" + b"a" * 1_000_000)),
        case("rl-100k-query-params", "100,000 query parameters", get(LIST + b"?" + query_params)),
        case("http10-no-host", "HTTP/1.0 with no Host", no_host % b"HTTP/1.0", malformed=False),
        case("http11-no-host", "HTTP/1.1 with no Host (RFC 9112: a 400)", no_host % b"HTTP/1.1"),
    ]
    versions = [b"http/1.1", b"HTTP/1.2", b"HTTP/2.0", b"HTTP/3", b"HTTP/9.9", b"HTTP/1.10", b"HTTP/0.9"]
    versions += [b"HTTP/1", b"HTTPS/1.1", b"HTTP/1.1x", b"HTTP/\xff"]
    cases += [case(f"version-{slug(v)}", f"version {v!r}", get(version=v)) for v in versions]
    return cases


def target_cases() -> list[RawCase]:
    authorize = b"/v1/connectors/oauth/google_drive/authorize"
    consent = b"/_mock/oauth/google_drive/consent"
    targets = {
        "absolute-same": b"http://127.0.0.1/v1/connectors",
        "absolute-other": b"http://evil.example/v1/connectors",
        "absolute-https": b"https://127.0.0.1:1/v1/connectors",
        "authority": b"127.0.0.1:80",
        "asterisk": b"*",
        "no-slash": b"v1/connectors",
        "double-slash": b"//v1//connectors",
        "dot-segments": b"/v1/../v1/./connectors",
        "encoded-dots": b"/v1/%2e%2e/v1/connectors",
        "encoded-slash": b"/v1%2Fconnectors",
        "double-encoded": b"/v1%252Fconnectors",
        "backslash": b"/v1\\connectors",
        "fragment": b"/v1/connectors#frag",
        "pct-bad-hex": b"/v1/connectors/%zz",
        "pct-truncated": b"/v1/connectors/%",
        "pct-invalid-utf8": b"/v1/connectors/%ff%fe",
        "pct-nul": b"/v1/connectors/%00",
        "pct-overlong": b"/v1/connectors/%c0%af",
        "pct-surrogate": b"/v1/connectors/%ed%a0%80",
        "pct-cut-sequence": b"/v1/connectors/%e2%82",
        "pct-job-invalid-utf8": b"/v1/connectors/conn_abc123/sync/%ff",
        "pct-oauth-type": b"/v1/connectors/oauth/%ff/authorize",
        "pct-mock-scenario": b"/_mock/scenarios/%ff%fe",
        "pct-mock-consent": b"/_mock/oauth/%ff/consent?state=x",
        "raw-invalid-utf8": b"/v1/connectors/\xff\xfe",
        "raw-bad-sequence": b"/v1/connectors/\xc3\x28",
        "raw-valid-utf8": b"/v1/connectors/caf\xc3\xa9",
        "raw-high-byte": b"/v1/connectors/\x80",
        "raw-nul": b"/v1/connectors/\x00",
        "raw-del": b"/v1/connectors/\x7f",
        "raw-control": b"/v1/connectors/\x01\x1b[31m",
        "raw-space": b"/v1/conn ectors",
        "raw-mock-invalid-utf8": b"/_mock/scenarios/\xff",
        "query-raw-invalid-utf8": b"/v1/connectors?x=\xff\xfe",
        "query-raw-key": b"/v1/connectors?\xff=1",
        "query-pct-invalid-utf8": b"/v1/connectors?x=%ff",
        "query-raw-nul": b"/v1/connectors?x=\x00",
        "query-authorize-raw": authorize + b"?redirect_uri=http://x/\xff&name=\xfe",
        "query-authorize-pct": authorize + b"?redirect_uri=%ff&name=%ff%fe&collection=%00",
        "query-journal-raw": b"/_mock/journal?limit=\xff&status=\xfe",
        "query-journal-pct": b"/_mock/journal?path=%ff&method=%00&since=%fe",
        "query-journal-huge": b"/_mock/journal?limit=99999999999999999999999999&since=1e309",
        "query-journal-dup": b"/_mock/journal?limit=1&limit=2&limit=x",
        "query-consent-raw": consent + b"?state=\xff&decision=approve",
        "query-consent-pct": consent + b"?state=%ff%fe&decision=%ff",
        "query-callback-pct": b"/_mock/oauth/callback?code=%ff&state=%00&error=%fe",
    }
    cases = [case(f"target-{name}", f"GET {target!r}", get(target)) for name, target in targets.items()]
    cases += [
        case("target-empty", "GET with an empty target", head_block(b"GET  HTTP/1.1", auth())),
        case("target-connect-authority", "CONNECT 127.0.0.1:80", get(b"127.0.0.1:80", method=b"CONNECT")),
        case("target-options-asterisk", "OPTIONS *", get(b"*", method=b"OPTIONS")),
    ]
    return cases


def method_cases() -> list[RawCase]:
    methods = {
        "lowercase": b"get",
        "unknown": b"FOO",
        "brew": b"BREW",
        "long": b"A" * 10_000,
        "nul": b"GE\x00T",
        "non-ascii": b"G\xc3\x89T",
        "high-byte": b"\xffGET",
        "connect-path": b"CONNECT",
        "trace": b"TRACE",
        "propfind": b"PROPFIND",
        "m-search": b"M-SEARCH",
        "pri": b"PRI",
        "colon": b"GET:",
        "patch": b"PATCH",
        "delete-collection": b"DELETE",
        "options-bare": b"OPTIONS",
    }
    cases = [
        case(f"method-{name}", f"method {shown_bytes(method, 40)} on /v1/connectors", get(method=method))
        for name, method in methods.items()
    ]
    preflight = get(
        LIST,
        b"Origin: http://localhost:3000",
        b"Access-Control-Request-Method: POST",
        b"Access-Control-Request-Headers: content-type, x-\xff",
        method=b"OPTIONS",
    )
    cases.append(case("method-preflight-odd-header", "a CORS preflight asking for header x-\\xff", preflight))
    return cases


def header_cases() -> list[RawCase]:
    extra = {
        "no-colon": [b"X-Fuzz no colon"],
        "space-before-colon": [b"X-Fuzz : 1"],
        "empty-name": [b": value"],
        "nul-name": [b"X-Fu\x00zz: 1"],
        "nul-value": [b"X-Fuzz: a\x00b"],
        "cr-value": [b"X-Fuzz: a\rb"],
        "lf-value": [b"X-Fuzz: a\nb"],
        "control-value": [b"X-Fuzz: a\x01\x1bb"],
        "del-value": [b"X-Fuzz: a\x7fb"],
        "tab-value": [b"X-Fuzz: a\tb"],
        "escape-name": [b"X-\x1bFuzz: 1"],
        "high-byte-name": [b"X-\xffFuzz: 1"],
        "separator-name": [b"X(Fuzz): 1"],
        "space-name": [b"X Fuzz: 1"],
        "obs-fold": [b"X-Fuzz: a", b" folded"],
        "obs-fold-first": [b" folded-first: 1"],
        "invalid-utf8-value": [b"X-Fuzz: \xff\xfe\xc3\x28"],
        "team-invalid-utf8": [b"X-Team-ID: \xff\xfe"],
        "team-100kb": [b"X-Team-ID: " + b"t" * 100_000],
        "team-empty": [b"X-Team-ID: "],
        "request-id-invalid-utf8": [b"X-Request-ID: req_\xff\xfe"],
        "request-id-del": [b"X-Request-ID: req_\x7f"],
        "request-id-tab": [b"X-Request-ID: req\tx"],
        "request-id-100kb": [b"X-Request-ID: " + b"r" * 100_000],
        "request-id-empty": [b"X-Request-ID: "],
        "request-id-twice": [b"X-Request-ID: req_one", b"X-Request-ID: req_two"],
        "scenario-invalid-utf8": [b"X-Mock-Scenario: \xff\xfe"],
        "scenario-unknown": [b"X-Mock-Scenario: no-such-scenario"],
        "admin-token-invalid-utf8": [b"X-Mock-Admin-Token: \xff"],
        "origin-invalid-utf8": [b"Origin: http://\xff\xfe"],
        "accept-odd": [b"Accept: \xff/\xfe;q=x"],
        "accept-encoding-odd": [b"Accept-Encoding: gzip;q=\xff, *;q=-1"],
        "cookie-garbage": [b"Cookie: \xff=\xfe; ;;=; a"],
        "host-invalid-utf8": [b"Host: \xff\xfe"],
        "host-twice": [b"Host: a.example", b"Host: b.example"],
        "host-bad-port": [b"Host: 127.0.0.1:99999999"],
        "many-headers-10k": [b"X-Fuzz-%d: %d" % (i, i) for i in range(10_000)],
        "many-headers-100k": [b"X-F%d: 1" % i for i in range(100_000)],
        "value-1mb": [b"X-Fuzz: " + b"v" * 1_000_000],
        "name-100kb": [b"X-" + b"n" * 100_000 + b": 1"],
    }
    cases = [
        case(f"hdr-{name}", f"GET /v1/connectors with {shown_bytes(b'|'.join(headers), 80)}", get(LIST, *headers))
        for name, headers in extra.items()
    ]
    keys = {
        "auth-invalid-utf8": b"Authorization: Bearer \xff\xfe",
        "auth-empty-key": b"Authorization: Bearer ",
        "auth-lowercase-scheme": b"Authorization: bearer @KEY@",
        "auth-64kb-key": b"Authorization: Bearer " + b"k" * 65_536,
        "auth-nul": b"Authorization: Bearer a\x00b",
        "auth-twice": b"Authorization: Bearer @KEY@\r\nAuthorization: Bearer other",
        "auth-obs-fold": b"Authorization: Bearer\r\n @KEY@",
    }
    for name, header in keys.items():
        payload = head_block(line(b"GET", LIST), [b"Host: 127.0.0.1", header])
        cases.append(case(f"hdr-{name}", f"GET with {shown_bytes(header, 80)}", payload))
    return cases


def chunked_cases() -> list[RawCase]:
    chunks = as_chunks(create_body())
    last = b"0\r\n\r\n"
    bodies = {
        "size-not-hex": ("a chunk size `zz`", b"zz\r\nabc\r\n" + last),
        "size-negative": ("a chunk size `-1`", b"-1\r\nabc\r\n" + last),
        "size-huge": ("a chunk size of 24 hex digits (past 64 bits)", b"f" * 24 + b"\r\nabc\r\n" + last),
        "size-0x": ("a chunk size `0x5`", b"0x5\r\n{}{}{\r\n" + last),
        "size-space": ("a chunk size ` 5` (leading space)", b" 5\r\n{}{}{\r\n" + last),
        "extension": ("a chunk extension `;a=b`", b"2;a=b\r\n{}\r\n" + last),
        "extension-bytes": ("a chunk extension with bytes \\xff\\x00", b"2;a=\xff\x00\r\n{}\r\n" + last),
        "size-short": ("a chunk size 2 followed by 10 bytes", b"2\r\n{}xxxxxxxx\r\n" + last),
        "no-crlf-after-data": ("chunk data with no CRLF after it", b"2\r\n{}" + last),
        "trailer-nul": ("a trailer holding a NUL", chunks[:-2] + b"X-Trailer: a\x00b\r\n\r\n"),
        "lf-framing": ("chunk lines ending in bare LF", chunks.replace(b"\r\n", b"\n")),
        "invalid-utf8-data": ("a chunked body of invalid UTF-8", as_chunks(b'{"name": "\xff\xfe"}')),
        "2mib": ("a chunked body of 2 MiB (the limit is 1 MiB)", as_chunks(b"[" + b"1," * 1_048_576 + b"1]", 65_536)),
    }
    cases = [case(f"te-{name}", what, chunked(body)) for name, (what, body) in bodies.items()]
    cases += [
        case("te-chunked-valid", "a valid chunked createConnector", chunked(chunks), malformed=False),
        case("te-trailer", "a valid trailer", chunked(chunks[:-2] + b"X-Trailer: 1\r\n\r\n"), malformed=False),
        case(
            "te-size-2gib-eof", "a chunk size of 2 GiB, 3 bytes, end of file", chunked(b"7fffffff\r\nabc"), then="shut"
        ),
        case("te-no-last-chunk-eof", "no last chunk, then end of file", chunked(chunks[: -len(last)]), then="shut"),
        case("te-no-final-crlf-eof", "`0\\r\\n`, then end of file", chunked(chunks[:-2]), then="shut"),
        case("te-on-get", "a GET with an empty chunked body", get(LIST, b"Transfer-Encoding: chunked") + last),
        case(
            "te-garbage-get", "a GET, Transfer-Encoding: ]=3L42, no body", get(ONE + b"x", b"Transfer-Encoding: ]=3L42")
        ),
        case(
            "te-garbage-get-mock",
            "GET /_mock/scenarios/nope, Transfer-Encoding: ]=3L42, no body",
            get(b"/_mock/scenarios/nope", b"Transfer-Encoding: ]=3L42"),
        ),
    ]
    encodings = {
        "gzip-chunked": b"gzip, chunked",
        "chunked-gzip": b"chunked, gzip",
        "identity": b"identity",
        "xchunked": b"xchunked",
        "uppercase": b"CHUNKED",
        "tab": b"\tchunked",
        "nul": b"chunked\x00",
        "twice": b"chunked\r\nTransfer-Encoding: chunked",
    }
    for name, encoding in encodings.items():
        payload = post_headers(b"Transfer-Encoding: " + encoding) + chunks
        cases.append(case(f"te-{name}", f"Transfer-Encoding: {encoding!r}", payload))
    http10 = chunked(chunks).replace(b"HTTP/1.1", b"HTTP/1.0", 1)
    cases.append(case("te-http10", "Transfer-Encoding: chunked in HTTP/1.0", http10))
    return cases


def length_cases() -> list[RawCase]:
    body = create_body()
    size = b"%d" % len(body)
    smuggled = b"0\r\n\r\nGET /v1/connectors HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    cl_te = post_headers(b"Content-Length: %d" % len(smuggled), b"Transfer-Encoding: chunked") + smuggled
    te_cl = post_headers(b"Transfer-Encoding: chunked", b"Content-Length: 4") + as_chunks(body)
    lengths = {
        "negative": b"-1",
        "not-number": b"abc",
        "exponent": b"1e3",
        "plus": b"+" + size,
        "hex": b"0x10",
        "list-same": size + b", " + size,
        "twice-different": size + b"\r\nContent-Length: 3",
        "huge": b"%d" % 2**80,
        "invalid-utf8": b"\xff",
        "over-limit": b"2000000",
    }
    cases = [
        case(
            f"cl-{name}",
            f"createConnector with Content-Length: {value!r}"[:90],
            post_headers(b"Content-Length: " + value) + body,
        )
        for name, value in lengths.items()
    ]
    continue_head = post_headers(b"Content-Length: " + size, b"Expect: 100-continue")
    cases += [
        case("cl-te-smuggle", "Content-Length and Transfer-Encoding: CL.TE smuggling", cl_te),
        case("te-cl-smuggle", "Transfer-Encoding, then Content-Length: 4", te_cl),
        case(
            "cl-short",
            "Content-Length 5 and a longer body (its rest read as a request)",
            post_headers(b"Content-Length: 5") + body,
            answers=2,
            pipelined=True,
        ),
        case(
            "cl-long-eof",
            "Content-Length 500, a shorter body, end of file",
            post_headers(b"Content-Length: 500") + body,
            then="shut",
        ),
        case(
            "cl-on-get", "a GET with a Content-Length body", get(LIST, b"Content-Length: 5") + b"hello", malformed=False
        ),
        case("cl-zero-post", "createConnector with Content-Length 0", post_headers(b"Content-Length: 0")),
        case("expect-continue", "Expect: 100-continue and a valid body", continue_head + body, malformed=False),
        case(
            "expect-continue-over-limit",
            "Expect: 100-continue, Content-Length 2,000,000, no body",
            post_headers(b"Content-Length: 2000000", b"Expect: 100-continue"),
        ),
        case("expect-unknown", "Expect: something-else", get(LIST, b"Expect: something-else")),
    ]
    return cases


def body_cases() -> list[RawCase]:
    deep_array = b"[" * 100_000 + b"]" * 100_000
    deep_object = b'{"a":' * 10_000 + b"1" + b"}" * 10_000
    named = create_body().replace(b"raw fuzz", b"@NAME@")
    postgres = (
        b'{"name": "n", "type": "postgresql", "collection": "col_abc123",'
        b' "config": {"host": "h", "database": "d", "port": @PORT@}}'
    )
    sync = ONE + b"/sync"
    callback = LIST + b"/oauth/google_drive/callback"
    clock = b"/_mock/clock/advance"
    consent = b"/_mock/oauth/google_drive/consent"
    # name: (method, target, body, media type)
    bodies: dict[str, tuple[bytes, bytes, bytes, bytes]] = {
        "invalid-utf8": (b"POST", LIST, named.replace(b"@NAME@", b"raw \xff\xfe"), JSON),
        "only-invalid-utf8": (b"POST", LIST, b"\xff\xfe\xfd", JSON),
        "bom": (b"POST", LIST, b"\xef\xbb\xbf" + create_body("bom"), JSON),
        "utf16": (b"POST", LIST, create_body("utf16").decode().encode("utf-16"), JSON),
        "utf16-declared": (b"POST", LIST, create_body("utf16d").decode().encode("utf-16"), JSON + b"; charset=utf-16"),
        "latin1-declared": (b"POST", LIST, named.replace(b"@NAME@", b"caf\xe9"), JSON + b"; charset=latin-1"),
        "lone-surrogate-name": (b"POST", LIST, named.replace(b"@NAME@", b"\\ud800"), JSON),
        "lone-surrogate-key": (b"POST", LIST, create_body().replace(b'"name"', b'"\\udfff"'), JSON),
        "nul-in-name": (b"POST", LIST, named.replace(b"@NAME@", b"a\\u0000b"), JSON),
        "deep-array": (b"POST", LIST, deep_array, JSON),
        "deep-config": (b"POST", LIST, named.replace(b'{"bucket"', deep_object[:-1] + b', "bucket"'), JSON),
        "huge-number": (b"POST", LIST, postgres.replace(b"@PORT@", b"1e400"), JSON),
        "huge-integer": (b"POST", LIST, postgres.replace(b"@PORT@", b"9" * 5000), JSON),
        "nan": (b"POST", LIST, b'{"name": NaN, "type": "s3"}', JSON),
        "duplicate-keys": (b"POST", LIST, create_body()[:-1] + b', "name": "second"}', JSON),
        "null": (b"POST", LIST, b"null", JSON),
        "trailing-garbage": (b"POST", LIST, create_body() + b"}}garbage", JSON),
        "over-limit": (b"POST", LIST, b'{"name": "' + b"x" * (1024 * 1024) + b'"}', JSON),
        "text-plain": (b"POST", LIST, create_body(), b"text/plain"),
        "media-invalid-utf8": (b"POST", LIST, create_body(), b"application/\xff\xfe"),
        "update-surrogate": (b"PUT", ONE, b'{"name": "\\ud800"}', JSON),
        "update-deep": (b"PUT", ONE, b'{"config": ' + deep_object + b"}", JSON),
        "sync-deep": (b"POST", sync, deep_array, JSON),
        "sync-invalid-utf8": (b"POST", sync, b'{"sync_mode": "\xff"}', JSON),
        "callback-surrogate": (b"POST", callback, b'{"code": "\\ud800", "state": "\\udc00"}', JSON),
        "clock-1e308": (b"POST", clock, b'{"seconds": 1e308}', JSON),
        "clock-nan": (b"POST", clock, b'{"seconds": NaN}', JSON),
        "clock-infinity": (b"POST", clock, b'{"seconds": Infinity}', JSON),
        "clock-huge-integer": (b"POST", clock, b'{"seconds": ' + b"9" * 5000 + b"}", JSON),
        "clock-invalid-utf8": (b"POST", clock, b'{"seconds": "\xff"}', JSON),
        "binding-surrogate": (b"PUT", b"/_mock/binding", b'{"scenario": "\\ud800"}', JSON),
        "state-deep": (b"PUT", b"/_mock/state", deep_array, JSON),
        "state-invalid-utf8": (b"PUT", b"/_mock/state", b'{"version": 1, "tenants": [{"tenant": "\xff"}]}', JSON),
        "state-surrogate": (b"PUT", b"/_mock/state", b'{"version": 1, "tenants": [{"tenant": "\\ud800"}]}', JSON),
        "consent-form-invalid-utf8": (b"POST", consent, b"state=%ff%fe&decision=\xff", FORM),
        "consent-form-huge": (b"POST", consent, b"state=" + b"s" * 2_000_000, FORM),
        "consent-multipart-garbage": (b"POST", consent, b"--x\r\n\xff\r\n--x--", b"multipart/form-data; boundary=x"),
    }
    return [
        case(
            f"body-{name}",
            f"{method.decode()} {target.decode()} with {shown_bytes(body, 90)} as {media!r}",
            with_body(method, target, body, media=media),
        )
        for name, (method, target, body, media) in bodies.items()
    ]


def yaml_cases() -> list[RawCase]:
    """Scenario bodies (YAML) for POST /_mock/scenarios, never activated. Last in the corpus:
    an alias bomb may keep the server busy."""
    bomb = [b'a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    bomb += [b"a%d: &a%d [%s]" % (i, i, b",".join([b"*a%d" % (i - 1)] * 10)) for i in range(1, 7)]
    bombs = b"\n".join(bomb) + b"\n"
    latency = b"faults:\n  - match: {operation: listConnectors}\n    latency: {ms: @MS@}\n"
    scenarios = {
        "invalid-utf8": b"name: \xff\xfe\nfaults: []\n",
        "python-tag": b"name: tag\ndescription: !!python/object/apply:os.system ['true']\n",
        "binary-tag": b"name: bin\ndescription: !!binary aGVsbG8=\n",
        "set-tag": b"name: set\nfaults: !!set {a, b}\n",
        "timestamp": b"name: 2025-01-01\ndescription: 2025-01-01T00:00:00Z\n",
        "int-key": b"name: ints\n1: 2\n",
        "complex-key": b"name: complex\n? [a, b]\n: c\n",
        "nan-latency": b"name: nan\n" + latency.replace(b"@MS@", b".nan"),
        "inf-latency": b"name: inf\n" + latency.replace(b"@MS@", b".inf"),
        "deep-flow": b"name: deep\ndescription: " + b"[" * 5000 + b"]" * 5000 + b"\n",
        "deep-block": b"name: deepb\nfaults:\n" + b"".join(b"  " * i + b"- \n" for i in range(1, 400)),
        "many-documents": b"name: docs\n" + b"---\nname: more\n" * 10_000,
        "alias-bomb-unknown-key": b"name: bomb1\n" + bombs,
        "alias-bomb-description": b"name: bomb2\n" + bombs + b"description: *a6\n",
        "alias-bomb-faults": b"name: bomb3\n" + bombs + b"faults: *a6\n",
    }
    return [
        case(
            f"yaml-{name}",
            f"POST /_mock/scenarios with YAML {shown_bytes(body, 90)}",
            with_body(b"POST", b"/_mock/scenarios", body, media=YAML),
        )
        for name, body in scenarios.items()
    ]


def protocol_cases() -> list[RawCase]:
    websocket = [b"Upgrade: websocket", b"Connection: Upgrade", b"Sec-WebSocket-Version: 13"]
    websocket.append(b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==")
    h2c = [b"Upgrade: h2c", b"Connection: Upgrade, HTTP2-Settings", b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA"]
    preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    settings_frame = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
    client_hello = bytes.fromhex("16030100a5010000a10303") + bytes(32) + bytes.fromhex("000002002f0100")
    ok = get()
    pipelined_post = with_body(b"POST", LIST, create_body("pipelined")) + ok
    return [
        case("upgrade-websocket", "a WebSocket handshake on /v1/connectors", get(LIST, *websocket)),
        case("upgrade-websocket-mock", "a WebSocket handshake on /_mock/clock", get(b"/_mock/clock", *websocket)),
        case("upgrade-h2c", "Upgrade: h2c with HTTP2-Settings", get(LIST, *h2c)),
        case(
            "upgrade-garbage",
            "Upgrade: \\xff, Connection: Upgrade",
            get(LIST, b"Upgrade: \xff", b"Connection: Upgrade"),
        ),
        case("upgrade-no-connection", "Upgrade: websocket, no Connection: Upgrade", get(LIST, b"Upgrade: websocket")),
        case("upgrade-connection-only", "Connection: Upgrade, no Upgrade", get(LIST, b"Connection: Upgrade")),
        case("h2-preface", "the HTTP/2 connection preface", preface),
        case("h2-preface-settings", "the HTTP/2 preface and a SETTINGS frame", preface + settings_frame),
        case("tls-client-hello", "a TLS ClientHello (HTTPS to the plain port)", client_hello),
        case("ssh-banner", "an SSH banner", b"SSH-2.0-OpenSSH_9.6\r\n"),
        case(
            "response-as-request", "an HTTP response sent as a request", b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        ),
        case(
            "proxy-protocol", "a PROXY protocol v1 line, then a valid GET", b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n" + ok
        ),
        case("pipeline-2", "two valid GETs in one write", ok * 2, answers=2, pipelined=True, malformed=False),
        case("pipeline-50", "fifty valid GETs in one write", ok * 50, answers=50, pipelined=True, malformed=False),
        case("pipeline-get-garbage", "a valid GET, then garbage", ok + b"garbage\r\n\r\n", answers=2, pipelined=True),
        case("pipeline-garbage-get", "garbage, then a valid GET", b"garbage\r\n\r\n" + ok),
        case(
            "pipeline-post-get",
            "a valid POST and a GET in one write",
            pipelined_post,
            answers=2,
            pipelined=True,
            malformed=False,
        ),
        case(
            "pipeline-get-half",
            "a valid GET, half a request, end of file",
            ok + b"GET /v1/conn",
            then="shut",
            malformed=False,
        ),
    ]


def partial_cases(slow_wait: float) -> list[RawCase]:
    half = b"GET /v1/connectors HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthor"
    body = create_body()
    half_body = post_headers(b"Content-Length: %d" % len(body)) + body[:20]
    half_chunk = post_headers(b"Transfer-Encoding: chunked") + b'20\r\n{"name"'
    trickle = max(2, int(slow_wait))
    header_lines = tuple(b"X-Slow-%d: 1\r\n" % i for i in range(trickle))
    body_bytes = tuple(body[i : i + 1] for i in range(trickle))
    held = {"complete": False, "wait": slow_wait}
    return [
        case("half-headers-close", "half the headers, then the client closes", half, then="close"),
        case("half-headers-eof", "half the headers, then end of file", half, then="shut"),
        case("half-body-close", "the headers, 20 bytes of the body, the client closes", half_body, then="close"),
        case("half-body-eof", "the headers, 20 bytes of the body, end of file", half_body, then="shut"),
        case("half-chunked-close", "a chunked body cut mid-chunk, the client closes", half_chunk, then="close"),
        case("half-chunked-eof", "a chunked body cut mid-chunk, end of file", half_chunk, then="shut"),
        case("idle", f"a connection that sends nothing for {slow_wait:g} s", b"", **held),
        case("incomplete-headers", f"half the headers, then nothing for {slow_wait:g} s", half, **held),
        case("incomplete-body", f"the headers, 20 bytes of body, nothing for {slow_wait:g} s", half_body, **held),
        RawCase(
            "slowloris-headers",
            f"a header line every second for {trickle} s, never ending the headers",
            (b"GET /v1/connectors HTTP/1.1\r\n", *header_lines),
            pause=1.0,
            complete=False,
            wait=1.0,
        ),
        RawCase(
            "slowloris-body",
            f"a body byte every second for {trickle} s",
            (post_headers(b"Content-Length: %d" % len(body)), *body_bytes),
            pause=1.0,
            complete=False,
            wait=1.0,
        ),
    ]


def corpus(slow_wait: float) -> list[RawCase]:
    return [
        *request_line_cases(),
        *target_cases(),
        *method_cases(),
        *header_cases(),
        *chunked_cases(),
        *length_cases(),
        *body_cases(),
        *protocol_cases(),
        *partial_cases(slow_wait),
        *yaml_cases(),
    ]


# --------------------------------------------------------------------------------------------
# Raw HTTP: sending and reading


@dataclass
class Answer:
    status: int
    status_line: bytes
    headers: dict[str, str]
    body: bytes
    complete: bool

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def from_parser(self) -> bool:
        """uvicorn's own 400, given when httptools cannot parse the request: the app never ran."""
        return self.status == 400 and self.body == PARSER_BODY and "x-request-id" not in self.headers

    def shown(self) -> str:
        return f"{self.status_line.decode(errors='replace')} {shown_bytes(self.body, 160)}"


def chunked_body(data: bytes) -> tuple[bytes, bytes, bool]:
    """A chunked body's bytes, what follows it, and whether it was complete."""
    body = b""
    while True:
        end = data.find(b"\r\n")
        if end < 0:
            return body, b"", False
        try:
            size = int(data[:end].split(b";")[0], 16)
        except ValueError:
            return body, b"", False
        data = data[end + 2 :]
        if size == 0:
            trailer_end = data.find(b"\r\n\r\n") if not data.startswith(b"\r\n") else 0
            if trailer_end < 0:
                return body, b"", False
            return body, data[trailer_end + (2 if trailer_end == 0 else 4) :], True
        if len(data) < size + 2:
            return body + data, b"", False
        body, data = body + data[:size], data[size + 2 :]


def parse_answers(data: bytes, *, eof: bool, head: bool) -> tuple[list[Answer], bytes]:
    """The HTTP answers in `data`, and what could not be read as one."""
    answers: list[Answer] = []
    while data:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            break
        lines = data[:end].split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
            break
        headers: dict[str, str] = {}
        for header in lines[1:]:
            name, _, value = header.partition(b":")
            key = name.strip().lower().decode("latin-1")
            headers[key] = ", ".join(filter(None, [headers.get(key), value.strip().decode("latin-1")]))
        status, rest = int(parts[1]), data[end + 4 :]
        if head or 100 <= status < 200 or status in (204, 304):
            body, complete = b"", True
        elif "content-length" in headers and headers["content-length"].isdigit():
            size = int(headers["content-length"])
            body, rest, complete = rest[:size], rest[size:], len(rest) >= size
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body, rest, complete = chunked_body(rest)
        else:
            body, rest, complete = rest, b"", eof
        answers.append(Answer(status, lines[0], headers, body, complete))
        data = rest
    return answers, data


@dataclass
class Exchange:
    answers: list[Answer]
    leftover: bytes  # bytes that were no HTTP answer
    ending: str  # answered, eof, reset, open (still open when the wait ran out), closed by us
    seconds: float
    send_error: str | None = None

    def final(self) -> list[Answer]:
        return [answer for answer in self.answers if answer.status >= 200]


def send_parts(sock: socket.socket, case: RawCase) -> str | None:
    """Send the case's bytes; the error if the server stopped taking them."""
    try:
        for index, part in enumerate(case.payload()):
            if index and case.pause:
                time.sleep(case.pause)
            if part:
                sock.sendall(part)
        if case.then == "shut":
            sock.shutdown(socket.SHUT_WR)
    except OSError as error:
        return f"{type(error).__name__}: {error}"
    return None


def read_answers(sock: socket.socket, case: RawCase, wait: float) -> tuple[bytes, str]:
    """Read until the expected answers are complete, the server closes, or `wait` runs out."""
    received = b""
    deadline = time.monotonic() + wait
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            chunk = sock.recv(1 << 16)
        except TimeoutError:
            break
        except ConnectionResetError:
            return received, "reset"
        except OSError as error:
            return received, f"{type(error).__name__}: {error}"
        if not chunk:
            return received, "eof"
        received += chunk
        answers, _ = parse_answers(received, eof=False, head=case.head)
        finals = [answer for answer in answers if answer.status >= 200 and answer.complete]
        if len(finals) >= case.answers:
            return received, "answered"
    return received, "open"


def exchange(port: int, case: RawCase, timeout: float) -> Exchange:
    started = time.monotonic()
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        send_error = send_parts(sock, case)
        if case.then == "close":
            return Exchange([], b"", "closed by us", time.monotonic() - started, send_error)
        received, ending = read_answers(sock, case, case.wait or timeout)
    answers, leftover = parse_answers(received, eof=ending != "open", head=case.head)
    return Exchange(answers, leftover, ending, time.monotonic() - started, send_error)


@dataclass
class RawResult:
    case: RawCase
    exchange: Exchange
    problems: list[str]
    log: list[LogEntry]
    # How many answers came from the HTTP parser, before the app saw a request (None: unknown).
    before_app: int | None

    def got(self) -> str:
        shown = [answer.shown() for answer in self.exchange.answers]
        if self.exchange.leftover:
            shown.append(f"then {shown_bytes(self.exchange.leftover, 80)}")
        ending = f"{self.exchange.ending} after {self.exchange.seconds:.1f} s"
        return "; ".join([*shown, ending]) if shown else f"no answer: {ending}"


def judge(case: RawCase, result: Exchange, log: list[LogEntry], wait: float) -> list[str]:
    problems: list[str] = []
    finals = result.final()
    for answer in finals:
        if answer.status >= 500:
            problems.append(f"a {answer.status}")
        if not answer.complete:
            problems.append("an answer cut short")
        if answer.from_parser:
            problems.append("answered by uvicorn's parser: plain text, not the envelope")
        elif (problem := envelope_problem(answer.status, answer.content_type, answer.body)) is not None:
            problems.append(f"not the envelope: {problem}")
    expected = case.answers if case.pipelined else 1
    if result.ending == "open" and len(finals) < expected:
        if case.complete:
            problems.append(f"hang: {len(finals)} of {expected} answers and no close after {wait:g} s")
        else:
            problems.append(
                f"hang: an unfinished request kept open without an answer or a close for {result.seconds:.0f} s"
            )
    elif (case.pipelined or not case.malformed) and len(finals) < expected and result.ending != "closed by us":
        # Each pipelined request (the first of them valid), and a valid request, gets its answer.
        problems.append(f"{len(finals)} of {expected} answers, then {result.ending}")
    problems += [
        f"log {entry.kind}: {entry.lines[-1] if entry.kind == 'traceback' else entry.lines[0]}" for entry in log
    ]
    return problems


def journal_data(port: int, query: str, timeout: float) -> dict[str, Any] | None:
    try:
        status, payload = request(port, "GET", f"/_mock/journal?{query}", timeout=timeout)
        data = json.loads(payload)["data"] if status == 200 else None
    except (OSError, http.client.HTTPException, ValueError, KeyError, TypeError):
        return None
    return data if isinstance(data, dict) else None


def journal_last_id(port: int, timeout: float) -> int | None:
    """The id of the journal's last entry: the API requests the app has served."""
    data = journal_data(port, "limit=1", timeout)
    return data.get("lastId") if data is not None else None


def requests_journaled_since(port: int, last_id: int | None, timeout: float) -> int | None:
    if last_id is None:
        return None
    data = journal_data(port, f"since={last_id}&limit=1000", timeout)
    if data is None:
        return None
    return sum(1 for entry in data.get("entries", []) if isinstance(entry, dict) and "method" in entry)


def is_api_target(case: RawCase) -> bool:
    """Whether the case's (first) request is for the API, whose every request the app serves is
    in the journal (a /_mock one never is)."""
    target = case.payload()[0].split(b" ", 2)[1:2]
    return bool(target) and not target[0].startswith(b"/_mock")


def answered_before_app(case: RawCase, result: Exchange, journaled: int | None) -> int | None:
    """How many answers came from the HTTP parser rather than the app: uvicorn's plain-text 400s,
    and the answers to API requests that the journal did not record and that close the
    connection, as a parser's refusal does (a CORS preflight is not journaled either, but keeps
    the connection). Unknown (None) for a /_mock target."""
    finals = result.final()
    plain = sum(1 for answer in finals if answer.from_parser)
    if journaled is None or not is_api_target(case):
        return plain or None
    closing = sum(1 for answer in finals if "close" in answer.headers.get("connection", "").lower())
    return max(plain, min(closing, len(finals) - journaled))


def run_case(server: Server, watch: LogWatch, case: RawCase, timeout: float) -> RawResult:
    last_id = journal_last_id(server.port, timeout)
    try:
        result = exchange(server.port, case, timeout)
    except OSError as error:  # the connection itself failed: the server is in trouble
        result = Exchange([], b"", f"could not connect: {error}", 0.0)
    log = log_entries(watch.take(settle=0.3))
    problems = judge(case, result, log, case.wait or timeout)
    if result.send_error and not result.answers and result.ending not in ("eof", "reset"):
        problems.append(f"sending failed: {result.send_error}")
    journaled = requests_journaled_since(server.port, last_id, timeout)
    if journaled is not None and is_api_target(case) and journaled > case.answers:
        problems.append(f"the app served {journaled} requests, at most {case.answers} were sent (smuggling?)")
    return RawResult(case, result, problems, log, answered_before_app(case, result, journaled))


def many_partial_connections(server: Server, watch: LogWatch, count: int, timeout: float) -> Finding | None:
    """Hold `count` connections with half a request each, and ask the server something else."""
    sockets: list[socket.socket] = []
    problem: str | None = None
    try:
        for _ in range(count):
            sock = socket.create_connection((HOST, server.port), timeout=timeout)
            sock.sendall(b"GET /v1/connectors HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            sockets.append(sock)
        problem = health_problem(server, timeout)
    except OSError as error:
        problem = f"opening connection {len(sockets) + 1}: {type(error).__name__}: {error}"
    finally:
        for sock in sockets:
            sock.close()
    lines = watch.take(settle=0.5)
    if problem is None and not lines:
        return None
    what = f"{count} connections holding half a request each, then GET /v1/connectors on another"
    return Finding("raw", "many-partial-connections", what, problem or "answered", details=lines)


def fuzz_raw(args: argparse.Namespace, server: Server, watch: LogWatch) -> tuple[list[RawResult], list[Finding]]:
    cases = [case for case in corpus(args.slow_wait) if args.case in case.name]
    results: list[RawResult] = []
    extra: list[Finding] = []
    for index, case in enumerate(cases, 1):
        result = run_case(server, watch, case, args.timeout)
        results.append(result)
        mark = "!" if result.problems else "."
        print(f"  [{index}/{len(cases)}] {mark} {case.name}: {result.got()[:100]}", flush=True)
        if (problem := health_problem(server, args.timeout)) is not None:
            extra.append(Finding("raw", f"server unwell after {case.name}", case.what, problem, watch.take()))
            print(f"  the server is unwell after {case.name}: {problem}; the corpus stops here", flush=True)
            break
    else:
        if not args.case:
            found = many_partial_connections(server, watch, args.connections, args.timeout)
            extra += [found] if found else []
            print(f"  {'!' if found else '.'} {args.connections} connections holding half a request each", flush=True)
    return results, extra


def raw_findings(results: Sequence[RawResult]) -> list[Finding]:
    findings = []
    for result in results:
        if not result.problems:
            continue
        case, sent = result.case, b"".join(result.case.payload())
        writes = f", in {len(case.parts)} writes {case.pause:g} s apart" if case.pause else ""
        details = [
            f"what: {case.what}",
            f"sent ({len(sent):,} bytes{writes}, then {case.then}): {shown_bytes(sent, 1200)}",
            *(f"problem: {problem}" for problem in result.problems),
            *(f"answer: {answer.shown()} headers={answer.headers}" for answer in result.exchange.answers),
        ]
        if result.before_app:
            details.append(f"answered before the app (by the HTTP parser): {result.before_app} of the answers")
        for entry in result.log:
            details += ["log:", *(f"  {log_line}" for log_line in entry.lines)]
        stage = "parser" if result.before_app else "raw"
        findings.append(Finding(stage, case.name, shown_bytes(sent, 120), result.got(), details))
    return findings


def parser_notes(results: Sequence[RawResult]) -> list[str]:
    """Every case the HTTP parser answered (before the app saw a request), found or not."""
    return [
        f"{result.case.name}: {result.case.what} -> {result.got()[:200]}" for result in results if result.before_app
    ]


def lenient_notes(results: Sequence[RawResult]) -> list[str]:
    """Malformed requests the server answered with a success: lenient, not wrong."""
    return [
        f"{result.case.name}: {result.case.what} -> {result.exchange.final()[0].status_line.decode(errors='replace')}"
        for result in results
        if result.case.malformed and result.exchange.final() and result.exchange.final()[0].status < 300
    ]


# --------------------------------------------------------------------------------------------
# The final check


def final_findings(server: Server, label: str, timeout: float, *, admin: bool = False) -> list[Finding]:
    """The fake still runs and answers `GET /v1/connectors` with 200, for the key schemathesis
    used and for a fresh one. Scenarios the control stage left loaded are unloaded first."""
    findings = []
    if admin and server.running().poll() is None:
        with contextlib.suppress(OSError, http.client.HTTPException):
            admin_header = {"X-Mock-Admin-Token": ADMIN_TOKEN}
            request(server.port, "DELETE", "/_mock/scenarios", headers=admin_header, timeout=timeout)
    for key in (API_KEY, "fuzz-final"):
        if (problem := health_problem(server, timeout, key)) is not None:
            findings.append(Finding("final", f"{label}: GET /v1/connectors as {key}", "after everything", problem))
    return findings


# --------------------------------------------------------------------------------------------
# Report


def table(findings: Sequence[Finding]) -> list[str]:
    def cell(text: str, limit: int) -> str:
        text = text.replace("|", "\\|").replace("\n", " ")
        return text if len(text) <= limit else text[: limit - 1] + "…"

    lines = ["| # | stage | case | sent | got | seen |", "| ---: | --- | --- | --- | --- | ---: |"]
    for index, finding in enumerate(findings, 1):
        lines.append(
            f"| {index} | {finding.stage} | {cell(finding.case, 110)} | {cell(finding.sent, 80)}"
            f" | {cell(finding.got, 90)} | {finding.count} |"
        )
    return lines


def details(findings: Sequence[Finding]) -> list[str]:
    lines = []
    for index, finding in enumerate(findings, 1):
        times = f" (seen {finding.count} times)" if finding.count > 1 else ""
        lines += [f"[{index}] {finding.stage}: {finding.case}{times}", f"  sent: {finding.sent}"]
        lines += [f"  got: {finding.got}", *(f"  {detail}" for detail in finding.details), ""]
    return lines


STAGE_ORDER = ("api", "control", "raw", "parser", "log", "final")
PARSER_NOTES = "Answered by the HTTP parser, before the app saw a request (a finding only if listed above):"
LENIENT_NOTES = "Noted, not counted: a malformed request answered with a success:"


def report(findings: list[Finding], notes: dict[str, list[str]], facts: Sequence[str]) -> int:
    findings.sort(key=lambda finding: STAGE_ORDER.index(finding.stage))
    lines = ["", "=" * 100, "Findings, in full", "=" * 100, *details(findings)]
    for title, section in notes.items():
        if section:
            lines += [title, *(f"- {note}" for note in section), ""]
    lines += [*facts, "", *([*table(findings), ""] if findings else [])]
    by_stage = {stage: sum(1 for finding in findings if finding.stage == stage) for stage in STAGE_ORDER}
    summary = ", ".join(f"{stage} {count}" for stage, count in by_stage.items() if count)
    lines.append(f"{len(findings)} findings ({summary})" if findings else "no findings")
    print("\n".join(lines), flush=True)
    return 1 if findings else 0


# --------------------------------------------------------------------------------------------
# main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=500, help="schemathesis examples per operation (default 500)")
    parser.add_argument("--quick", action="store_true", help=f"a smoke run: {QUICK_EXAMPLES} examples, short waits")
    parser.add_argument("--seed", type=int, default=1, help="schemathesis's seed (default 1)")
    parser.add_argument("--only", default="api,control,raw", help="a subset of api,control,raw (default all)")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for any answer (default 5)")
    parser.add_argument(
        "--slow-wait",
        type=float,
        default=SLOW_WAIT,
        help=f"seconds an unfinished or trickled request is held (default {SLOW_WAIT:g})",
    )
    parser.add_argument(
        "--connections", type=int, default=200, help="connections held at once with half a request (default 200)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="schemathesis workers (default 1: more trip a Python 3.11 bug, `AST constructor recursion depth`)",
    )
    parser.add_argument("--case", default="", help="run only the raw cases whose name holds this text")
    parser.add_argument("--keep-logs", type=Path, metavar="DIR", help="copy the servers' logs there")
    args = parser.parse_args()
    args.only = {name.strip() for name in args.only.split(",") if name.strip()}
    if not args.only or args.only - {"api", "control", "raw"}:
        parser.error("--only takes names among api, control, raw")
    if args.quick:
        args.examples, args.slow_wait, args.connections = QUICK_EXAMPLES, min(args.slow_wait, 3.0), 20
    if args.examples < 1 or args.timeout <= 0 or args.slow_wait <= 0 or args.workers < 1:
        parser.error("--examples and --workers must be at least 1, the waits more than 0")
    return args


def code_version() -> str:
    """The commit the fake's code is at, and a digest of the files that differ from it (its
    source may change between two runs, or between two launches of one run)."""

    def git(*arguments: str) -> str:
        command = ["git", "-C", str(ROOT), *arguments]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout

    try:
        commit = git("rev-parse", "--short", "HEAD").strip()
        changed = sorted(line[3:] for line in git("status", "--porcelain", "--", "src", "openapi.yaml").splitlines())
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    if not changed:
        return f"commit {commit}"
    digest = hashlib.sha256()
    for name in changed:
        path = ROOT / name
        digest.update(name.encode() + (path.read_bytes() if path.is_file() else b""))
    return f"commit {commit} + {len(changed)} changed files (sha256 {digest.hexdigest()[:12]})"


def versions() -> str:
    names = ("connectors-mock", "schemathesis", "hypothesis", "uvicorn", "httptools", "starlette")
    return ", ".join(f"{name} {importlib.metadata.version(name)}" for name in names)


def fuzz_stage(stage: str, run: Callable[[], FuzzRun], watch: LogWatch, facts: list[str]) -> list[Finding]:
    print(f"{stage}: schemathesis ...", flush=True)
    result = run()
    facts.append(
        f"- {stage}: {result.requests:,} requests in {result.seconds:.0f} s, {result.failures:,} failed checks"
        f" in {len(result.groups)} kinds, stopped: {result.stop_reason or '?'}"
    )
    print(facts[-1][2:], flush=True)
    return result.findings() + log_findings(watch.take(settle=0.5), f"during the {stage} stage")


def api_server_stages(
    args: argparse.Namespace, workdir: Path, facts: list[str]
) -> tuple[list[Finding], dict[str, list[str]]]:
    findings: list[Finding] = []
    notes: dict[str, list[str]] = {}
    with launch(workdir) as server:
        server.wait_listening(timeout=60)
        facts.append(f"- api/raw server: `{' '.join(server.command)}` on port {server.port}; code: {code_version()}")
        watch = LogWatch(log_paths(server))
        if "api" in args.only:
            findings += fuzz_stage("api", lambda: fuzz_api(args, server), watch, facts)
        if "raw" in args.only:
            print("raw: the corpus ...", flush=True)
            started = time.perf_counter()
            results, extra = fuzz_raw(args, server, watch)
            findings += raw_findings(results) + extra
            notes = {PARSER_NOTES: parser_notes(results), LENIENT_NOTES: lenient_notes(results)}
            facts.append(f"- raw: {len(results)} cases in {time.perf_counter() - started:.0f} s")
        findings += final_findings(server, "api/raw server", args.timeout)
        findings += log_findings(watch.take(settle=0.5), "at the end")
        keep_logs(server, args.keep_logs, "api-raw")
    return findings, notes


def control_server_stage(args: argparse.Namespace, workdir: Path, facts: list[str]) -> list[Finding]:
    findings: list[Finding] = []
    with launch(workdir, "--admin-token", ADMIN_TOKEN) as server:
        server.wait_listening(timeout=60)
        facts.append(f"- control server: `{' '.join(server.command)}` on port {server.port}; code: {code_version()}")
        watch = LogWatch(log_paths(server))
        findings += fuzz_stage("control", lambda: fuzz_control(args, server), watch, facts)
        findings += final_findings(server, "control server", args.timeout, admin=True)
        findings += log_findings(watch.take(settle=0.5), "at the end of the control stage")
        keep_logs(server, args.keep_logs, "control")
    return findings


@contextlib.contextmanager
def workspace() -> Iterator[Path]:
    workdir = Path(tempfile.mkdtemp(prefix="connectors-mock-fuzz-"))
    try:
        yield workdir
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    args = parse_args()
    register_checks()
    started = time.perf_counter()
    facts = [
        f"- {versions()}; Python {sys.version.split()[0]}",
        f"- {args.examples} examples per operation, seed {args.seed}, --timeout {args.timeout:g} s,"
        f" --slow-wait {args.slow_wait:g} s, {args.connections} partial connections",
    ]
    findings: list[Finding] = []
    notes: dict[str, list[str]] = {}
    with workspace() as workdir:
        if args.only & {"api", "raw"}:
            found, notes = api_server_stages(args, workdir, facts)
            findings += found
        if "control" in args.only:
            findings += control_server_stage(args, workdir, facts)
    facts.append(f"- took {time.perf_counter() - started:.0f} s")
    return report(findings, notes, facts)


if __name__ == "__main__":
    sys.exit(run_interruptibly(main))
