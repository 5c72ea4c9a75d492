"""A rotated SCRAM password costs no run: the password is changed on Apache Kafka (Kafka's own
kafka-configs, ConfigCommand, on the jars the suite fetches) and in Secrets Manager (the moto server
of tests/kafka/conftest.py) between two invocations of one warm handler (one process, its module
state and kept secret intact, as in a Lambda container), and the second run delivers everything."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka_runs import SecretsManager, java, kafka_env, read_back, served_items
from producer_common.credentials import clear_cache

from tools.local.handler import LambdaContext, load_event, load_handler
from tools.services.fixture_server import FixtureServer
from tools.services.kafka import ApacheKafka

MECHANISM = "SCRAM-SHA-512"


def set_scram_password(kafka: ApacheKafka, username: str, password: str) -> None:
    """kafka-configs --alter --entity-type users: what an operator (or a rotation Lambda) runs."""
    java(
        *("kafka.admin.ConfigCommand", "--bootstrap-server", kafka.plaintext, "--alter"),
        *("--entity-type", "users", "--entity-name", username),
        *("--add-config", f"{MECHANISM}=[iterations=4096,password={password}]"),
        secret=password,
    )


@pytest.fixture
def fresh_secret_cache() -> Iterator[None]:
    clear_cache()  # a new container: nothing kept from earlier tests in this process
    yield
    clear_cache()


@pytest.mark.usefixtures("fresh_secret_cache")
@pytest.mark.parametrize("client", ["confluent", "kafka-python"])
def test_a_password_rotated_between_warm_runs_costs_no_run(
    apache_kafka: ApacheKafka,
    secrets_manager: SecretsManager,
    feeds: FixtureServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    client: str,
) -> None:
    # Given a SCRAM user of its own, its password in the broker and in a secret
    username, old, new = f"rotating-{uuid.uuid4().hex[:8]}", secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    set_scram_password(apache_kafka, username, old)
    sm = secrets_manager.client
    arn = sm.create_secret(Name=username, SecretString=json.dumps({"username": username, "password": old}))["ARN"]  # type: ignore[attr-defined]
    first_feed, second_feed = feeds.feed_urls()[:2]
    topic = f"rotation-{client}-{uuid.uuid4().hex[:6]}"
    environ = kafka_env(apache_kafka, "SASL_SSL", MECHANISM, client) | secrets_manager.env(arn)
    environ |= {"KAFKA_TOPIC": topic, "FEED_URLS": first_feed, "STATE_PATH": str(tmp_path / "state.sqlite")}
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    handler = load_handler("rss_producer")
    # and a warm container that has run once with it
    first = handler.lambda_handler(load_event("schedule.json"), LambdaContext())
    assert first["status"] == "ok" and first["produced"] == served_items([first_feed])[first_feed]

    # When the password is rotated on the broker and in the secret, well within the kept value's age
    set_scram_password(apache_kafka, username, new)
    sm.put_secret_value(SecretId=arn, SecretString=json.dumps({"username": username, "password": new}))  # type: ignore[attr-defined]
    event = load_event("schedule.json") | {"detail": {"feeds": [second_feed]}}
    second = handler.lambda_handler(event, LambdaContext())

    # Then the next run, in the same container, delivers every item of its feed
    assert second["status"] == "ok" and second["failed"] == 0
    assert second["produced"] == served_items([second_feed])[second_feed] > 0
    assert len(read_back(apache_kafka, topic)) == first["produced"] + second["produced"]
