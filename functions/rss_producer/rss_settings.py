"""RSS producer settings, validated once per container."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import rss_bounds
import rss_parse
import rss_run
from producer_common import ConfigurationError, KafkaSettings
from producer_common import env as read
from rss_feed_list import FEED_LIST_URI, check_uri
from rss_schedule import DAY_S, Cadence

FEED_URLS = "FEED_URLS"
FETCH_CONCURRENCY = "FETCH_CONCURRENCY"
FETCH_TIMEOUT_S = "FETCH_TIMEOUT_S"
MAX_FEED_BYTES = "MAX_FEED_BYTES"
FEED_MAX_ITEMS = "FEED_MAX_ITEMS"
FEED_PARSER = "FEED_PARSER"
FEED_ALLOW_PRIVATE_ADDRESSES = "FEED_ALLOW_PRIVATE_ADDRESSES"
FETCH_PER_HOST = "FETCH_PER_HOST"
FEED_MIN_INTERVAL_S = "FEED_MIN_INTERVAL_S"
FEED_MAX_INTERVAL_S = "FEED_MAX_INTERVAL_S"
FEED_BACKOFF_S = "FEED_BACKOFF_S"
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
    feed_list_uri: str | None = None  # wins over feed_urls
    fetch_per_host: int = 2
    cadence: Cadence = field(default_factory=Cadence)

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
            feed_list_uri=check_uri(uri) if (uri := read.optional_str(e, FEED_LIST_URI)) else None,
            fetch_per_host=read.integer(e, FETCH_PER_HOST, 2, 1, 64),
            cadence=_cadence(e),
        )


def _cadence(e: Mapping[str, str]) -> Cadence:
    floor = read.number(e, FEED_MIN_INTERVAL_S, 0.0, 0, 7 * DAY_S)
    ceiling = read.number(e, FEED_MAX_INTERVAL_S, DAY_S, 60, 7 * DAY_S)
    if floor > ceiling:
        problem = f"must not exceed {FEED_MAX_INTERVAL_S} ({ceiling:g}), got {floor:g}"
        raise ConfigurationError(FEED_MIN_INTERVAL_S, problem)
    return Cadence(floor, ceiling, read.number(e, FEED_BACKOFF_S, 900.0, 1, 7 * DAY_S))
