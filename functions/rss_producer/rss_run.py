"""One RSS run: fetch feeds concurrently, keep what is new, send it, and advance state only for what was delivered.

State advances as the run goes (``rss_ledger``): a run killed at any point (out of memory,
Lambda's timeout) sends again at most what was in flight.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from types import MappingProxyType
from typing import Any

import rss_fetch
import rss_identity
import rss_items
import rss_parse
from producer_common import HEADER_SCHEMA, HEADER_SOURCE, ConfigurationError, OutgoingMessage
from producer_common.deadline import Deadline
from producer_common.env import is_http_url
from producer_common.state import StateStore
from rss_fetch import SKIPPED as SKIPPED  # part of the run's API
from rss_fetch import Turns
from rss_ledger import CHECKPOINT_S, Ledger, Settled
from rss_ledger import record_delivery as record_delivery  # part of the run's API
from rss_outcome import FeedRun, RssRun

log = logging.getLogger("rss_producer")

Send = Callable[[OutgoingMessage], None]
DEFAULT_MAX_ITEMS = 1000  # FEED_MAX_ITEMS: the newest this many of a feed's entries are read
# Feeds that arrive together are judged together up to this many items: one read of the state store
# (a DynamoDB BatchGetItem takes 100 keys) where a read a feed cost ~0.3 ms of CPU each (issue 26).
JUDGED_TOGETHER = 100


def select_feeds(event: Mapping[str, Any] | None, configured: Sequence[str]) -> list[str]:
    """The configured list, or ``detail.feeds``; then the ``detail.shard`` share of it."""
    detail = (event or {}).get("detail") or {}
    if not isinstance(detail, Mapping):
        raise ConfigurationError("detail", "must be an object")
    feeds = list(dict.fromkeys(configured))
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
    urls: Sequence[str],
    fetcher: rss_fetch.Fetcher,
    state: StateStore | None,
    send: Send,
    fetched_at: str,
    deadline: Deadline,
    concurrency: int = 16,
    parse: rss_parse.FeedParser = rss_parse.DEFAULT,
    max_items: int = DEFAULT_MAX_ITEMS,
    settled: Settled | None = None,
    turns: Turns | None = None,
    observe: Callable[[str, rss_fetch.Fetched], None] | None = None,
) -> RssRun:
    """Fetch up to ``concurrency`` feeds at once (each host as ``turns`` allows); parse each as it
    arrives and send each new entry once. ``observe`` sees every feed fetched.

    A new fetch starts only while the deadline leaves time for it to finish; the feeds not
    started are reported as skipped. Everything runs on this thread, the fetches too (``rss_fetch``).
    With ``settled``, feeds are recorded as the broker settles their messages (checkpoints);
    without it, ``record_delivery`` records them all from the final report.
    """
    feeds = {url: FeedRun(url) for url in urls}
    known = state.validators(list(urls)) if state else {}
    run = RssRun(list(feeds.values()))
    seen_in_run: set[str] = set()
    reserve_s = fetcher.timeout_s + 2.0  # long enough to fetch and parse one more feed
    ledger = Ledger(state, settled)

    def read(url: str, fetched: rss_fetch.Fetched) -> rss_parse.ParsedFeed:
        """Parsed on this thread, one document at a time, keeping the newest ``max_items`` entries:
        a parse of 10,000 entries peaks near 60 MB, and parses on the pool's threads took that from
        a malloc arena per thread (four feeds of 100,000 items: 258 MB, one thread: 113 MB)."""
        assert fetched.body is not None
        parsed = parse(url, fetched.body, fetched.headers)
        return replace(parsed, entries=newest(parsed.entries, max_items), total=parsed.total or len(parsed.entries))

    pending: list[tuple[FeedRun, list[rss_identity.Item]]] = []  # read, to be judged together

    def judge_and_send() -> None:
        """The pending feeds' items judged against the state store in one batched read, then sent."""
        verdicts = rss_identity.judge([items for _, items in pending], state)
        for (feed, _), judged in zip(pending, verdicts, strict=True):
            _send_judged(feed, judged, send)
            ledger.add(feed)
        pending.clear()

    skipped = 0
    outcomes = fetcher.fetch_all(urls, known, deadline, concurrency, turns, reserve_s, tick_s=CHECKPOINT_S)
    for done in outcomes:
        ledger.checkpoint()
        for url, outcome in done:
            feed = feeds[url]
            try:
                if isinstance(outcome, rss_fetch.FeedError):
                    raise outcome
                fetched = outcome
                if observe is not None:
                    observe(url, fetched)
                parsed = None if fetched.body is None else read(feed.url, fetched)
            except rss_fetch.FeedError as error:
                feed.status, feed.error = "error", str(error)
                if feed.error == SKIPPED:
                    skipped += 1
                else:
                    log.warning("feed skipped", extra={"feed_url": feed.url, "reason": feed.error})
                continue
            except Exception as error:  # a parser bug on hostile input must not end the run
                feed.status, feed.error = "error", f"unexpected {type(error).__name__}"
                log.exception("feed failed", extra={"feed_url": feed.url})
                continue
            feed.latency_s = fetched.latency_s
            if parsed is None:
                feed.status = "not_modified"
                continue
            if parsed.warning:
                log.info("feed is malformed but readable", extra={"feed_url": feed.url, "warning": parsed.warning})
            if parsed.fallback:
                run.reference_parsed += 1
                log.debug("parsed by the reference parser", extra={"feed_url": feed.url, "reason": parsed.fallback})
            feed.validators = fetched.validators
            feed.items = parsed.total or len(parsed.entries)
            feed.dropped = feed.items - len(parsed.entries)
            if feed.dropped:
                log.warning("feed has more items than read", extra={"feed_url": feed.url, "dropped": feed.dropped})
            items, duplicates = _unique_items(feed, parsed.title, parsed.entries, fetched_at, seen_in_run)
            run.duplicates += duplicates
            if pending and sum(len(waiting) for _, waiting in pending) + len(items) > JUDGED_TOGETHER:
                judge_and_send()
            pending.append((feed, items))
        if pending:  # the feeds that arrived together, before the next fetches are waited for
            judge_and_send()
    if skipped:
        log.warning("feeds skipped near the deadline", extra={"skipped": skipped})
    ledger.checkpoint(force=True)
    return run


