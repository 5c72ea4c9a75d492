"""Every feed is bounded on its own: the whole fetch in time, the text a parser sees, the entries
a run reads; and what comes out is safe for a consumer (links, dates)."""

from __future__ import annotations

import json
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import pytest
import rss_bounds
import rss_fetch
import rss_items
import rss_parse
import rss_run
from rss_transfers import Transfers

from tests.support.http import QuietHandler

FEED = "https://bounds.example/feed.xml"
FETCHED = "2026-11-23T00:00:00Z"
HEAD = b'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>'


def rss(items: bytes) -> bytes:
    return HEAD + items + b"</channel></rss>"


@pytest.mark.parametrize(
    "link", ["javascript:alert(1)", "vbscript:msgbox(1)", "data:text/html,<b>x</b>", "file:///etc/passwd", "ftp://h/x"]
)
def test_a_link_that_is_not_http_or_https_is_null(link: str) -> None:
    # Given an item whose link (or permalink guid, which both parsers report as the link) has another scheme
    body = rss(b"<item><title>x</title><link>" + link.replace("<", "&lt;").encode() + b"</link></item>")
    for parser in rss_parse.PARSERS:
        # When it is read
        [entry] = rss_parse.FeedParser(parser)(FEED, body, {}).entries
        # Then the message's link is null
        assert rss_items.to_message(FEED, "t", entry, FETCHED)["link"] is None, parser
    assert rss_items.resolve_link(FEED, "/a") == "https://bounds.example/a"


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("Mon, 23 Nov 2026 10:00:00 +0100", "2026-11-23T09:00:00Z"),
        ("2026-11-23T10:00:00-05:00", "2026-11-23T15:00:00Z"),
        ("2024-02-29T00:00:00Z", "2024-02-29T00:00:00Z"),
        # no calendar time: null (feedparser alone normalises these to a real-looking date)
        ("2026-13-45T99:99:99Z", None),
        ("12345678901234567890", None),
        ("Mon, 23 Nov 2026 10:00:00 +9999", None),
        ("2026-02-30", None),
    ],
)
def test_a_date_is_read_in_utc_and_one_that_is_no_calendar_time_is_null(written: str, expected: str | None) -> None:
    body = rss(b"<item><title>x</title><guid>g</guid><pubDate>" + written.encode() + b"</pubDate></item>")
    for parser in rss_parse.PARSERS:
        [entry] = rss_parse.FeedParser(parser)(FEED, body, {}).entries
        assert rss_items.to_message(FEED, "t", entry, FETCHED)["published_at"] == expected, parser


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        (b"<published>2026-01-02T00:00:00Z</published><updated>2026-03-04T00:00:00Z</updated>", "2026-01-02T00:00:00Z"),
        (b"<updated>2026-03-04T00:00:00Z</updated>", "2026-03-04T00:00:00Z"),
        (b"<published>no date</published><updated>2026-03-04T00:00:00Z</updated>", "2026-03-04T00:00:00Z"),
    ],
)
def test_the_updated_date_stands_in_only_where_there_is_no_published_one(dates: bytes, expected: str) -> None:
    body = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><id>urn:e</id>' + dates + b"</entry></feed>"
    )
    for parser in rss_parse.PARSERS:
        [entry] = rss_parse.FeedParser(parser)(FEED, body, {}).entries
        assert rss_items.to_message(FEED, "t", entry, FETCHED)["published_at"] == expected, parser


def test_a_huge_author_costs_the_reference_parser_milliseconds() -> None:
    # Given a feed only the reference parser reads (itunes:summary), with a 400 KB author
    body = (
        b'<?xml version="1.0"?><rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">'
        b"<channel><title>t</title><item><title>a</title><itunes:summary>s</itunes:summary><author>"
        + b"a" * 400_000
        + b"</author></item></channel></rss>"
    )
    # When it is parsed
    started = time.process_time()
    feed = rss_parse.FeedParser()(FEED, body, {})
    # Then the author was cut before the parser saw it (uncut, its e-mail regex ran for minutes)
    assert feed.parser == rss_parse.REFERENCE and len(feed.entries[0]["author"]) == rss_bounds.MAX_NAME_BYTES
    assert time.process_time() - started < 5  # a guard against minutes, not a benchmark (make bench)


@pytest.mark.parametrize(
    ("opening", "closing"),
    [(b"<author>", b"</author>"), (b"<DC:Creator>", b"</DC:Creator>"), (b"<Author><![CDATA[", b"]]></Author>")],
)
def test_a_name_element_is_capped_whatever_case_its_tag_is_written_in(opening: bytes, closing: bytes) -> None:
    # Given a name element's text over the cap, its tag in lower, upper or mixed case, in CDATA or not
    body = rss(b"<item><guid>g</guid>" + opening + b"n" * 5000 + closing + b"</item>")
    # When the document is capped, Then that text is cut to the names' cap, and the rest kept
    capped = rss_bounds.cap_text(body)
    assert len(body) - len(capped) == 5000 - rss_bounds.MAX_NAME_BYTES
    assert opening + b"n" * rss_bounds.MAX_NAME_BYTES + closing in capped


