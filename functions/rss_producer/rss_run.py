"""One RSS run: fetch feeds concurrently, normalise entries, hand them to the producer."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
import rss_fetch
import rss_items
from producer_common import HEADER_SCHEMA, HEADER_SOURCE, ConfigurationError, OutgoingMessage, SourceResult
from producer_common.env import is_http_url

log = logging.getLogger("rss_producer")

Send = Callable[[OutgoingMessage], None]


def select_feeds(event: Mapping[str, Any] | None, configured: Sequence[str]) -> list[str]:
    """The configured list, or ``detail.feeds``; then the ``detail.shard`` share of it."""
    detail = (event or {}).get("detail") or {}
    if not isinstance(detail, Mapping):
        raise ConfigurationError("detail", "must be an object")
    feeds = list(configured)
    if "feeds" in detail:
        override = detail["feeds"]
        if not isinstance(override, list) or not all(isinstance(u, str) and is_http_url(u) for u in override):
            raise ConfigurationError("detail.feeds", "must be a list of http(s) URLs")
        feeds = list(dict.fromkeys(override))
    if "shard" in detail:
        index, count = _shard(detail["shard"])
        feeds = [url for url in feeds if shard_of(url, count) == index]
    return feeds


def shard_of(url: str, count: int) -> int:
    """A stable shard: the same URL lands in the same shard in every run and process."""
    return int.from_bytes(hashlib.sha256(url.encode()).digest()[:8], "big") % count


def _shard(shard: Any) -> tuple[int, int]:
    if not isinstance(shard, Mapping):
        raise ConfigurationError("detail.shard", 'must be {"index": i, "count": n}')
    index, count = shard.get("index"), shard.get("count")
    if not isinstance(count, int) or not isinstance(index, int) or count < 1 or not 0 <= index < count:
        raise ConfigurationError("detail.shard", f"needs 0 <= index < count, got {dict(shard)!r}")
    return index, count


def produce_feeds(
    feed_urls: Iterable[str],
    session: requests.Session,
    send: Send,
    fetched_at: str,
    concurrency: int = 8,
    timeout_s: float = 10.0,
    max_bytes: int = 5 * 1024 * 1024,
) -> tuple[list[SourceResult], int]:
    """Send one message per distinct entry; returns a result per feed and the duplicates skipped."""

    def load(url: str) -> rss_fetch.ParsedFeed:
        body, headers = rss_fetch.fetch(session, url, timeout_s, max_bytes)
        return rss_fetch.parse(url, body, headers)

    urls = list(feed_urls)
    results: list[SourceResult] = []
    seen: set[str] = set()
    duplicates = 0
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(urls) or 1))) as pool:
        for url, future in [(url, pool.submit(load, url)) for url in urls]:
            try:
                feed = future.result()
            except rss_fetch.FeedError as error:
                log.warning("feed skipped", extra={"feed_url": url, "reason": str(error)})
                results.append(SourceResult(url, "error", error=str(error)))
                continue
            except Exception as error:  # a parser bug on hostile input must not end the run
                log.exception("feed failed", extra={"feed_url": url})
                results.append(SourceResult(url, "error", error=f"unexpected {type(error).__name__}"))
                continue
            if feed.warning:
                log.info("feed is malformed but readable", extra={"feed_url": url, "warning": feed.warning})
            new = 0
            for entry in feed.entries:
                message = rss_items.to_message(url, feed.title, entry, fetched_at)
                if message["id"] in seen:
                    duplicates += 1
                    continue
                seen.add(message["id"])
                send(OutgoingMessage(message["id"], message, {HEADER_SCHEMA: rss_items.SCHEMA, HEADER_SOURCE: url}))
                new += 1
            results.append(SourceResult(url, "ok", items=len(feed.entries), new=new))
    return results, duplicates
