"""One key, one partition, whoever sends it: both backends and Apache Kafka's own Java client put
each key of a 12-partition topic on the same partition (murmur2 of the key, the contract's
"Messages" section). The Java side is kafka-clients itself (tests/kafka/java/KeyedProducer.java,
run on the jars tools/services/kafka_setup.py fetches), not a re-implementation of its hash."""

from __future__ import annotations

from pathlib import Path

import pytest
from kafka_runs import java, new_topic
from producer_common import Deadline, KafkaSettings, OutgoingMessage, open_producer

from tools.services.broker import read_topic
from tools.services.kafka import ApacheKafka

PARTITIONS = 12
KEYS = [f"key-{n}" for n in range(200)] + ["https://example.org/item?id=7", "0xabc", "ü-non-ascii"]
JAVA_PRODUCER = Path(__file__).parent / "java" / "KeyedProducer.java"


def partitions_by_key(kafka: ApacheKafka, topic: str) -> dict[str, int]:
    messages = read_topic(kafka.plaintext, topic, timeout_s=30)
    assert len(messages) == len(KEYS)
    return {message["key"]: message["partition"] for message in messages}


def java_partitions(kafka: ApacheKafka) -> dict[str, int]:
    topic = new_topic(kafka, "partitioning", PARTITIONS)
    printed = java(str(JAVA_PRODUCER), kafka.plaintext, topic, stdin="\n".join(KEYS) + "\n")
    placed = partitions_by_key(kafka, topic)
    assert placed == {key: int(partition) for key, partition in (line.split("\t") for line in printed.splitlines())}
    return placed


@pytest.fixture(scope="module")
def java_placement(apache_kafka: ApacheKafka) -> dict[str, int]:
    return java_partitions(apache_kafka)


@pytest.mark.parametrize("client", ["confluent", "kafka-python"])
def test_each_key_goes_where_the_java_client_puts_it(
    apache_kafka: ApacheKafka, java_placement: dict[str, int], client: str
) -> None:
    # Given a 12-partition topic, and where Apache Kafka's Java client put each key on another one
    topic = new_topic(apache_kafka, "partitioning", PARTITIONS)
    settings = KafkaSettings.from_env(
        {"KAFKA_BOOTSTRAP_SERVERS": apache_kafka.plaintext, "KAFKA_TOPIC": topic, "KAFKA_CLIENT": client}
    )

    # When the backend sends one message per key
    with open_producer(settings, Deadline(fallback_s=60)) as producer:
        for key in KEYS:
            producer.send(OutgoingMessage(key, {"key": key}))
    assert producer.report.ok, producer.report.reasons()

    # Then every key sits on the partition the Java client chose, and the keys spread over all 12
    placed = partitions_by_key(apache_kafka, topic)
    assert placed == java_placement
    assert set(placed.values()) == set(range(PARTITIONS))