def test_text_is_cut_on_a_character_and_outside_an_entity() -> None:
    # Given runs of text longer than the cap: multi-byte characters, an entity across the cut, CDATA
    long = "é" * rss_bounds.MAX_TEXT_BYTES
    body = rss(
        b"<item><title>" + long.encode() + b"</title><description><![CDATA[" + b"x" * 70_000 + b"]]></description>"
        b'<guid isPermaLink="false">' + b"y" * (rss_bounds.MAX_TEXT_BYTES - 2) + b"&amp;z</guid></item>"
    )
    # When they are capped
    capped = rss_bounds.cap_text(body)
    # Then every piece is valid UTF-8, the CDATA section still closes, and no entity is split
    capped.decode("utf-8")
    for parser in rss_parse.PARSERS:
        feed = rss_parse.FeedParser(parser)(FEED, capped, {})
        [entry] = feed.entries
        assert feed.warning is None, parser
        assert len(entry["title"]) == rss_bounds.MAX_TEXT_BYTES // 2
        assert len(entry["summary"]) == rss_bounds.MAX_TEXT_BYTES
        assert entry["id"] == "y" * (rss_bounds.MAX_TEXT_BYTES - 2), parser


def test_a_json_feed_is_not_cut_inside_its_strings() -> None:
    # Given a JSON Feed whose HTML content has 100 KB of text after a tag (text caps are for XML)
    html = "<p>" + "x" * 100_000 + "</p>"
    body = json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "1", "content_html": html}]})
    # When it is parsed, Then it is still a feed, its item read
    [entry] = rss_parse.FeedParser()(FEED, body.encode(), {}).entries
    assert entry["id"] == "1" and len(entry["summary"]) == len(html)


def test_a_channel_title_is_capped() -> None:
    [entry] = rss_parse.FeedParser()(FEED, rss(b"<item><guid>g</guid></item>"), {}).entries
    message = rss_items.to_message(FEED, "T" * 1_200_000, entry, FETCHED)
    assert len(message["feed_title"]) == rss_items.MAX_FEED_TITLE_CHARS


def test_a_json_feed_over_the_parser_limit_is_read_to_the_limit() -> None:
    # Given a JSON Feed of 20,000 items (feedparser-rs stops at 10,000; feedparser reads no JSON)
    items = ",".join(f'{{"id": "{i}", "content_text": "x"}}' for i in range(20_000))
    body = ('{"version": "https://jsonfeed.org/version/1.1", "title": "j", "items": [' + items + "]}").encode()
    # When it is parsed
    feed = rss_parse.FeedParser()(FEED, body, {})
    # Then its first 10,000 items are read and the document's 20,000 counted
    assert (len(feed.entries), feed.total, feed.entries[-1]["id"]) == (10_000, 20_000, "9999")


def test_a_feed_over_the_item_cap_keeps_its_newest() -> None:
    # Given 5 entries, two undated, dated out of document order
    entries: list[Any] = [
        {"id": "old", "published_parsed": (2020, 1, 1, 0, 0, 0, 0, 1, 0)},
        {"id": "undated-1"},
        {"id": "new", "published_parsed": (2026, 1, 1, 0, 0, 0, 0, 1, 0)},
        {"id": "mid", "published_parsed": (2024, 1, 1, 0, 0, 0, 0, 1, 0)},
        {"id": "undated-2"},
    ]
    # When at most 3 are kept, Then the three newest are, in document order
    assert [e["id"] for e in rss_run.newest(entries, 3)] == ["old", "new", "mid"]
    assert [e["id"] for e in rss_run.newest(entries, 4)] == ["old", "undated-1", "new", "mid"]
    assert rss_run.newest(entries, 5) is entries


@pytest.fixture
def server() -> Iterator[tuple[str, list[bytes]]]:
    """A feed's URL on loopback, answered on each connection with the bytes of ``answers`` (one a
    connection), then a byte every 2 s (the slow-header case of issue 22), or closed when the answer
    starts with '!'."""
    answers: list[bytes] = []

    class Raw(QuietHandler):
        def do_GET(self) -> None:
            answer = answers.pop(0)
            if answer.startswith(b"!"):
                self.wfile.write(answer[1:])
                self.close_connection = True
            else:
                self.trickle(answer, b"X", every_s=2, times=30)

    with ThreadingHTTPServer(("127.0.0.1", 0), Raw) as http:
        http.block_on_close = False  # the trickling answers end with their test, not with the server
        threading.Thread(target=http.serve_forever, daemon=True).start()
        yield f"http://127.0.0.1:{http.server_address[1]}/feed.xml", answers
        http.shutdown()


NOT_GZIP = b"not gzip at all" + zlib.compress(b"x")


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (b"HTTP/1.1 200 OK\r\n", "no complete response within 1 s"),  # then one header byte every 2 s
        # then one body byte every 2 s
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n<rss>", "no complete response within 1 s"),
        # a body that claims gzip but is not (urllib3's DecodeError, which requests leaves raw)
        (
            b"!HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s" % (len(NOT_GZIP), NOT_GZIP),
            "body could not be decoded (Content-Encoding)",
        ),
        # a server that promises more than it sends, then closes (urllib3's ProtocolError)
        (b"!HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n<rss>", "connection broken while reading the body"),
    ],
    ids=["trickled-headers", "trickled-body", "broken-gzip", "broken-mid-body"],
)
def test_a_trickling_or_broken_answer_is_a_plain_source_error_within_the_time_limit(
    server: tuple[str, list[bytes]], answer: bytes, reason: str
) -> None:
    # Given a server that trickles its headers or its body (each byte well within the read timeout),
    # or breaks the body in transit
    url, answers = server
    answers.append(answer)
    # When the feed is fetched with a 1 s limit
    started = time.monotonic()
    with pytest.raises(rss_fetch.FeedError) as raised:
        rss_fetch.Fetcher(Transfers("test"), timeout_s=1.0).fetch(url)
    # Then the fetch ends by the limit, saying why
    assert str(raised.value) == reason
    assert time.monotonic() - started < 5
