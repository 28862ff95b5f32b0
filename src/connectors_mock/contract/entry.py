"""The `pytest11` entry point. pytest loads it in every run wherever connectors-mock is
installed; the contract suite's options and fixtures (`plugin.py`) come only with its extra,
so without it this module adds nothing and breaks nothing, but a run that names the suite is
told what to install."""

from importlib.util import find_spec

import pytest

if all(find_spec(name) for name in ("hypothesis", "requests", "schemathesis", "pytest_base_url")):
    from connectors_mock.contract.plugin import *  # noqa: F403 (hooks and fixtures, as pytest finds them)
else:

    def pytest_configure(config: pytest.Config) -> None:
        if any(str(arg).startswith("connectors_mock.contract") for arg in config.invocation_params.args):
            from connectors_mock.install import install_command  # noqa: PLC0415

            raise pytest.UsageError(f"the contract suite needs the contract extra: {install_command('contract')}")
