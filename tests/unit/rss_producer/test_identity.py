"""Item identity over every feed document the repository holds.

- Upgrading changes no id an item had: ``identity/ids_before_issue_13.json`` holds the ids the code
  gave each document before content ids existed (computed once, at commit c0a2329); every item with
  a guid, or whose link (else title and date) no other item of its document shares, keeps its id.
- Nothing collapses: each item the reference parser yields (feedparser-rs for JSON Feed) is sent
  exactly once when it differs from the others in any field the message carries. Items that share a
  guid are one item, revised (RSS 2.0 ``guid``, RFC 4287 4.1.1), and are sent once.
- A second run over the same documents sends nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
import rss_fetch
import rss_items
import rss_parse
import rss_run
from producer_common import OutgoingMessage
from producer_common.deadline import Deadline
from producer_common.producer import DeliveryReport
from producer_common.state.sqlite import SqliteStateStore

from tests.unit.rss_producer.documents import DOCUMENTS

PINNED = json.loads((Path(__file__).parent / "identity" / "ids_before_issue_13.json").read_text())
FETCHED = "2026-11-23T00:00:00Z"


def readable() -> dict[str, rss_parse.ParsedFeed]:
    """The reference parser's reading of each document that is a feed (JSON Feed: feedparser-rs's)."""
    feeds = {}
    for name, body in DOCUMENTS.items():
        try:
            feeds[name] = rss_parse.FeedParser(rss_parse.REFERENCE)(f"https://feeds.test/{name}", body, {})
        except rss_fetch.FeedError:
            continue
    return feeds


FEEDS = readable()


@pytest.mark.parametrize("name", PINNED["ids"])
def test_ids_from_before_content_ids_are_kept(name: str) -> None:
    # Given a document and the ids the code gave its items before
    url = PINNED["feed_url"]
    entries = rss_parse.FeedParser()(url, DOCUMENTS[name], {}).entries
    bases = [rss_items.identity_basis(url, entry) for entry in entries]
    # When its messages are built now
    ids = [message["id"] for message in rss_items.to_messages(url, None, entries, FETCHED)]
    # Then every item with a guid or with a basis of its own has its old id
    kept = [index for index, entry in enumerate(entries) if entry.get("id") or bases.count(bases[index]) == 1]
    assert [ids[i] for i in kept] == [PINNED["ids"][name][i] for i in kept]
    assert len(entries) == len(PINNED["ids"][name])


def test_the_pinned_documents_are_the_readable_feeds_of_then() -> None:
    # every document that was a feed before is held to its ids; the new cases are not in the pin
    assert set(PINNED["ids"]) <= set(FEEDS)
    assert sum(map(len, PINNED["ids"].values())) == 252


def distinct_items(name: str) -> set[tuple[str, str]]:
    """Items as the reference parser yields them: one per guid, else one per distinct message content."""
    feed = FEEDS[name]
    url = f"https://feeds.test/{name}"
    messages = rss_items.to_messages(url, feed.title, feed.entries, FETCHED)
    return {
        ("guid", entry["id"]) if entry.get("id") else ("content", rss_items.content_key(message))
        for entry, message in zip(feed.entries, messages, strict=True)
    }


def run_over_all(state: SqliteStateStore) -> list[OutgoingMessage]:
    sent: list[OutgoingMessage] = []
    urls = [f"https://feeds.test/{name}" for name in FEEDS]
    with responses.RequestsMock() as served:
        for name in FEEDS:
            kind = "application/feed+json" if name.endswith(".json") else "application/xml"
            served.get(f"https://feeds.test/{name}", body=DOCUMENTS[name], content_type=kind)
        fetcher = rss_fetch.Fetcher(requests.Session(), timeout_s=2)
        run = rss_run.produce_feeds(urls, fetcher, state, sent.append, FETCHED, Deadline(fallback_s=60))
    assert all(feed.status == "ok" for feed in run.feeds), [f.error for f in run.feeds if f.error]
    rss_run.record_delivery(run, DeliveryReport(tuple(m.key for m in sent)), state)
    return sent


def test_every_distinct_item_is_sent_exactly_once_and_a_second_run_sends_nothing() -> None:
    # Given every feed document in the repository, served at its own URL
    state = SqliteStateStore(":memory:", ttl_s=90 * 86_400)
    expected = {name: distinct_items(name) for name in FEEDS}
    # When a run reads them all
    sent = run_over_all(state)
    # Then each distinct item is sent once: as many messages as items, no two with one key
    by_feed: dict[str, list[dict[str, Any]]] = {}
    for message in sent:
        by_feed.setdefault(message.value["feed_url"].removeprefix("https://feeds.test/"), []).append(message.value)
    for name, items in expected.items():
        produced = by_feed.get(name, [])
        assert len(produced) == len(items), name
        contents = {rss_items.content_key(m) for m in produced}
        assert {key for kind, key in items if kind == "content"} <= contents, name
    assert len({m.key for m in sent}) == len(sent) == sum(map(len, expected.values()))
    # And a second run over the same documents sends nothing
    assert run_over_all(state) == []


def test_guidless_items_that_share_a_link_get_content_ids_and_unique_ones_keep_theirs() -> None:
    url = "https://status.example/feed.xml"
    shared = [{"link": "/", "title": "Maintenance"}, {"link": "/", "title": "Outage"}, {"link": "/", "title": "Outage"}]
    alone = {"link": "/incident/9", "title": "Incident"}
    messages = rss_items.to_messages(url, None, [*shared, alone], FETCHED)  # type: ignore[list-item]
    ids = [m["id"] for m in messages]
    assert ids[0] != ids[1] and ids[1] == ids[2]  # the repeat is the same item
    assert ids[0] == rss_items.content_id(url, messages[0]) and ids[0] != rss_items.item_id(url, shared[0])
    assert ids[3] == rss_items.item_id(url, alone)
    # an unchanged item keeps its id from run to run
    assert [m["id"] for m in rss_items.to_messages(url, None, [*shared, alone], FETCHED)] == ids  # type: ignore[list-item]


def test_a_guidless_item_sharing_its_basis_with_a_guid_is_told_apart() -> None:
    url = "https://mixed.example/feed.xml"
    with_guid = {"id": "https://mixed.example/a", "title": "A"}
    without = {"link": "https://mixed.example/a", "title": "Not A"}
    first, second = rss_items.to_messages(url, None, [with_guid, without], FETCHED)  # type: ignore[list-item]
    assert first["id"] == rss_items.item_id(url, with_guid) and second["id"] != first["id"]
