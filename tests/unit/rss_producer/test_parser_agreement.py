"""feedparser-rs against feedparser, the reference: the same messages from every feed document we hold.

The fast parser is the default only because this holds. A document it would read differently must
fall back to the reference; the documents that do are pinned below, so a new feedparser-rs version
that reads more (or less) of them shows up here.
"""

from __future__ import annotations

from typing import Any

import feedparser_rs
import pytest
import rss_entities
import rss_fetch
import rss_items
import rss_parse

from tools.services.fixture_data import feed_documents

DOCUMENTS = feed_documents()

FEED_URL = "https://feeds.test/dir/feed.xml"
FETCHED = "2026-11-23T00:00:00Z"

# Why the fast parser does not read these; every other document is read by both parsers.
FALLS_BACK = {
    "feeds/podcast_itunes.xml": "itunes:summary",
    "feeds/world.xml": "relative guids that may be permalinks",
    "feeds/not_a_feed.html": "malformed",
    "cases/binary_garbage.xml": "malformed",
    "cases/bozo_unclosed.xml": "malformed",
    "cases/control_characters.xml": "relative guids that may be permalinks",
    "cases/duplicate_guids.xml": "relative guids that may be permalinks",
    "cases/html_error_page.html": "malformed",
    "cases/robust_fields.xml": "relative guids that may be permalinks",
    "cases/rss2_basic.xml": "relative guids that may be permalinks",
    "cases/windows_1252.xml": "relative guids that may be permalinks",
}
# Refused before either parser sees them (rss_entities).
REFUSED = {
    "cases/entity_bomb_deep.xml": "XML entities expand beyond",
    "cases/entity_bomb_wide.xml": "XML entities expand beyond",
    "cases/external_entity_public.xml": "external XML entity",
    "cases/external_entity_system.xml": "external XML entity",
    "cases/parameter_entity.xml": "XML parameter entities",
}
# JSON Feed: feedparser-rs is the only parser that reads it, so there is no reference to agree with.
JSON_FEEDS = {name for name in DOCUMENTS if name.endswith(".json")}


def messages(feed: rss_parse.ParsedFeed) -> list[dict[str, Any]]:
    return rss_items.to_messages(FEED_URL, feed.title, feed.entries, FETCHED)


def outcome(parse: rss_parse.FeedParser, body: bytes) -> tuple[str, Any]:
    try:
        feed = parse(FEED_URL, body, {})
    except rss_fetch.FeedError as error:
        return "error", str(error)
    return "feed", (feed.title, feed.warning, messages(feed))


@pytest.mark.parametrize("name", DOCUMENTS)
def test_the_fast_reading_matches_the_reference_or_is_not_used(name: str) -> None:
    try:
        body = rss_entities.expand(DOCUMENTS[name]) or DOCUMENTS[name]
    except rss_fetch.FeedError as error:
        assert str(error).startswith(REFUSED[name])
        return
    assert name not in REFUSED
    fast, reason = rss_parse.parse_fast(body, {})
    if name in JSON_FEEDS:
        assert fast is not None and fast.parser == rss_parse.FAST and fast.entries, reason
        return
    if name in FALLS_BACK:
        assert fast is None and reason is not None and reason.startswith(FALLS_BACK[name])
        return
    assert fast is not None, reason
    reference = rss_parse.parse_reference(FEED_URL, body, {})
    assert reference.warning is None and fast.title == reference.title
    assert messages(fast) == messages(reference)
    assert fast.parser == rss_parse.FAST and reference.parser == rss_parse.REFERENCE


@pytest.mark.parametrize("name", DOCUMENTS)
def test_the_default_parser_gives_what_the_reference_gives(name: str) -> None:
    default = outcome(rss_parse.FeedParser(), DOCUMENTS[name])
    assert default == outcome(rss_parse.FeedParser(rss_parse.REFERENCE), DOCUMENTS[name])


def test_most_documents_take_the_fast_path() -> None:
    # the agreement above would hold trivially if everything fell back
    assert len(DOCUMENTS) - len(FALLS_BACK) - len(REFUSED) - len(JSON_FEEDS) >= 24


@pytest.mark.parametrize(("forced", "fallback"), [((rss_parse.REFERENCE,), None), ((), "failed: RuntimeError")])
def test_a_failing_fast_parser_hands_the_document_to_the_reference_and_a_forced_one_is_never_asked(
    monkeypatch: pytest.MonkeyPatch, forced: tuple[str, ...], fallback: str | None
) -> None:
    # Given feedparser-rs failing as a Rust panic does (the reference, when forced, would show no fallback)
    def panic(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a Rust panic, as PyO3 reports it")

    monkeypatch.setattr(feedparser_rs, "parse", panic)
    feed = rss_parse.FeedParser(*forced)(FEED_URL, DOCUMENTS["synthetic/0.xml"], {})
    assert (feed.parser, feed.fallback, len(feed.entries)) == (rss_parse.REFERENCE, fallback, 30)


def test_a_charset_from_http_goes_to_the_reference() -> None:
    body = DOCUMENTS["feeds/latin1_nodates.xml"]
    headers = {"content-type": "application/rss+xml; charset=ISO-8859-1"}
    feed = rss_parse.FeedParser()(FEED_URL, body, headers)
    assert feed.parser == rss_parse.REFERENCE and feed.fallback == "charset ISO-8859-1 from HTTP"
    utf8 = rss_parse.FeedParser()(FEED_URL, DOCUMENTS["synthetic/0.xml"], {"content-type": "text/xml; charset=utf-8"})
    assert utf8.parser == rss_parse.FAST


def test_more_entries_than_the_parsers_read_are_counted_not_read() -> None:
    # Given a document of one entry more than a parser reads (feedparser-rs's limit)
    items = b"".join(b"<item><guid>https://big.example/%d</guid><title>t</title></item>" % i for i in range(10_001))
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Big</title>' + items + b"</channel></rss>"
    for parser in rss_parse.PARSERS:
        # When either parser reads it
        feed = rss_parse.FeedParser(parser)(FEED_URL, body, {})
        # Then the first 10,000 are read (the fast parser's reading stands) and the document's count is kept
        assert (feed.parser, len(feed.entries), feed.total) == (parser, 10_000, 10_001)
        assert feed.entries[-1]["id"] == "https://big.example/9999"


def test_an_atom_entry_without_an_author_has_the_feeds() -> None:
    for parser in rss_parse.PARSERS:
        feed = rss_parse.FeedParser(parser)(FEED_URL, DOCUMENTS["feeds/atom_blog.xml"], {})
        authors = [entry.get("author") for entry in feed.entries]
        assert authors.count("The Backpressure team") == 1 and None not in authors, parser


def test_empty_category_terms_are_dropped() -> None:
    body = (
        b'<rss version="2.0"><channel><title>c</title><item><guid>https://t.example/1</guid>'
        b"<category>one</category><category></category><category>two</category></item></channel></rss>"
    )
    for parser in rss_parse.PARSERS:
        [entry] = rss_parse.FeedParser(parser)(FEED_URL, body, {}).entries
        assert entry["tags"] == ["one", "two"], parser
