"""The Airflow tier: real Airflow (its own virtual environment) against make start-lambda, the embedded
broker and the fixture server, all started once for the session."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.lambda_endpoint import start_lambda
from tests.support.services import starting
from tools.services import airflow_env
from tools.services.broker import EmbeddedBroker
from tools.services.fixture_server import FixtureServer

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "orchestration" / "airflow" / "dags"


@dataclass(frozen=True)
class Stack:
    bootstrap: str
    fixtures: FixtureServer
    lambda_url: str
    lambda_logs: Path


@pytest.fixture(scope="session")
def airflow_python() -> Path:
    """The Airflow environment's python: created on first use (make airflow-venv does the same)."""
    with starting("Airflow's environment"):
        return airflow_env.ensure()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Broker, fixture server and tools/local/start_lambda.py on free ports, the producers pointed at them."""
    work = tmp_path_factory.mktemp("airflow-stack")
    with ExitStack() as started:
        with starting("The Airflow tier's broker and fixture server", work / "broker.log"):
            broker = started.enter_context(EmbeddedBroker(log_path=work / "broker.log"))
            fixtures = started.enter_context(FixtureServer())
        environ = {
            **os.environ,
            **fixtures.producer_environment(),
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
            "STATE_PATH": str(work / "state.sqlite"),
        }
        logs = work / "start-lambda"
        with start_lambda(environ, logs) as url:
            yield Stack(broker.bootstrap, fixtures, url, logs)


@pytest.fixture(scope="session")
def airflow_environ(airflow_python: Path, stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An Airflow home of its own, its database migrated, the DAG folder and the local AWS connection."""
    home = tmp_path_factory.mktemp("airflow-home")
    connection = {
        "conn_type": "aws",
        "login": "local",
        "password": "local",
        "extra": {"endpoint_url": stack.lambda_url, "region_name": "us-east-1"},
    }
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "AWS_"))},
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_CONN_AWS_PRODUCERS": json.dumps(connection),
    }
    airflow = airflow_python.parent / "airflow"
    with starting("Airflow's database"):
        done = subprocess.run([str(airflow), "db", "migrate"], env=environ, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"airflow db migrate exited with {done.returncode}:\n{done.stderr[-3000:]}")
    return environ
