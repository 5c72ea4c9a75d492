"""RssSettings: every variable read once, each bad value named."""

from __future__ import annotations

import pytest
import rss_parse
from producer_common import ConfigurationError
from rss_settings import RssSettings

BASE = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092", "FEED_URLS": "https://a.example/feed.xml"}


def test_defaults() -> None:
    settings = RssSettings.from_env(BASE)
    assert settings.feed_urls == ("https://a.example/feed.xml",)
    assert (settings.fetch_concurrency, settings.fetch_timeout_s) == (16, 10.0)
    assert settings.feed_parser == rss_parse.FAST and settings.kafka.topic == "rss.items"
    assert (settings.feed_list_uri, settings.fetch_per_host, settings.max_items) == (None, 2, 1000)
    assert (settings.cadence.floor_s, settings.cadence.ceiling_s, settings.cadence.backoff_s) == (0.0, 86_400.0, 900.0)
    assert settings.allow_private_addresses is False


@pytest.mark.parametrize("value", rss_parse.PARSERS)
def test_feed_parser_can_be_chosen(value: str) -> None:
    assert RssSettings.from_env({**BASE, "FEED_PARSER": value}).feed_parser == value


def test_the_feed_list_cadence_item_cap_and_redirect_setting_are_read() -> None:
    settings = RssSettings.from_env(
        {
            **BASE,
            "FEED_LIST_URI": "s3://lists/feeds.opml",
            "FETCH_PER_HOST": "4",
            "FEED_MIN_INTERVAL_S": "300",
            "FEED_MAX_INTERVAL_S": "3600",
            "FEED_BACKOFF_S": "60",
            "FEED_MAX_ITEMS": "50",
            "FEED_ALLOW_PRIVATE_ADDRESSES": "true",
        }
    )
    assert (settings.feed_list_uri, settings.fetch_per_host) == ("s3://lists/feeds.opml", 4)
    assert (settings.cadence.floor_s, settings.cadence.ceiling_s, settings.cadence.backoff_s) == (300.0, 3600.0, 60.0)
    assert settings.max_items == 50 and settings.allow_private_addresses is True


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FEED_PARSER", "lxml"),
        ("FEED_LIST_URI", "lists/feeds.opml"),
        ("FETCH_PER_HOST", "0"),
        ("FEED_MAX_INTERVAL_S", "10"),
        ("FEED_MIN_INTERVAL_S", "100000"),  # above the ceiling's default of a day
        ("FEED_MAX_ITEMS", "0"),
        ("FEED_MAX_ITEMS", "10001"),
        ("FEED_MAX_ITEMS", "many"),
        ("FEED_ALLOW_PRIVATE_ADDRESSES", "yes"),
    ],
)
def test_a_bad_value_is_named(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        RssSettings.from_env({**BASE, name: value})
