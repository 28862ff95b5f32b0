"""Shared setup for the scenario tests: scenarios written inline, read as a file would be."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from connectors_mock.scenarios.loader import load_text
from connectors_mock.scenarios.model import Scenario
from connectors_mock.spec import Spec

Load = Callable[[str], Scenario]


@pytest.fixture
def load(spec: Spec) -> Load:
    """A scenario from YAML text, checked exactly as `--scenario` checks a file."""
    return lambda text: load_text(text.encode(), "test.yaml", spec)
