"""`connectors-mock serve`: run the fake under uvicorn."""

from __future__ import annotations

import argparse
import logging
import signal
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

import uvicorn

from connectors_mock import __version__
from connectors_mock.app import Settings, build_app
from connectors_mock.clock import CLOCK_MODES, MANUAL_EPOCH, MAX_SPEED, ClockMode, VirtualClock
from connectors_mock.fixtures import FixtureError
from connectors_mock.spec import SpecMismatch


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="connectors-mock", description="A stateful fake of the Connectors API.")
    parser.add_argument("--version", action="version", version=f"connectors-mock {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the fake", description="Run the fake on HOST:PORT.")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    serve.add_argument(
        "--port", type=_port, default=8080, help="port to bind; 0 picks a free one (default: %(default)s)"
    )
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
        dest="api_keys",
        metavar="KEY",
        help="accept only this bearer key (repeatable); without it any non-empty key works",
    )
    serve.add_argument(
        "--access-log",
        action="store_true",
        help="log every request: client address, method, path (without its query) and status",
    )
    return parser


def _public_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise argparse.ArgumentTypeError(f"{text!r} is not an http(s) URL such as http://localhost:8080")
    return text.rstrip("/")


def _speed(text: str) -> float:
    try:
        speed = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < speed <= MAX_SPEED:
        raise argparse.ArgumentTypeError(f"{speed} is not a speed (above 0, at most {MAX_SPEED})")
    return speed


def _port(text: str) -> int:
    port = int(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port (0-65535)")
    return port


class _Server(uvicorn.Server):
    """Prints the one line a person or a test waits for, once the socket is listening."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and sockets:
            host, port = sockets[0].getsockname()[:2]
            print(f"connectors-mock listening on http://{_url_host(host)}:{port}", flush=True)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _clock_mode(args: argparse.Namespace) -> ClockMode:
    mode: ClockMode = args.clock or ("manual" if args.seed is not None else "real")
    return mode


def serve(args: argparse.Namespace) -> int:
    start = MANUAL_EPOCH if args.seed is not None else None
    settings = Settings(
        fixtures=args.fixtures,
        seed=args.seed,
        api_keys=frozenset(args.api_keys) if args.api_keys else None,
        clock=VirtualClock(_clock_mode(args), args.speed or 1.0, start),
        public_url=args.public_url,
    )
    try:
        app = build_app(settings)
    except (FixtureError, SpecMismatch) as exc:
        print(f"connectors-mock: cannot start: {exc}", file=sys.stderr)
        return 2
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        print(f"connectors-mock: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    config = uvicorn.Config(app, log_level="warning", access_log=args.access_log, server_header=False)
    if args.access_log:
        # Only the request lines: uvicorn's own start-up chatter stays at warning.
        access = logging.getLogger("uvicorn.access")
        access.setLevel(logging.INFO)
        access.addFilter(_without_query)
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal to whatever
    # handler was there before; this one turns a requested stop into exit status 0, so
    # `kill $pid; wait $pid` under `set -e` does not fail a CI script.
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, _exit_cleanly)
    _Server(config).run(sockets=[sock])
    return 0


def _without_query(record: logging.LogRecord) -> bool:
    """Query strings carry OAuth codes and states (`/_mock/oauth/callback?code=...`): the
    access log keeps the path only. uvicorn's args are (client, method, path, version, status)."""
    if isinstance(record.args, tuple) and len(record.args) == 5:
        client, method, path, version, status = record.args
        record.args = (client, method, str(path).split("?", 1)[0], version, status)
    return True


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "serve":
        if args.speed is not None and _clock_mode(args) == "manual":
            parser.error(
                "--speed sets how fast a real clock runs; a manual clock moves only when advanced (add --clock real)"
            )
        return serve(args)
    return 2  # pragma: no cover - argparse requires a command
