"""The Kafka tier: against a real Apache Kafka broker (the session's ``apache_kafka``), the
recorded feeds served locally, and Secrets Manager served by moto on a free loopback port."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from kafka_runs import SecretsManager

from tests.support.services import starting
from tools.services.fixture_server import FixtureServer
from tools.services.kafka import ApacheKafka, running_kafka


@pytest.fixture(scope="session")
def apache_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApacheKafka]:
    """A real Apache Kafka node (tools/services/kafka.py: PLAINTEXT, SSL, SASL_SSL) for the whole session.
    A test that kills it restarts it before it ends."""
    directory = tmp_path_factory.mktemp("apache-kafka")
    with ExitStack() as started:
        with starting("Apache Kafka", directory / "kafka.log"):
            kafka = started.enter_context(running_kafka(directory))
        yield kafka


@pytest.fixture(scope="session")
def feeds() -> Iterator[FixtureServer]:
    with FixtureServer() as server:
        yield server


@pytest.fixture(scope="session")
def secrets_manager(apache_kafka: ApacheKafka) -> Iterator[SecretsManager]:
    import boto3

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # moto's advice to install moto[server], which we do
        from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        client = boto3.client(
            "secretsmanager",
            region_name="us-east-1",
            endpoint_url=url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        secret_ids = {
            mechanism: client.create_secret(
                Name=f"AmazonMSK_{mechanism.lower()}",
                SecretString=json.dumps({"username": user.username, "password": user.password}),
            )["ARN"]
            for mechanism, user in apache_kafka.users.items()
        }
        yield SecretsManager(url, secret_ids, client)
    finally:
        server.stop()
