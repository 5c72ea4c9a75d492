"""The naive way to put a feed into Kafka, as a whole process: the baseline of `make bench`'s I rows.

    python -m tools.naive_rss BOOTSTRAP TOPIC FEED_URL

requests to fetch, feedparser to parse, a kafka-python ``send`` per entry, then flush and close.
No state, no retries, no accounting.
"""

from __future__ import annotations

import json
import sys

import feedparser
import requests
from kafka import KafkaProducer


def main(bootstrap: str, topic: str, url: str) -> int:
    feed = feedparser.parse(requests.get(url, timeout=10).content)
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", value_serializer=lambda v: json.dumps(v).encode())
    for entry in feed.entries:
        value = {"id": entry.get("id"), "title": entry.get("title"), "link": entry.get("link")}
        producer.send(topic, key=str(entry.get("id")).encode(), value=value)
    producer.flush()
    producer.close()
    print(len(feed.entries))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
