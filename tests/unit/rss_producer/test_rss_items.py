"""Normalising feed entries to rss_item/1 messages."""

from __future__ import annotations

import time
from typing import Any

import pytest
import rss_identity
import rss_items
from rss_parse import Entry

FEED = "https://example.org/feed.xml"
FETCHED = "2026-11-23T10:00:00Z"


def entry(**fields: Any) -> Entry:
    return Entry(**fields)  # what rss_parse gives, whichever parser read the feed


def test_a_full_entry_becomes_the_contract_message() -> None:
    published = time.strptime("2026-11-20 08:15:00", "%Y-%m-%d %H:%M:%S")
    e = entry(
        id="urn:1",
        title="  Rates <b>hold</b> &amp; markets   rally ",
        link="/news/1",
        summary="<p>First&nbsp;paragraph.</p><p>Second.</p>",
        author="Ana Ruiz",
        tags=["economy", "rates"],
        published_parsed=published,
    )
    message = rss_items.to_message(FEED, "Example News", e, FETCHED)
    assert message == {
        "schema": "rss_item/1",
        "id": rss_identity.item_id(FEED, e),
        "feed_url": FEED,
        "feed_title": "Example News",
        "title": "Rates hold & markets rally",
        "link": "https://example.org/news/1",
        "summary": "First paragraph. Second.",
        "author": "Ana Ruiz",
        "tags": ["economy", "rates"],
        "published_at": "2026-11-20T08:15:00Z",
        "fetched_at": FETCHED,
    }


def test_missing_fields_are_null_not_absent() -> None:
    message = rss_items.to_message(FEED, None, entry(title="Only a title"), FETCHED)
    assert message["link"] is None and message["summary"] is None and message["author"] is None
    assert message["published_at"] is None and message["tags"] == []


def test_updated_date_stands_in_for_published() -> None:
    updated = time.strptime("2026-01-02 03:04:05", "%Y-%m-%d %H:%M:%S")
    assert rss_items.published_at(entry(updated_parsed=updated)) == "2026-01-02T03:04:05Z"


def test_ids_are_stable_and_fall_back_from_guid_to_link_to_title_and_date() -> None:
    by_guid = rss_identity.item_id(FEED, entry(id="g", link="/a"))
    assert by_guid == rss_identity.item_id(FEED, entry(id="g", link="/other"))
    assert by_guid != rss_identity.item_id("https://other.example/feed", entry(id="g"))
    assert rss_identity.item_id(FEED, entry(link="/a")) != rss_identity.item_id(FEED, entry(link="/b"))
    titled = rss_identity.item_id(FEED, entry(title="T", published="Mon, 01 Jan 2024"))
    assert titled == rss_identity.item_id(FEED, entry(title="T", published="Mon, 01 Jan 2024"))
    assert titled != rss_identity.item_id(FEED, entry(title="T", published="Tue, 02 Jan 2024"))
    assert len(by_guid) == 32


def test_long_summaries_are_bounded() -> None:
    text = rss_items.clean_text("word " * 5000, rss_items.MAX_SUMMARY_CHARS)
    assert text is not None and len(text) <= rss_items.MAX_SUMMARY_CHARS and text.endswith("…")


@pytest.mark.parametrize("value", [None, 3, "   ", "<br/>"])
def test_empty_or_odd_text_is_null(value: object) -> None:
    assert rss_items.clean_text(value, 100) is None
