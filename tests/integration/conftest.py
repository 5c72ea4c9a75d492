"""The embedded broker (Tansu) for the whole session, on a free loopback port."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import ExitStack
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

import pytest

from tests.support.services import starting
from tools.services.broker import EmbeddedBroker
from tools.services.http_serving import serving
from tools.services.registry import EmbeddedRegistry


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    log = tmp_path_factory.mktemp("broker") / "tansu.log"
    with ExitStack() as started:
        with starting("The embedded broker (Tansu)", log):
            running = started.enter_context(EmbeddedBroker(log_path=log))
        yield running


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRegistry]:
    """Apicurio Registry (tools/services/registry.py) for the whole session; its url is the Confluent-compatible API."""
    log = tmp_path_factory.mktemp("registry") / "registry.log"
    with ExitStack() as started:
        with starting("The schema registry (Apicurio)", log):
            running = started.enter_context(EmbeddedRegistry(log_path=log))
        yield running


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def feed_server() -> Iterator[str]:
    """tests/integration/feeds/ over HTTP on a free loopback port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(Path(__file__).parent / "feeds"))
    with serving(handler) as url:
        yield url
