"""Shared test helpers: function code on the path, handler loading, events, a Lambda context,
Apache Kafka for the session."""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import tools.services.broker
import tools.services.schema_catalog
from tests.support.services import pytest_runtest_makereport, starting  # noqa: F401 (a hook)
from tools.services.kafka import ApacheKafka, running_kafka

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ROOT / "functions"
EVENTS = ROOT / "events"
FIXTURES = ROOT / "tests" / "fixtures"

# Lambda puts a function's code directory first on the path; the tests put both,
# which is why module names are unique across functions (except each `app`).
for function_dir in (FUNCTIONS / "rss_producer", FUNCTIONS / "polymarket_producer"):
    if str(function_dir) not in sys.path:
        sys.path.insert(0, str(function_dir))


# The old names of two modules, still used by the files the schemas work owns (tests/message_schemas.py,
# tests/unit/schemas/); the same module objects, so a patch through either name reaches both.
for _old_name, _module in (("broker", tools.services.broker), ("schema_catalog", tools.services.schema_catalog)):
    sys.modules.setdefault(f"tools.{_old_name}", _module)
    setattr(tools, _old_name, _module)

# Every message the suite produces is checked against schemas/ (an autouse fixture and two hooks).
from tests.message_schemas import messages_fit_their_schemas  # noqa: E402, F401


def load_handler(function: str) -> ModuleType:
    """A fresh import of functions/<function>/app.py under a unique module name."""
    path = FUNCTIONS / function / "app.py"
    spec = importlib.util.spec_from_file_location(f"{function}_app_{uuid.uuid4().hex[:8]}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


class FakeLambdaContext:
    """The attributes Powertools and the handlers read, with a real countdown."""

    def __init__(self, timeout_s: float = 300.0, function_name: str = "test-function") -> None:
        self._end = time.monotonic() + timeout_s
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 256
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._end - time.monotonic()) * 1000))


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


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture(scope="session")
def apache_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApacheKafka]:
    """A real Apache Kafka node (tools/services/kafka.py: PLAINTEXT, SSL, SASL_SSL) for the whole session.
    A test that kills it restarts it before it ends."""
    directory = tmp_path_factory.mktemp("apache-kafka")
    with ExitStack() as started:
        with starting("Apache Kafka", directory / "kafka.log"):
            kafka = started.enter_context(running_kafka(directory))
        yield kafka
