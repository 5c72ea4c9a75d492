"""The simple way, as a baseline for `make bench`: one request after another, a kafka-python
``send`` per message with a JSON serializer, then flush and close. No state, no batching, no retries,
and no item cleaning (an entry's id, title and link as feedparser gives them).

    python -m tools.bench.baselines rss BOOTSTRAP TOPIC FEED_URL [FEED_URL ...]
    python -m tools.bench.baselines polymarket BOOTSTRAP GAMMA_URL CLOB_URL MARKETS TOPIC

As a whole process (the I and B rows' naive script) it prints how many messages it sent.
"""

from __future__ import annotations

import json
import sys
import time

import feedparser
import requests


def _producer(bootstrap: str) -> object:
    from kafka import KafkaProducer

    return KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        key_serializer=str.encode,
        value_serializer=lambda v: json.dumps(v).encode(),
    )


def simple_rss(bootstrap: str, urls: list[str], topic: str) -> tuple[float, int]:
    """Seconds taken and messages sent, fetching one feed after another."""
    started = time.perf_counter()
    producer = _producer(bootstrap)
    sent = 0
    for url in urls:
        feed = feedparser.parse(requests.get(url, timeout=10).content)
        for entry in feed.entries:
            value = {"id": entry.get("id"), "title": entry.get("title"), "link": entry.get("link")}
            producer.send(topic, key=str(entry.get("id")), value=value)  # type: ignore[attr-defined]
            sent += 1
    producer.flush()  # type: ignore[attr-defined]
    producer.close()  # type: ignore[attr-defined]
    return time.perf_counter() - started, sent


def simple_polymarket(bootstrap: str, gamma: str, clob: str, markets: int, topic: str) -> tuple[float, int]:
    """Seconds taken and messages sent, pricing one token after another with GET /book."""
    started = time.perf_counter()
    producer = _producer(bootstrap)
    listing = {"active": "true", "closed": "false", "limit": str(markets), "order": "volume24hr", "ascending": "false"}
    rows = requests.get(f"{gamma}/markets", params=listing, timeout=10).json()
    sent = 0
    for row in rows:
        try:
            tokens = json.loads(row["clobTokenIds"])
        except (KeyError, ValueError):  # even the simple way must survive a malformed market
            continue
        for token in tokens:
            book = requests.get(f"{clob}/book", params={"token_id": token}, timeout=10)
            if book.status_code != 200:
                continue
            levels = book.json()
            bid = max((float(level["price"]) for level in levels["bids"]), default=None)
            ask = min((float(level["price"]) for level in levels["asks"]), default=None)
            value = {"token_id": token, "market_id": row["id"], "best_bid": bid, "best_ask": ask}
            producer.send(topic, key=token, value=value)  # type: ignore[attr-defined]
            sent += 1
    producer.flush()  # type: ignore[attr-defined]
    producer.close()  # type: ignore[attr-defined]
    return time.perf_counter() - started, sent


def main(kind: str, bootstrap: str, *args: str) -> int:
    if kind == "rss":
        _, sent = simple_rss(bootstrap, list(args[1:]), args[0])
    else:
        gamma, clob, markets, topic = args
        _, sent = simple_polymarket(bootstrap, gamma, clob, int(markets), topic)
    print(sent)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
