"""State-store reads and writes of two RSS runs over every feed document the repository holds.

    .venv/bin/python -m tools.bench.state_costs

Each document is served at its own URL (no HTTP) to ``rss_run.produce_feeds`` over an in-memory
SQLite store, and every message is acknowledged; the documents that are no feed are skipped. One
line per run: messages sent, keys read (``seen``) and records written (``mark_seen``), each
counted once per distinct key, as DynamoDB bills them.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Collection
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "functions" / "rss_producer"), str(ROOT / "layers" / "common" / "python")]

import rss_fetch  # noqa: E402
import rss_run  # noqa: E402
from producer_common import OutgoingMessage  # noqa: E402
from producer_common.deadline import Deadline  # noqa: E402
from producer_common.producer import DeliveryReport  # noqa: E402
from producer_common.state import FeedValidators  # noqa: E402
from producer_common.state.sqlite import SqliteStateStore  # noqa: E402

from tools.services.fixture_data import feed_documents  # noqa: E402

DOCUMENTS = feed_documents()


class CountingStore(SqliteStateStore):
    reads = writes = 0

    def seen(self, ids: Collection[str]) -> dict[str, float]:
        self.reads += len(set(ids))
        return super().seen(ids)

    def mark_seen(self, ids: Collection[str]) -> None:
        self.writes += len(set(ids))
        super().mark_seen(ids)


class Documents:
    timeout_s = 2.0

    def fetch(self, url: str, known: Any = None, deadline: Any = None) -> rss_fetch.Fetched:
        return rss_fetch.Fetched(DOCUMENTS[url.removeprefix("https://feeds.test/")], {}, FeedValidators(), 0.0)


def main() -> None:
    logging.getLogger("rss_producer").setLevel(logging.ERROR)  # the documents that are no feed are skipped
    store = CountingStore(":memory:", 90 * 86_400)
    urls = [f"https://feeds.test/{name}" for name in DOCUMENTS]
    for number in (1, 2):
        store.reads = store.writes = 0
        sent: list[OutgoingMessage] = []
        fetcher = cast(rss_fetch.Fetcher, Documents())
        run = rss_run.produce_feeds(urls, fetcher, store, sent.append, "2026-12-01T00:00:00Z", Deadline(fallback_s=60))
        rss_run.record_delivery(run, DeliveryReport(tuple(m.key for m in sent)), store)
        feeds = run.count("ok")
        print(f"run {number}: {feeds} feeds, {len(sent)} sent, {store.reads} keys read, {store.writes} records written")


if __name__ == "__main__":
    main()
