"""Which feeds a run takes: the configured list, the event's override, a stable shard."""

from __future__ import annotations

import pytest
import rss_run
from producer_common import ConfigurationError

FEEDS = [f"https://feeds.example/{i}.xml" for i in range(200)]


def test_configured_feeds_without_detail() -> None:
    assert rss_run.select_feeds({"detail": {}}, FEEDS[:3]) == FEEDS[:3]
    assert rss_run.select_feeds(None, FEEDS[:1]) == FEEDS[:1]


def test_event_feeds_override_the_configuration() -> None:
    event = {"detail": {"feeds": ["https://a.example/x", "https://a.example/x", "https://b.example/y"]}}
    assert rss_run.select_feeds(event, FEEDS) == ["https://a.example/x", "https://b.example/y"]


def test_shards_cover_every_feed_exactly_once_and_are_stable() -> None:
    shards = [rss_run.select_feeds({"detail": {"shard": {"index": i, "count": 4}}}, FEEDS) for i in range(4)]
    assert sorted(url for shard in shards for url in shard) == sorted(FEEDS)
    assert all(20 < len(shard) < 80 for shard in shards)
    # the same feed lands in the same shard whatever the rest of the list is
    assert rss_run.select_feeds({"detail": {"shard": {"index": 1, "count": 4}}}, FEEDS[::-1]) == shards[1][::-1]


@pytest.mark.parametrize(
    ("detail", "name"),
    [
        ({"feeds": "https://one.example"}, "detail.feeds"),
        ({"feeds": ["ftp://x"]}, "detail.feeds"),
        ({"shard": {"index": 4, "count": 4}}, "detail.shard"),
        ({"shard": {"index": 0}}, "detail.shard"),
        ({"shard": [0, 2]}, "detail.shard"),
    ],
)
def test_bad_overrides_name_the_field(detail: dict[str, object], name: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        rss_run.select_feeds({"detail": detail}, FEEDS)
    assert caught.value.variable == name
