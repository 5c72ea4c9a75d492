"""What every tier shares: function code on the path, messages checked
against schemas/, a service that cannot start reported once, and each test marked with its tier."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.services import pytest_runtest_makereport  # noqa: F401 (a hook)
from tools.local.handler import FUNCTIONS

TESTS = Path(__file__).resolve().parent
TIERS = ("unit", "integration", "kafka", "deploy", "airflow", "template", "docs")  # markers in pyproject.toml

# Lambda puts a function's code directory first on the path; the tests put both,
# which is why module names are unique across functions (except each `app`).
for function_dir in (FUNCTIONS / "rss_producer", FUNCTIONS / "polymarket_producer"):
    if str(function_dir) not in sys.path:
        sys.path.insert(0, str(function_dir))


# Every message the suite produces is checked against schemas/ (an autouse fixture and two hooks).
from tests.message_schemas import messages_fit_their_schemas  # noqa: E402, F401


@pytest.fixture(autouse=True)
def _package_loggers_as_found() -> Iterator[None]:
    """A handler run in process copies Powertools' handler, bound to this test's captured stdout, onto
    the producer_common loggers; later tests must not log into that stream once pytest closed it."""

    def handlers() -> dict[str, list[logging.Handler]]:
        return {
            name: list(logger.handlers)
            for name, logger in logging.root.manager.loggerDict.items()
            if name.startswith("producer_common") and isinstance(logger, logging.Logger)
        }

    before = handlers()
    yield
    for name, now in handlers().items():
        for handler in now:
            if handler not in before.get(name, []):
                logging.getLogger(name).removeHandler(handler)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test carries its tier's marker, the folder it lives in under tests/ (`-m kafka`, `-m "not deploy"`)."""
    for item in items:
        path = Path(item.path).resolve()
        if not path.is_relative_to(TESTS):
            continue  # a test the suite's own tests generate and run elsewhere
        tier = path.relative_to(TESTS).parts[0]
        if tier not in TIERS:
            raise pytest.UsageError(f"{item.nodeid} lives in no tier's folder ({', '.join(TIERS)})")
        item.add_marker(tier)
