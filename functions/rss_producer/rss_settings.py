"""RSS producer settings, validated once per container."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import rss_bounds
import rss_parse
import rss_run
from producer_common import KafkaSettings
from producer_common import env as read

FEED_URLS = "FEED_URLS"
FETCH_CONCURRENCY = "FETCH_CONCURRENCY"
FETCH_TIMEOUT_S = "FETCH_TIMEOUT_S"
MAX_FEED_BYTES = "MAX_FEED_BYTES"
FEED_MAX_ITEMS = "FEED_MAX_ITEMS"
FEED_PARSER = "FEED_PARSER"
FEED_ALLOW_PRIVATE_ADDRESSES = "FEED_ALLOW_PRIVATE_ADDRESSES"
DEFAULT_TOPIC = "rss.items"


@dataclass(frozen=True)
class RssSettings:
    kafka: KafkaSettings
    feed_urls: tuple[str, ...]
    fetch_concurrency: int = 16
    fetch_timeout_s: float = 10.0
    max_feed_bytes: int = 5 * 1024 * 1024
    max_items: int = rss_run.DEFAULT_MAX_ITEMS  # per feed, the newest
    feed_parser: str = rss_parse.FAST
    allow_private_addresses: bool = False  # redirects from public feeds to private addresses

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RssSettings:
        e = os.environ if environ is None else environ
        return cls(
            kafka=KafkaSettings.from_env(e, default_topic=DEFAULT_TOPIC),
            feed_urls=tuple(read.url_list(e, FEED_URLS)),
            fetch_concurrency=read.integer(e, FETCH_CONCURRENCY, 16, 1, 64),
            fetch_timeout_s=read.number(e, FETCH_TIMEOUT_S, 10.0, 0.1, 120),
            max_feed_bytes=read.integer(e, MAX_FEED_BYTES, 5 * 1024 * 1024, 1024, 100 * 1024 * 1024),
            max_items=read.integer(e, FEED_MAX_ITEMS, rss_run.DEFAULT_MAX_ITEMS, 1, rss_bounds.MAX_PARSED_ENTRIES),
            feed_parser=read.choice(e, FEED_PARSER, rss_parse.PARSERS, rss_parse.FAST) or rss_parse.FAST,
            allow_private_addresses=read.choice(e, FEED_ALLOW_PRIVATE_ADDRESSES, ("true", "false"), "false") == "true",
        )
