"""What scenarios cost a request they do not fault: the matching done on every request.

    python benchmarks/scenario_overhead.py [--requests 20000] [--repeats 5]

Drives the app in-process (ASGI calls, no sockets, so the network does not drown the
difference) with `GET /v1/connectors/conn_abc123`, under:
- the scenario middleware taken out altogether, the baseline: the other cases show the whole
  cost of the layer, journal included;
- no scenario loaded (the journal and the scenario middleware still run), without and with
  the server's rate-limit plan reported on every answer;
- the seven example scenarios loaded but not active (what a shared test server holds);
- 50 active fault rules that never match the request (matched out by operation);
- 50 active rules that match but never hit (counted calls that never come), which pays for
  counting every call per rule and tenant;
- an active rate limit generous enough never to refuse.
Prints microseconds per request (best of the repeats) and the cost over the first case.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from typing import Any

from connectors_mock import resources
from connectors_mock.app import Settings, build_app
from connectors_mock.scenarios.loader import load_file, load_text
from connectors_mock.scenarios.middleware import ScenarioMiddleware
from connectors_mock.scenarios.model import Scenario
from connectors_mock.spec import Spec, default_spec

PATH = "/v1/connectors/conn_abc123"


def rules(spec: Spec, when: str, match: str, count: int = 50) -> Scenario:
    text = "name: many\nfaults:\n" + f"  - match: {match}\n    when: {when}\n    error: {{status: 503}}\n" * count
    return load_text(text.encode(), "bench", spec)


def cases(spec: Spec) -> dict[str, Callable[[], Any]]:
    examples = [load_file(path, spec) for path in sorted(resources.scenarios_dir().glob("*.yaml"))]

    def loaded_inactive() -> Any:
        app = build_app(Settings(seed=1), spec)
        for scenario in examples:
            app.state.scenarios.load(scenario, activate=False)
        return app

    def without_layer() -> Any:
        app = build_app(Settings(seed=1), spec)
        # The stack is built on the first call, so the layer can still be taken out here.
        app.user_middleware = [m for m in app.user_middleware if m.cls is not ScenarioMiddleware]  # type: ignore[comparison-overlap]
        return app

    generous = load_text(b"name: generous\nrate_limit: {limit: 1000000000, window_seconds: 86400}\n", "bench", spec)
    return {
        "scenario layer removed": without_layer,
        "no scenario, no plan (--rate-limit off)": lambda: build_app(Settings(seed=1, rate_limit=None), spec),
        "no scenario (the plan reported)": lambda: build_app(Settings(seed=1), spec),
        "7 examples loaded, none active": loaded_inactive,
        "50 rules active, none match": lambda: build_app(
            Settings(seed=1, scenarios=(rules(spec, "{}", "{operation: listConnectors}"),)), spec
        ),
        "50 rules match, never hit": lambda: build_app(
            Settings(seed=1, scenarios=(rules(spec, "{calls: [1000000000]}", "{operation: getConnector}"),)), spec
        ),
        "rate limit active, never reached": lambda: build_app(Settings(seed=1, scenarios=(generous,)), spec),
    }


async def drive(app: Any, requests: int) -> float:
    """Seconds for `requests` sequential GETs through the whole ASGI stack."""
    headers = [(b"authorization", b"Bearer bench"), (b"host", b"bench")]
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    began = time.perf_counter()
    for _ in range(requests):
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": PATH,
            "raw_path": PATH.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 8080),
        }
        await app(scope, receive, send)
    elapsed = time.perf_counter() - began
    assert set(statuses) == {200}, f"expected only 200s, got {sorted(set(statuses))}"
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    spec = default_spec()
    apps = {name: make() for name, make in cases(spec).items()}
    for app in apps.values():
        asyncio.run(drive(app, 500))  # warm up: tenants, caches
    best = dict.fromkeys(apps, float("inf"))
    # Interleaved, best of the repeats: a slow moment of the machine hits every case alike.
    for _ in range(args.repeats):
        for name, app in apps.items():
            app.state.journal.clear()  # the same journal length for every case
            best[name] = min(best[name], asyncio.run(drive(app, args.requests)))
    results = {name: seconds / args.requests * 1e6 for name, seconds in best.items()}
    baseline = results["scenario layer removed"]
    print(f"{'case':<36} {'us/request':>10} {'over baseline':>14}")
    for name, micros in results.items():
        print(f"{name:<36} {micros:>10.1f} {micros - baseline:>+11.1f} us")


if __name__ == "__main__":
    main()