def newest(entries: list[rss_parse.Entry], limit: int) -> list[rss_parse.Entry]:
    """The ``limit`` newest entries by date (undated ones after dated), in document order."""
    if len(entries) <= limit:
        return entries
    order = sorted(range(len(entries)), key=lambda index: _when(entries[index]), reverse=True)  # stable
    return [entries[index] for index in sorted(order[:limit])]


def _when(entry: rss_parse.Entry) -> tuple[int, ...]:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    try:
        return (1, *(int(part) for part in tuple(parsed)[:6])) if parsed else (0,)
    except (TypeError, ValueError):
        return (0,)


def _unique_items(
    feed: FeedRun,
    title: str | None,
    entries: list[rss_parse.Entry],
    fetched_at: str,
    seen_in_run: set[str],
) -> tuple[list[rss_identity.Item], int]:
    """The feed's entries as items, less those already read in this run; and how many those were."""

    def skipped(error: Exception) -> None:
        log.warning("entry skipped", extra={"feed_url": feed.url, "reason": f"{type(error).__name__}: {error}"})

    items = rss_items.to_items(feed.url, title, entries, fetched_at, on_error=skipped)
    unique = []
    for item in items:  # different items never share an id; a repeated one is the same item again
        if item.message["id"] not in seen_in_run:
            seen_in_run.add(item.message["id"])
            unique.append(item)
    return unique, len(items) - len(unique)


def _send_judged(feed: FeedRun, judged: rss_identity.Judged, send: Send) -> None:
    """Send the feed's items judged new, noting what to record for each once it is acknowledged."""
    feed.refresh_ids = judged.refresh
    # one mapping for all the feed's messages (read-only: each message holds it)
    headers = MappingProxyType({HEADER_SCHEMA: rss_items.SCHEMA, HEADER_SOURCE: feed.url})
    for message in judged.new:
        item_id = message["id"]
        try:
            send(OutgoingMessage(item_id, message, headers))
        except ValueError as error:  # a value JSON cannot carry: the item is bad input
            log.warning("item skipped", extra={"feed_url": feed.url, "reason": str(error)})
            continue
        feed.sent_ids.append(item_id)
        feed.records[item_id] = judged.records[item_id]
    feed.new = len(feed.sent_ids)
