"""The RSS handler end to end: real HTTP, real broker, the contract's summary and messages."""

from __future__ import annotations

import uuid

import pytest

from tools.local.handler import LambdaContext, load_event, load_handler
from tools.services.broker import EmbeddedBroker, read_topic


@pytest.mark.parametrize("client", ["confluent", "kafka-python"])
def test_one_message_per_item_and_a_bad_feed_reported(
    broker: EmbeddedBroker, feed_server: str, monkeypatch: pytest.MonkeyPatch, client: str
) -> None:
    # Given two good feeds (5 items) and an HTML page among them
    topic = f"rss-{client}-{uuid.uuid4().hex[:6]}"
    feeds = [f"{feed_server}/world.xml", f"{feed_server}/not_a_feed.html", f"{feed_server}/science.atom"]
    for name, value in {
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
        "KAFKA_TOPIC": topic,
        "KAFKA_CLIENT": client,
        "FEED_URLS": ",".join(feeds),
    }.items():
        monkeypatch.setenv(name, value)
    handler = load_handler("rss_producer")
    # When the scheduled event arrives
    summary = handler.lambda_handler(load_event("schedule.json"), LambdaContext())
    # Then five messages were acknowledged and the HTML page is the one error
    assert (summary["function"], summary["status"], summary["produced"], summary["failed"]) == ("rss", "partial", 5, 0)
    assert [s["status"] for s in summary["sources"]] == ["ok", "error", "ok"]
    assert summary["sources"][1]["error"].startswith("not a feed")
    messages = read_topic(broker.bootstrap, topic)
    assert len(messages) == 5
    by_title = {m["value"]["title"]: m for m in messages}
    comet = by_title["Comet returns"]
    assert comet["key"] == comet["value"]["id"]
    assert comet["headers"] == {"schema": "rss_item/1", "source": feeds[2]}
    assert comet["value"]["link"] == "https://science.example/notes/comet"
    assert comet["value"]["author"] == "R. Ode"
    assert by_title["Rail strike ends"]["value"]["published_at"] == "2026-11-22T15:30:00Z"
