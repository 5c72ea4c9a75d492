"""Item identity over every feed document the repository holds.

- Upgrading changes no id an item was sent under: ``identity/ids_before_issue_13.json`` holds the
  ids the code gave each document before content ids existed (computed once, at commit c0a2329);
  an item alone with its guid (else link, else title and date) in its document, or the first of
  those sharing it, keeps its id. Only items whose old id another, different item held (and which
  were never sent for that) take new ones.
- Nothing collapses: each item the reference parser yields (feedparser-rs for JSON Feed) is sent
  exactly once when it differs from the others in any field the message carries, even when it
  shares its guid with them (a feed giving every item one guid, an Atom entry listed as reported and
  as resolved); exact repeats are one item.
- A second run over the same documents sends nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import rss_fetch
import rss_identity
import rss_items
import rss_parse
import rss_run
from producer_common import OutgoingMessage
from producer_common.deadline import Deadline
from producer_common.producer import DeliveryReport
from producer_common.state.sqlite import SqliteStateStore

from tests.unit.rss_producer.served import Served
from tools.services.fixture_data import feed_documents

DOCUMENTS = feed_documents()

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
    bases = [rss_identity.identity_basis(url, entry) for entry in entries]
    # When its messages are built now
    messages = rss_items.to_messages(url, None, entries, FETCHED)
    ids = [message["id"] for message in messages]
    # Then every item keeps its old id that is alone with its basis (guid, else link, else title and
    # date) or is the first of those sharing it (the first with a guid, if any), or a copy of that one
    first = {}
    for index, basis in enumerate(bases):
        if basis not in first or (entries[index].get("id") and not entries[first[basis]].get("id")):
            first[basis] = index
    leading = {rss_identity.content_key(messages[first[basis]]) + basis for basis in first}
    kept = [i for i, basis in enumerate(bases) if rss_identity.content_key(messages[i]) + basis in leading]
    assert [ids[i] for i in kept] == [PINNED["ids"][name][i] for i in kept]
    assert len(entries) == len(PINNED["ids"][name])
    # and an id changes only where the old one was shared with a different item (which was never sent)
    old = PINNED["ids"][name]
    assert all(old.count(old[i]) > 1 for i in range(len(entries)) if i not in kept)


def test_the_pinned_documents_are_the_readable_feeds_of_then() -> None:
    # every document that was a feed before is held to its ids; the new cases are not in the pin
    assert set(PINNED["ids"]) <= set(FEEDS)
    assert sum(map(len, PINNED["ids"].values())) == 252


def distinct_items(name: str) -> set[tuple[str, str]]:
    """Items as the reference parser yields them: one per basis (guid, else link, else title and
    date) and distinct message content."""
    feed = FEEDS[name]
    url = f"https://feeds.test/{name}"
    messages = rss_items.to_messages(url, feed.title, feed.entries, FETCHED)
    return {
        (rss_identity.identity_basis(url, entry), rss_identity.content_key(message))
        for entry, message in zip(feed.entries, messages, strict=True)
    }


def run_over_all(state: SqliteStateStore) -> list[OutgoingMessage]:
    sent: list[OutgoingMessage] = []
    urls = [f"https://feeds.test/{name}" for name in FEEDS]
    served = Served()
    for name in FEEDS:
        kind = "application/feed+json" if name.endswith(".json") else "application/xml"
        served.get(f"https://feeds.test/{name}", body=DOCUMENTS[name], headers={"Content-Type": kind})
    run = rss_run.produce_feeds(
        urls, rss_fetch.Fetcher(served, timeout_s=2), state, sent.append, FETCHED, Deadline(fallback_s=60)
    )
    assert {call.url for call in served.calls} == set(urls)  # every answer was asked for
    assert all(feed.status == "ok" for feed in run.feeds), [f.error for f in run.feeds if f.error]
    rss_run.record_delivery(run, DeliveryReport(tuple(m.key for m in sent)), state)
    return sent


def test_every_distinct_item_is_sent_exactly_once_and_a_second_run_sends_nothing(state: SqliteStateStore) -> None:
    # Given every feed document in the repository, served at its own URL
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
        assert {rss_identity.content_key(m) for m in produced} == {content for _, content in items}, name
    assert len({m.key for m in sent}) == len(sent) == sum(map(len, expected.values()))
    # And a second run over the same documents sends nothing
    assert run_over_all(state) == []


def test_guidless_items_that_share_a_link_are_told_apart_by_content_and_the_first_keeps_the_link_id() -> None:
    url = "https://status.example/feed.xml"
    shared = [{"link": "/", "title": "Maintenance"}, {"link": "/", "title": "Outage"}, {"link": "/", "title": "Outage"}]
    alone = {"link": "/incident/9", "title": "Incident"}
    messages = rss_items.to_messages(url, None, [*shared, alone], FETCHED)  # type: ignore[list-item]
    ids = [m["id"] for m in messages]
    assert ids[0] != ids[1] and ids[1] == ids[2]  # the repeat is the same item
    assert ids[0] == rss_identity.item_id(url, shared[0]) and ids[1] == rss_identity.content_id(url, messages[1])
    assert ids[3] == rss_identity.item_id(url, alone)
    # an unchanged item keeps its id from run to run
    assert [m["id"] for m in rss_items.to_messages(url, None, [*shared, alone], FETCHED)] == ids  # type: ignore[list-item]


def test_items_sharing_a_guid_with_different_content_are_each_produced_and_the_first_keeps_the_guid_id() -> None:
    url = "https://status.example/history.atom"
    reported = {"id": "incident-41", "title": "Errors in eu-west", "updated": "2026-11-22T11:20:00Z"}
    resolved = {**reported, "title": "Errors in eu-west (resolved)"}
    messages = rss_items.to_messages(url, None, [resolved, reported, resolved], FETCHED)  # type: ignore[list-item]
    ids = [m["id"] for m in messages]
    assert ids == [rss_identity.item_id(url, resolved), rss_identity.content_id(url, messages[1]), ids[0]]


def test_a_guidless_item_sharing_its_basis_with_a_guid_is_told_apart() -> None:
    url = "https://mixed.example/feed.xml"
    with_guid = {"id": "https://mixed.example/a", "title": "A"}
    without = {"link": "https://mixed.example/a", "title": "Not A"}
    first, second = rss_items.to_messages(url, None, [with_guid, without], FETCHED)  # type: ignore[list-item]
    assert first["id"] == rss_identity.item_id(url, with_guid) and second["id"] != first["id"]
