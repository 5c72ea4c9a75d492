"""The RSS producer at the scale it is built for: 200 feeds of 30 items, 100 ms per request,
on the embedded broker; then an unchanged second run, a broker outage, and sharding."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from producer_common import DeliveryError

from tools.local.handler import LambdaContext, load_event, load_handler
from tools.services.broker import EmbeddedBroker, read_topic
from tools.services.fixture_server import FixtureServer

FEEDS, ITEMS = 200, 30


@pytest.fixture(scope="module")
def feeds() -> Iterator[FixtureServer]:
    with FixtureServer(latency_ms=100, synthetic_feeds=FEEDS, items=ITEMS) as server:
        yield server


def configure(monkeypatch: pytest.MonkeyPatch, bootstrap: str, topic: str, urls: list[str], state: Path) -> None:
    for name, value in {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "KAFKA_TOPIC": topic,
        "FEED_URLS": ",".join(urls),
        "STATE_PATH": str(state),
        "FETCH_CONCURRENCY": "16",
        "FETCH_PER_HOST": "16",  # one local server stands for 200 feed hosts
        "KAFKA_DELIVERY_TIMEOUT_S": "5",
    }.items():
        monkeypatch.setenv(name, value)


def invoke(event: dict[str, Any] | None = None) -> dict[str, Any]:
    return load_handler("rss_producer").lambda_handler(event or load_event("schedule.json"), LambdaContext())  # type: ignore[no-any-return]


def test_200_feeds_then_an_unchanged_second_run(
    broker: EmbeddedBroker, feeds: FixtureServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 200 feeds of 30 items behind 100 ms of latency
    topic = f"scale-{uuid.uuid4().hex[:6]}"
    configure(monkeypatch, broker.bootstrap, topic, feeds.synthetic_feed_urls(), tmp_path / "state.sqlite")
    # When the producer runs twice
    first = invoke()
    second = invoke()
    # Then the first run delivers all 6,000 items, the second none, every feed answering 304
    assert (first["status"], first["produced"], first["failed"]) == ("ok", FEEDS * ITEMS, 0)
    assert len(read_topic(broker.bootstrap, topic, timeout_s=30)) == FEEDS * ITEMS
    assert (second["status"], second["produced"]) == ("ok", 0)
    assert {source["status"] for source in second["sources"]} == {"not_modified"}


def test_a_run_with_the_broker_down_is_redone_in_full_by_the_next(
    broker: EmbeddedBroker, feeds: FixtureServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    urls, topic, state = feeds.synthetic_feed_urls()[:20], f"outage-{uuid.uuid4().hex[:6]}", tmp_path / "s.sqlite"
    # Given a broker that cannot be reached
    configure(monkeypatch, "127.0.0.1:9", topic, urls, state)
    started = time.monotonic()
    with pytest.raises(DeliveryError, match=f"{20 * ITEMS} of {20 * ITEMS} messages were not delivered"):
        invoke()
    assert time.monotonic() - started < 15  # the 5 s delivery timeout, not the Lambda's 300 s
    # When the broker is back
    configure(monkeypatch, broker.bootstrap, topic, urls, state)
    summary = invoke()
    # Then nothing had been marked seen: every item is delivered now
    assert summary["produced"] == 20 * ITEMS
    assert len(read_topic(broker.bootstrap, topic)) == 20 * ITEMS


def test_shards_cover_every_feed_exactly_once(
    broker: EmbeddedBroker, feeds: FixtureServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    urls = feeds.synthetic_feed_urls()[:30]
    configure(monkeypatch, broker.bootstrap, f"shards-{uuid.uuid4().hex[:6]}", urls, tmp_path / "s.sqlite")
    covered: list[str] = []
    for index in range(3):
        event = {**load_event("schedule.json"), "detail": {"shard": {"index": index, "count": 3}}}
        covered += [source["source"] for source in invoke(event)["sources"]]
    assert sorted(covered) == sorted(urls)
