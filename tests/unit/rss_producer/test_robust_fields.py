"""No single field drops an item: each is normalised or nulled, and the item is produced."""

from __future__ import annotations

import json
import random
from typing import Any

import rss_identity
import rss_items
import rss_parse

FEED = "https://robust.example/feed.xml"
FETCHED = "2026-11-23T00:00:00Z"
BAD_GUID = (
    b'<rss version="2.0"><channel><title>t</title><link>https://robust.example/</link><description>d</description>'
    b"<item><title>Draft</title><guid>//[draft-7</guid></item></channel></rss>"
)


def test_the_reference_keeps_a_permalink_guid_it_cannot_resolve_as_given() -> None:
    # feedparser alone would blank it ('') and the item would fall back to its title
    [entry] = rss_parse.parse_reference(FEED, BAD_GUID, {}).entries
    assert entry["id"] == "//[draft-7"
    [message] = rss_items.to_messages(FEED, "t", [entry], FETCHED)
    assert message["id"] == rss_identity.item_id(FEED, {"id": "//[draft-7"}) and message["link"] is None


def test_lone_surrogates_and_controls_are_removed_so_the_message_encodes() -> None:
    entry: Any = dict(id="s-1", title="caf\udce9\x00 ok", summary="a\x1bb", author="\ud800Ana", tags=["x\x07"])
    message = rss_items.to_message(FEED, "Feed\x00", entry, FETCHED)
    assert (message["title"], message["summary"], message["author"]) == ("caf ok", "ab", "Ana")
    assert message["tags"] == ["x"] and message["feed_title"] == "Feed"
    json.dumps(message, ensure_ascii=False).encode("utf-8")  # raises on a lone surrogate


def test_tags_are_cleaned_distinct_and_bounded() -> None:
    tags = [f"<b>tag</b> {i % 150}" for i in range(1000)] + ["", "  ", "y" * 500]
    cleaned = rss_items.clean_tags(tags)
    assert len(cleaned) == rss_items.MAX_TAGS and cleaned[0] == "tag 0" and len(set(cleaned)) == len(cleaned)
    assert len(rss_items.clean_tags(["y" * 500])[0]) == rss_items.MAX_TAG_CHARS


def test_links_that_are_no_urls_are_null() -> None:
    for link in ("http://[::1", "https://h:port/", " \x00 ", "https://h/" + "x" * 5000, 7):
        assert rss_items.resolve_link(FEED, link) is None, link
    assert rss_items.resolve_link(FEED, " /a b\x01 ") == "https://robust.example/a b"


def test_a_date_that_is_no_date_is_null() -> None:
    assert rss_items.published_at({"published_parsed": ("not", "a", "time")}) is None
    assert rss_items.published_at({"updated_parsed": (99999, 1, 1, 0, 0, 0, 0, 1, 0)}) is None


def test_an_entry_that_cannot_be_read_costs_only_itself() -> None:
    class Hostile(dict):  # type: ignore[type-arg]
        def get(self, *args: Any) -> Any:
            raise RuntimeError("boom")

    errors: list[Exception] = []
    messages = rss_items.to_messages(FEED, None, [Hostile(), {"id": "ok"}], FETCHED, on_error=errors.append)
    assert [m["id"] for m in messages] == [rss_identity.item_id(FEED, {"id": "ok"})] and len(errors) == 1


def test_a_plain_link_is_taken_as_given_only_where_urljoin_would_give_it_back_unchanged() -> None:
    # Given links built from the parts that urljoin and urlsplit treat specially, and random ones
    schemes = ["http://", "https://", "HTTP://", "Https://", "ftp://", "javascript:", "//", ""]
    hosts = ["a.example", "A-B.example", "a.example:8080", "a.example:99999", "u@a.example", "[::1]"]
    hosts += ["b\u00fccher.example", "", "."]
    tails = ["", "/", "/p", "/p/../q", "/p;x", "/p;", "/p?", "/p?q=1", "/p#", "/p#f#g", "?q", "#f", "/a b", "/%20"]
    tails += ["/p?q#f", "/_~'()*"]
    links = [scheme + host + tail for scheme in schemes for host in hosts for tail in tails]
    rng = random.Random(26)
    for alphabet in ("a.-/?#_~%9", "a.-/?#;:@[]%_~ \t\n9é", "a/?#\x00\x7f\x85\ud800"):
        for _ in range(2000):
            links.append(rng.choice(schemes[:2]) + "".join(rng.choices(alphabet, k=rng.randint(1, 14))))
    for feed in (FEED, "http://plain.example/dir/feed.xml"):
        for link in links:
            # Then the fast way and the general way agree on every one of them
            cleaned = rss_items._CONTROL.sub("", link).strip()
            expected = rss_items._joined_link(feed, cleaned) if cleaned else None
            assert rss_items.resolve_link(feed, link) == expected, (feed, link)
