"""Both backends against a real broker: keys, headers and JSON values arrive; failures are accounted."""

from __future__ import annotations

import time
import uuid

import pytest
from producer_common import Deadline, KafkaSettings, OutgoingMessage, open_producer

from tools.services.broker import EmbeddedBroker, free_port, read_topic

CLIENTS = ["confluent", "kafka-python"]


def settings_for(bootstrap: str, client: str, topic: str) -> KafkaSettings:
    return KafkaSettings.from_env(
        {
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "KAFKA_CLIENT": client,
            "KAFKA_TOPIC": topic,
            "KAFKA_DELIVERY_TIMEOUT_S": "5",
        }
    )


@pytest.mark.parametrize("client", CLIENTS)
def test_messages_arrive_with_keys_headers_and_json_values(broker: EmbeddedBroker, client: str) -> None:
    # Given a fresh topic and 50 messages
    topic = f"delivery-{client}-{uuid.uuid4().hex[:6]}"
    messages = [
        OutgoingMessage(
            f"key-{i}", {"schema": "test/1", "n": i, "title": "Café ☕"}, {"schema": "test/1", "source": "it"}
        )
        for i in range(50)
    ]
    # When they are sent through the producer
    with open_producer(settings_for(broker.bootstrap, client, topic), Deadline(fallback_s=60)) as producer:
        for message in messages:
            producer.send(message)
    # Then the broker acknowledged every one, and a reader gets them back intact
    assert producer.report.ok and len(producer.report.acknowledged) == 50
    received = {m["key"]: m for m in read_topic(broker.bootstrap, topic)}
    assert len(received) == 50
    sample = received["key-7"]
    assert sample["value"] == {"schema": "test/1", "n": 7, "title": "Café ☕"}
    assert sample["headers"] == {"schema": "test/1", "source": "it"}


@pytest.mark.parametrize("client", CLIENTS)
def test_reports_name_each_message_when_keys_repeat(broker: EmbeddedBroker, client: str) -> None:
    # Given 400 messages over 4 keys, each under its own ref, sent without waiting in between
    topic = f"repeat-{client}-{uuid.uuid4().hex[:6]}"
    refs = [f"ref-{i}" for i in range(400)]
    with open_producer(settings_for(broker.bootstrap, client, topic), Deadline(fallback_s=60)) as producer:
        for i, ref in enumerate(refs):
            producer.send(OutgoingMessage(f"key-{i % 4}", {"n": i}, ref=ref))
    # Then every ref is acknowledged once, in the order sent, and the topic holds each message
    assert producer.report.acknowledged == tuple(refs)
    assert sorted(m["value"]["n"] for m in read_topic(broker.bootstrap, topic)) == list(range(400))


@pytest.mark.parametrize("client", CLIENTS)
def test_unreachable_broker_fails_every_message_within_the_bound(client: str) -> None:
    # Given no broker on the port and 6 s left before the deadline margin
    settings = settings_for(f"127.0.0.1:{free_port()}", client, "nowhere")
    deadline = Deadline(fallback_s=6)
    started = time.monotonic()
    # When 20 messages are sent
    with open_producer(settings, deadline) as producer:
        for i in range(20):
            producer.send(OutgoingMessage(f"k{i}", {"n": i}))
    elapsed = time.monotonic() - started
    # Then each is reported failed, none acknowledged, within the time left (plus closing)
    assert producer.report.acknowledged == ()
    assert len(producer.report.failed) == 20
    assert elapsed < 6 + 3, f"took {elapsed:.1f} s"
