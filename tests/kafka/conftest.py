"""The Kafka tier: against a real Apache Kafka broker (the session's ``apache_kafka``), the
recorded feeds served locally, and Secrets Manager served by moto on a free loopback port."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from kafka_runs import SecretsManager

from tests.support.kafka import apache_kafka_node
from tools.services.aws_stand_in import moto_server
from tools.services.fixture_server import FixtureServer
from tools.services.kafka import ApacheKafka

apache_kafka = pytest.fixture(scope="session", name="apache_kafka")(apache_kafka_node)


@pytest.fixture(scope="session")
def feeds() -> Iterator[FixtureServer]:
    with FixtureServer() as server:
        yield server


@pytest.fixture(scope="session")
def secrets_manager(apache_kafka: ApacheKafka) -> Iterator[SecretsManager]:
    import boto3

    with moto_server() as url:
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
