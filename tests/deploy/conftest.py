"""The deploy tier's session: one LocalStack on a free port, one `sam build`, the stacks it deploys."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.deploy.stack import Deployer
from tests.support.services import starting
from tools.services.localstack import LocalStack, localstack_python


@pytest.fixture(scope="session")
def localstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    root = tmp_path_factory.mktemp("localstack")
    with starting("LocalStack", root / "localstack.log"):
        localstack_python()  # a missing venv fails here, naming `make localstack-venv`
        emulator = LocalStack(root).start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="session")
def deployer(localstack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Deployer:
    deployer = Deployer(localstack)
    with starting("sam build (deploy tier)"):
        deployer.build(tmp_path_factory.mktemp("sam-build"))  # made for this run: no earlier build stands in
    return deployer
