"""Schemathesis's tests of one operation, built when that operation's test runs.

`schema.parametrize()` builds every operation's cases (examples, the coverage phase, the
fuzzing strategy) while pytest collects, in every process: about 10 s of CPU before the first
request, paid again by each xdist worker and by a run that `-k` narrows to one property test.
Here each `test_operation[...]` and `test_operation_coverage[...]` item builds its own part of
its operation's test when it runs, so it is built once, by the worker that runs it, and only
if it runs.
"""

from __future__ import annotations

import time
import unittest
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from schemathesis import Case
    from schemathesis.specs.openapi.schemas import OpenApiSchema as BaseSchema

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def operation_labels(document: dict[str, Any]) -> list[str]:
    """Every operation as schemathesis labels it (`POST /v1/connectors`), in document order:
    read from the document, so importing the tests costs no schemathesis work."""
    return [
        f"{method.upper()} {path}"
        for path, item in document.get("paths", {}).items()
        for method in item
        if method in HTTP_METHODS
    ]


def build(
    schema: BaseSchema, label: str, send: Callable[[Case[Any]], object], *, coverage: bool
) -> tuple[Callable[[], None], float]:
    """The hypothesis test schemathesis would have made for `label`, narrowed to its coverage
    phase (`coverage`) or to the others (the examples and fuzzing), each case passed to `send`,
    and the seconds building it took (the time budget leaves them out).

    One operation is two tests so that xdist can spread it: the coverage phase of the two
    operations that carry connector configs is a third of the suite's work, and the rest of
    them can go to another process meanwhile (plugin.pytest_xdist_make_scheduler)."""
    # What schemathesis's own builder does (`schemathesis.pytest._test_builder`, as its pytest
    # plugin and lazy schemas call it; pinned in pyproject.toml), with the phases chosen: it
    # attaches the examples and the coverage cases and seeds the operation, both tests alike.
    from schemathesis.generation import derive_operation_seed, overrides  # noqa: PLC0415
    from schemathesis.generation.feedback import FeedbackSources  # noqa: PLC0415
    from schemathesis.generation.hypothesis.builder import (  # noqa: PLC0415
        HypothesisTestConfig,
        HypothesisTestMode,
        create_test,
    )
    from schemathesis.pytest._test_builder import enabled_modes  # noqa: PLC0415

    operation = schema.find_operation_by_label(label)
    if operation is None:
        pytest.fail(f"{label} is in openapi.yaml but schemathesis does not list it")

    def test_case(case: Case[Any]) -> None:
        send(case)

    started = time.monotonic()
    config = schema.config
    modes = [
        mode
        for mode in enabled_modes(config.phases_for(operation=operation))
        if (mode is HypothesisTestMode.COVERAGE) == coverage
    ]
    # Only the fuzzing phase reads max_examples.
    phase = "fuzzing" if HypothesisTestMode.FUZZING in modes else None
    test = create_test(
        operation=operation,
        test_func=test_case,
        config=HypothesisTestConfig(
            settings=config.get_hypothesis_settings(operation=operation, phase=phase),
            explicit_setting_names=config.explicit_hypothesis_settings(operation=operation, phase=phase),
            modes=modes,
            seed=derive_operation_seed(config.seed, operation.label),
            project=config,
            override=overrides.with_config_headers(config, operation=operation),
            given_kwargs={},
            feedback=FeedbackSources(),
        ),
    )
    return test, time.monotonic() - started


def run(test: Callable[[], None]) -> None:
    """Run a built test, and report as schemathesis's plugin reports its own tests: a failed
    check as the failure (the check, the answer, the curl command), a skip as a skip."""
    from schemathesis.core.control import SkipTest  # noqa: PLC0415
    from schemathesis.core.failures import FailureGroup, as_reported_failure  # noqa: PLC0415
    from schemathesis.generation.hypothesis.reporting import ignore_hypothesis_output  # noqa: PLC0415

    __tracebackhide__ = True
    try:
        # Hypothesis would print its "Falsifying example"; the failure already shows the request.
        with ignore_hypothesis_output():
            test()
    except FailureGroup as failures:
        raise as_reported_failure(failures) from None
    except (SkipTest, unittest.SkipTest) as skipped:
        pytest.skip(str(skipped))
