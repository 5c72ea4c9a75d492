"""The handler over a feed list of 10,000 feeds in S3 (a moto server on loopback), split over shards:
each shard reads the whole list and takes its own share; the feeds still in their interval are
not_due without a request, the others are fetched from loopback hosts and delivered."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from producer_common.state import FeedSchedule
from producer_common.state.sqlite import SqliteStateStore

from tools.local.handler import LambdaContext, load_event, load_handler
from tools.services.aws_stand_in import moto_server
from tools.services.broker import EmbeddedBroker, read_topic
from tools.services.feed_hosts import FeedHosts

FEEDS, DUE, SHARDS = 10_000, 200, 4


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


def test_shards_split_a_10000_feed_list_read_from_s3(
    broker: EmbeddedBroker,
    s3_endpoint: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given 10,000 feeds on 20 loopback hosts, exported as OPML into S3
    with FeedHosts(hosts=20, feeds=FEEDS, items=2) as hosts:
        monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="team-lists")
        opml = hosts.write_opml(tmp_path / "feeds.opml")
        s3.put_object(Bucket="team-lists", Key="exports/feeds.opml", Body=opml.read_bytes())
        # and every feed but 200 fetched recently, announcing an hour (their schedules in the state store)
        state = tmp_path / "state.sqlite"
        store = SqliteStateStore(str(state), ttl_s=86_400)
        store.save_schedules({url: FeedSchedule(2e9, 0, 3600.0) for url in hosts.urls[DUE:]})
        store.close()
        topic = f"list-{uuid.uuid4().hex[:6]}"
        for name, value in {
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
            "KAFKA_TOPIC": topic,
            "FEED_LIST_URI": "s3://team-lists/exports/feeds.opml",
            "FEED_URLS": "https://example.org/ignored.xml",
            "STATE_PATH": str(state),
        }.items():
            monkeypatch.setenv(name, value)
        handler = load_handler("rss_producer")
        # When each of 4 shards runs, in one warm container (the list is asked for again, with its ETag)
        summaries: list[dict[str, Any]] = []
        for index in range(SHARDS):
            event = {**load_event("schedule.json"), "detail": {"shard": {"index": index, "count": SHARDS}}}
            summaries.append(handler.lambda_handler(event, LambdaContext()))
    # Then the shards' sources partition the whole list, FEED_URLS playing no part (and said once)
    assert caplog.messages.count("FEED_URLS ignored: FEED_LIST_URI names the feed list") == 1
    shares = [{source["source"] for source in summary["sources"]} for summary in summaries]
    assert sum(len(share) for share in shares) == FEEDS
    assert set().union(*shares) == set(hosts.urls)
    assert all(1_500 < len(share) < 3_500 for share in shares), [len(share) for share in shares]
    # and only the 200 due feeds were fetched, each once, their items delivered
    assert sorted(hosts.requests) == sorted(hosts.urls[:DUE]) and set(hosts.requests.values()) == {1}
    statuses = [source["status"] for summary in summaries for source in summary["sources"]]
    assert (statuses.count("ok"), statuses.count("not_due")) == (DUE, FEEDS - DUE)
    assert sum(summary["produced"] for summary in summaries) == DUE * 2
    assert len(read_topic(broker.bootstrap, topic, timeout_s=30)) == DUE * 2
