"""A message the broker refuses for good (issue 22): on a topic whose max.message.bytes is smaller
than some of the recorded feeds' messages, Apache Kafka answers MESSAGE_TOO_LARGE. The run reports
those messages failed with the broker's reason and returns (a retry would fail the same way), and
the next run on the same state sends none of them again."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from kafka_runs import invoke_rss, kafka_env, new_topic, read_back, served_items

from tools.services.fixture_server import FixtureServer
from tools.services.kafka import ApacheKafka

MAX_MESSAGE_BYTES = 500  # the recorded feeds' messages are 336 to 605 bytes of JSON: some fit, some never will


@pytest.mark.parametrize("client", ["confluent", "kafka-python"])
def test_messages_the_broker_refuses_as_too_large_are_reported_not_retried(
    apache_kafka: ApacheKafka, feeds: FixtureServer, tmp_path: Path, client: str
) -> None:
    # Given a topic that takes no record batch over 500 bytes, and the recorded feeds
    topic = new_topic(apache_kafka, "refusing", config={"max.message.bytes": str(MAX_MESSAGE_BYTES)})
    state, feed_urls = tmp_path / "state.sqlite", feeds.feed_urls()
    env = kafka_env(apache_kafka, "PLAINTEXT", None, client)
    env |= {"KAFKA_TOPIC": topic, "FEED_URLS": ",".join(feed_urls), "KAFKA_COMPRESSION": "none"}
    expected = sum(served_items(feed_urls).values())
    # When the function runs
    first = invoke_rss(env, state)
    # Then it returns (no DeliveryError), counting the refused messages as failed with the broker's reason
    assert first.exit_code == 0, first.log_text[-3000:]
    summary = first.value
    assert summary["failed"] > 0 and summary["produced"] + summary["failed"] == expected
    assert summary["status"] == "partial"
    refused = first.logged("messages refused for good, not retried")
    assert all(re.search("too ?large", reason, re.IGNORECASE) for reason in refused["reasons"]), refused
    assert len(read_back(apache_kafka, topic)) == summary["produced"]
    # When it runs again on the same state, Then nothing is sent again: delivered and refused alike are done
    second = invoke_rss(env, state)
    assert second.exit_code == 0, second.log_text[-3000:]
    assert (second.value["produced"], second.value["failed"]) == (0, 0)
