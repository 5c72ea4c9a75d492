"""The security matrix on Apache Kafka: both backends over PLAINTEXT, SSL and SASL_SSL with PLAIN,
SCRAM-SHA-256 and SCRAM-SHA-512, credentials from Secrets Manager and from the environment. Each
cell runs the RSS handler through tools/local/invoke.py and reads every message back from the broker."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from kafka_runs import SecretsManager, assert_delivers_everything, kafka_env

from tools.services.fixture_server import FixtureServer
from tools.services.kafka import MECHANISMS, ApacheKafka

CELLS = [
    pytest.param("PLAINTEXT", None, None, id="PLAINTEXT"),
    pytest.param("SSL", None, None, id="SSL"),
    *(
        pytest.param("SASL_SSL", mechanism, source, id=f"SASL_SSL-{mechanism}-{source}")
        for mechanism in MECHANISMS
        for source in ("secret", "env")
    ),
]


@pytest.mark.parametrize("client", ["confluent", "kafka-python"])
@pytest.mark.parametrize(("protocol", "mechanism", "credentials"), CELLS)
def test_every_item_reaches_apache_kafka(
    apache_kafka: ApacheKafka,
    feeds: FixtureServer,
    secrets_manager: SecretsManager,
    tmp_path: Path,
    client: str,
    protocol: str,
    mechanism: str | None,
    credentials: str | None,
) -> None:
    # Given the handler configured for one listener, with credentials from one place
    topic = f"matrix-{uuid.uuid4().hex[:8]}"
    feed_urls = feeds.feed_urls()
    env = kafka_env(apache_kafka, protocol, mechanism, client) | {"KAFKA_TOPIC": topic}
    if mechanism and credentials == "secret":
        env |= secrets_manager.env(secrets_manager.secret_ids[mechanism])
    elif mechanism:
        user = apache_kafka.users[mechanism]
        env |= {"KAFKA_USERNAME": user.username, "KAFKA_PASSWORD": user.password}
    # When the function is invoked as `make invoke` does, Then every distinct item of every feed was
    # acknowledged, and is on the topic as the contract says
    run = assert_delivers_everything(apache_kafka, env, tmp_path / "state.sqlite", feed_urls)
    if mechanism:  # the password is in no output
        assert apache_kafka.users[mechanism].password not in run.text
