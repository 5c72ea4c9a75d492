"""Normalising feed entries to rss_item/1 messages."""

from __future__ import annotations

import calendar
import html
import random
import time
from datetime import datetime, timezone
from typing import Any

import pytest
import rss_identity
import rss_items
from producer_common import utc_iso
from rss_parse import Entry  # what rss_parse gives, whichever parser read the feed

FEED = "https://example.org/feed.xml"
FETCHED = "2026-11-23T10:00:00Z"


def test_a_full_entry_becomes_the_contract_message() -> None:
    published = time.strptime("2026-11-20 08:15:00", "%Y-%m-%d %H:%M:%S")
    e = Entry(
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
    message = rss_items.to_message(FEED, None, Entry(title="Only a title"), FETCHED)
    assert message["link"] is None and message["summary"] is None and message["author"] is None
    assert message["published_at"] is None and message["tags"] == []


def test_updated_date_stands_in_for_published() -> None:
    updated = time.strptime("2026-01-02 03:04:05", "%Y-%m-%d %H:%M:%S")
    assert rss_items.published_at(Entry(updated_parsed=updated)) == "2026-01-02T03:04:05Z"


def test_ids_are_stable_and_fall_back_from_guid_to_link_to_title_and_date() -> None:
    by_guid = rss_identity.item_id(FEED, Entry(id="g", link="/a"))
    assert by_guid == rss_identity.item_id(FEED, Entry(id="g", link="/other"))
    assert by_guid != rss_identity.item_id("https://other.example/feed", Entry(id="g"))
    assert rss_identity.item_id(FEED, Entry(link="/a")) != rss_identity.item_id(FEED, Entry(link="/b"))
    titled = rss_identity.item_id(FEED, Entry(title="T", published="Mon, 01 Jan 2024"))
    assert titled == rss_identity.item_id(FEED, Entry(title="T", published="Mon, 01 Jan 2024"))
    assert titled != rss_identity.item_id(FEED, Entry(title="T", published="Tue, 02 Jan 2024"))
    assert len(by_guid) == 32


def test_long_summaries_are_bounded() -> None:
    text = rss_items.clean_text("word " * 5000, rss_items.MAX_SUMMARY_CHARS)
    assert text is not None and len(text) <= rss_items.MAX_SUMMARY_CHARS and text.endswith("…")


@pytest.mark.parametrize("value", [None, 3, "   ", "<br/>"])
def test_empty_or_odd_text_is_null(value: object) -> None:
    assert rss_items.clean_text(value, 100) is None


def test_text_is_cleaned_as_the_general_way_cleans_it_whatever_it_holds() -> None:
    # Given random text of printable characters, every kind of space, controls, surrogates and markup
    rng = random.Random(26)
    spaces = " \t\n\r\x0b\x0c\x1c\x85\xa0\u1680\u2000\u2009\u2028\u2029\u202f\u3000"
    alphabet = "ab Z9&;<>/é€😀" + spaces + "\x00\x08\x7f\x84\x9f\ud800\udfff\u200b\ufeff"
    texts = ["".join(rng.choices(alphabet, k=rng.randint(0, 24))) for _ in range(20000)]
    texts += ["a  b", " a ", "a&amp;b", "&nbsp;x&nbsp;", "a<b>c</b>", "x\u00a0y"]
    for text in texts:
        # Then the result is the general way's (tags, entities, controls out; whitespace folded)
        general = " ".join(rss_items._CONTROL.sub("", html.unescape(rss_items._TAG.sub(" ", text))).split())
        assert rss_items.clean_text(text, 100) == (
            general[:99].rstrip() + "…" if len(general) > 100 else general or None
        )


def test_a_date_is_written_directly_only_as_timegm_and_fromtimestamp_would_write_it() -> None:
    # Given struct_times in and out of their calendar ranges, and values that are no time
    rng = random.Random(26)
    years = [1, 1969, 1970, 2026, 9998, 9999]
    times: list[Any] = []
    for _ in range(3000):
        date = (rng.choice(years), rng.randint(0, 13), rng.randint(0, 32))
        times.append((*date, rng.randint(-1, 25), rng.randint(-1, 61), rng.randint(-1, 61), 0, 1, 0))
    times += [time.gmtime(rng.randint(0, 2**33)) for _ in range(1000)]
    times += [(2026.0, 1, 2, 3, 4, 5, 0, 1, 0), ("2026", 1, 2, 3, 4, 5), (2026, 1, 2), (True, 1, 1, 0, 0, 0, 0, 1, 0)]
    for moment in times:
        # Then the direct way agrees with the general one on every one of them
        try:
            general: str | None = utc_iso(datetime.fromtimestamp(calendar.timegm(moment), tz=timezone.utc))
        except (OverflowError, ValueError, OSError, TypeError):
            general = None
        assert rss_items.utc_text(moment) == general, moment


def test_the_date_checks_skip_only_searches_that_cannot_match() -> None:
    # Given dates as feeds write them, and random text
    rng = random.Random(26)
    texts = ["Sun, 22 Nov 2026 21:00:00 +0000", "Sun, 22 Nov 2026 21:00:00 -05:00", "2026-11-22T21:00:00Z", "x+1400"]
    texts += ["".join(rng.choices("0123456789 +-:TZ\u00a0\u0663", k=rng.randint(0, 16))).strip() for _ in range(5000)]
    for text in texts:
        # Then an ISO date needs a "-", and the offset found near the end is the one found from the start
        assert "-" in text or rss_items._ISO_DATE.search(text) is None, text
        near_end = rss_items._OFFSET.search(text, max(0, len(text) - 7))
        anywhere = rss_items._OFFSET.search(text)
        assert (near_end and (near_end.span(), near_end.groups())) == (
            anywhere and (anywhere.span(), anywhere.groups())
        )


def test_a_date_taken_by_its_plain_shape_is_one_the_general_checks_take() -> None:
    # Given dates in the two shapes feeds write, their fields drawn in and out of range
    rng = random.Random(26)

    def number(low: int, high: int, width: int) -> str:
        return str(rng.randint(low, high)).zfill(rng.choice((1, width, width)))

    def zone(colon: str) -> str:
        offset = f"{rng.choice('+-')}{number(0, 19, 2)}{colon}{number(0, 69, 2)}"
        return rng.choice((offset, offset, "GMT", "Z", "EST", "", "+1", "UTC+1"))

    texts = []
    for _ in range(20_000):
        hms = f"{number(0, 29, 2)}:{number(0, 69, 2)}" + rng.choice(("", f":{number(0, 69, 2)}"))
        rfc822 = f"{rng.choice(('Mon, ', 'Thu, ', ''))}{number(0, 39, 2)} {rng.choice(('Nov', 'Feb', 'Xyz'))}"
        texts.append(f"{rfc822} {number(900, 10999, 4)} {hms} {zone('')}".rstrip())
        fraction = rng.choice(("", ".5", ".123456789", ".1234567890"))
        date = f"{number(900, 10999, 4)}-{number(0, 14, 2)}-{number(0, 32, 2)}{rng.choice('T T')}{hms}{fraction}"
        texts.append(date + zone(rng.choice(("", ":"))))
    texts += ["2025-02-29T10:00:00Z", "2024-02-29T10:00:00Z", "2026-04-31T10:00:00Z", "2026-11-23T10:00:00+15:00"]
    texts += ["Mon, 23 Nov 2026 24:00:60 +1459", "Mon, 23 Nov 2026 10:60:00 +0000", "Mon, 23 Nov 2026 25:00 GMT"]
    plain = {text for text in texts if rss_items._PLAIN_DATE.fullmatch(text)}
    assert sum("-" in text[:5] for text in plain) > 200 < sum("-" not in text[:5] for text in plain)  # both shapes

    # Then the plain shape changes no answer: each it takes, the general checks take too
    for text in texts:
        assert rss_items.plausible_date(text) == rss_items._plausible(text), text
