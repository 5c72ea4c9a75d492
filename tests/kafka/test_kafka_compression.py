"""Every compression the configuration accepts works with the client chosen, on Apache Kafka, or the
pair is refused at start naming both variables. "Works" is read off the broker's own log segment
(Kafka's DumpLogSegments prints each batch's ``compresscodec``), not inferred from a successful send:
a client that silently sent uncompressed batches would pass a read-back."""

from __future__ import annotations

import re
import uuid

import pytest
from kafka_runs import java
from producer_common import ConfigurationError, Deadline, KafkaSettings, OutgoingMessage, open_producer
from producer_common.constants import CLIENT_COMPRESSIONS, CLIENTS, COMPRESSIONS

from tools.services.broker import read_topic
from tools.services.kafka import ApacheKafka

PAIRS = [(client, compression) for client in CLIENTS for compression in COMPRESSIONS]
MESSAGES = 50


def batch_codecs(kafka: ApacheKafka, topic: str) -> set[str]:
    """The codec of every record batch of the topic's partition 0, as the broker stored it."""
    segment = next((kafka.directory / "data" / f"{topic}-0").glob("*.log"))
    return set(re.findall(r"compresscodec: (\w+)", java("kafka.tools.DumpLogSegments", "--files", str(segment))))


def settings_for(kafka: ApacheKafka, client: str, compression: str, topic: str) -> KafkaSettings:
    environ = {"KAFKA_BOOTSTRAP_SERVERS": kafka.plaintext, "KAFKA_CLIENT": client, "KAFKA_COMPRESSION": compression}
    return KafkaSettings.from_env(environ | {"KAFKA_TOPIC": topic})


@pytest.mark.parametrize(("client", "compression"), PAIRS)
def test_each_accepted_codec_reaches_the_broker_and_the_rest_are_refused(
    apache_kafka: ApacheKafka, client: str, compression: str
) -> None:
    topic = f"codec-{client}-{compression}-{uuid.uuid4().hex[:6]}"
    if compression not in CLIENT_COMPRESSIONS[client]:
        # Given a pair the layer cannot serve, When the settings are read, Then start fails naming both variables
        with pytest.raises(ConfigurationError) as refused:
            settings_for(apache_kafka, client, compression, topic)
        assert refused.value.variable == "KAFKA_COMPRESSION" and f"KAFKA_CLIENT={client}" in str(refused.value)
        return
    # Given the client with that compression
    settings = settings_for(apache_kafka, client, compression, topic)

    # When it sends a batch of compressible messages
    with open_producer(settings, Deadline(fallback_s=60)) as producer:
        for n in range(MESSAGES):
            producer.send(OutgoingMessage(f"key-{n}", {"n": n, "text": "the same words again " * 20}))
    assert producer.report.ok, producer.report.reasons()

    # Then every message reads back, and the broker stored batches in that codec
    assert sorted(m["value"]["n"] for m in read_topic(apache_kafka.plaintext, topic, timeout_s=30)) == list(
        range(MESSAGES)
    )
    assert batch_codecs(apache_kafka, topic) == {compression}
