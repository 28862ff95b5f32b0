"""The suite's command-line options, read once into `ContractOptions`. Their parsers serve
`connectors-mock verify` too, which imports this module without pytest installed."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pytest

# Each option may come from the environment instead, so CI can keep keys in secrets.
ENVIRONMENT = {
    "api_key": "CONNECTORS_API_KEY",
    "api_key_b": "CONNECTORS_API_KEY_B",
    "collection": "CONNECTORS_COLLECTION",
}
DEFAULT_MAX_EXAMPLES = 25
DEFAULT_SEED = 0
DEFAULT_TIME_BUDGET = 600.0
DEFAULT_JOB_TIMEOUT = 60.0


@dataclass(frozen=True)
class ContractOptions:
    base_url: str | None
    api_key: str | None = field(repr=False)
    api_key_b: str | None = field(repr=False)
    collection: str | None
    max_examples: int
    seed: int
    time_budget: float
    job_timeout: float


def positive_integer(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return value


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("connectors-contract", "connectors-mock contract suite")
    group.addoption("--api-key", help=f"the API key the suite acts with (or ${ENVIRONMENT['api_key']})")
    group.addoption(
        "--api-key-b",
        help=f"a key of another team, to check tenant isolation (or ${ENVIRONMENT['api_key_b']}); skipped without",
    )
    group.addoption(
        "--collection",
        help=f"an existing collection to create connectors in (or ${ENVIRONMENT['collection']}); "
        "default: the collection of a connector the key can list",
    )
    group.addoption(
        "--max-examples",
        type=positive_integer,
        default=DEFAULT_MAX_EXAMPLES,
        help=f"generated requests per operation and per property (default {DEFAULT_MAX_EXAMPLES})",
    )
    group.addoption(
        "--contract-seed",
        type=int,
        default=DEFAULT_SEED,
        help=f"seed for every generated request; the same seed repeats a run (default {DEFAULT_SEED})",
    )
    group.addoption(
        "--time-budget",
        type=seconds,
        default=DEFAULT_TIME_BUDGET,
        help=f"seconds after which the remaining tests are skipped (default {DEFAULT_TIME_BUDGET:g})",
    )
    group.addoption(
        "--job-timeout",
        type=seconds,
        default=DEFAULT_JOB_TIMEOUT,
        help=f"seconds a sync job may take to finish (default {DEFAULT_JOB_TIMEOUT:g})",
    )


def _option_or_environment(config: pytest.Config, name: str) -> str | None:
    value: str | None = config.getoption(name)
    return value or os.environ.get(ENVIRONMENT[name]) or None


def read_options(config: pytest.Config) -> ContractOptions:
    return ContractOptions(
        base_url=config.getoption("base_url", None) or None,
        api_key=_option_or_environment(config, "api_key"),
        api_key_b=_option_or_environment(config, "api_key_b"),
        collection=_option_or_environment(config, "collection"),
        max_examples=config.getoption("max_examples"),
        seed=config.getoption("contract_seed"),
        time_budget=config.getoption("time_budget"),
        job_timeout=config.getoption("job_timeout"),
    )
