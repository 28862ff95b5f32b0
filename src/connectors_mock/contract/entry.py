"""The `pytest11` entry point. pytest loads it in every run wherever connectors-mock is
installed; the contract suite's options and fixtures (`plugin.py`) come only with its extra,
`connectors-mock[contract]`, so without it this module adds nothing and breaks nothing."""

from importlib.util import find_spec

if all(find_spec(name) for name in ("hypothesis", "requests", "schemathesis", "pytest_base_url")):
    from connectors_mock.contract.plugin import *  # noqa: F403 (hooks and fixtures, as pytest finds them)
