"""The naive way to put feeds into Kafka, as a whole process: the baseline of `make bench`'s I and B rows.

    python -m tools.bench.naive_rss BOOTSTRAP TOPIC FEED_URL [FEED_URL ...]

requests to fetch one feed after another, feedparser to parse, a kafka-python ``send`` per entry,
then flush and close. No state, no retries, no accounting. Prints how many entries it sent.
"""

from __future__ import annotations

import json
import sys

import feedparser
import requests
from kafka import KafkaProducer


def main(bootstrap: str, topic: str, *urls: str) -> int:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", value_serializer=lambda v: json.dumps(v).encode())
    sent = 0
    for url in urls:
        feed = feedparser.parse(requests.get(url, timeout=10).content)
        for entry in feed.entries:
            value = {"id": entry.get("id"), "title": entry.get("title"), "link": entry.get("link")}
            producer.send(topic, key=str(entry.get("id")).encode(), value=value)
            sent += 1
    producer.flush()
    producer.close()
    print(sent)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
