"""The deploy tier's session: one LocalStack on a free port, one `sam build`, the stacks it deploys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.stack import Deployer
from tools.localstack import LocalStack, localstack_python

ROOT = Path(__file__).resolve().parents[2]
# Kept between runs, like tests/template/test_build.py's: sam's build cache needs a fixed build dir.
BUILD_ROOT = ROOT / ".aws-sam" / "deploy-tests"


@pytest.fixture(scope="session")
def localstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    localstack_python()  # a missing venv fails here, naming `make localstack-venv`
    emulator = LocalStack(tmp_path_factory.mktemp("localstack")).start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="session")
def deployer(localstack: LocalStack) -> Deployer:
    deployer = Deployer(localstack)
    deployer.build(BUILD_ROOT)
    return deployer
