"""On Apache Kafka too, one message waits on no client timer (see tests/integration/test_no_timer_wait.py).

Apache Kafka answers a metadata request that names no topic with no topic, where the embedded
broker lists them all: kafka-python's wait for its topic's metadata shows only here."""

from __future__ import annotations

import uuid

import pytest
from producer_common import Deadline, KafkaSettings, OutgoingMessage, open_producer
from producer_common.backends.kafka_python import KafkaPythonBackend

from tests.support.timer_waits import send_one, what_ran_the_producer_id_request
from tools.services.kafka import ApacheKafka


def test_confluent_gets_its_producer_id_from_a_metadata_answer(
    apache_kafka: ApacheKafka, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines, report = send_one(apache_kafka.plaintext, caplog, monkeypatch)
    assert report.ok and report.acknowledged == ("key",)
    assert what_ran_the_producer_id_request(lines) == "metadata answer"


def test_kafka_python_has_its_topic_metadata_before_the_first_send(apache_kafka: ApacheKafka) -> None:
    """kafka-python holds a metadata refresh back until retry_backoff_ms (100 ms) after the one
    before, its bootstrap's: the topic must come with the bootstrap's answer, not a later one."""
    # Given an existing topic
    topic = f"no-timer-kp-{uuid.uuid4().hex[:8]}"
    settings = KafkaSettings.from_env(
        {"KAFKA_BOOTSTRAP_SERVERS": apache_kafka.plaintext, "KAFKA_TOPIC": topic, "KAFKA_CLIENT": "kafka-python"}
    )
    with open_producer(settings, Deadline(fallback_s=30)) as producer:
        producer.send(OutgoingMessage("create", {"n": 0}))
    assert producer.report.ok
    # When a backend is opened, before anything is sent
    settled: dict[int, str | None] = {}
    backend = KafkaPythonBackend(settings, None, 5.0, settled.setdefault)
    try:
        # Then its client already knows the topic's partitions
        assert backend._producer._metadata.partitions_for_topic(topic)
    finally:
        backend.close(1.0)
