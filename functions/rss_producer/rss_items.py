"""Feed entries (``rss_parse.Entry``, whichever parser read them) normalised to ``rss_item/1`` messages."""

from __future__ import annotations

import calendar
import re
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from html import unescape
from typing import Any
from urllib.parse import urljoin, urlsplit

from producer_common import utc_iso
from rss_identity import Item, item_id, tell_apart

SCHEMA = "rss_item/1"
MAX_SUMMARY_CHARS = 4000
MAX_TITLE_CHARS = 1000
MAX_LINK_CHARS = 4096  # longer is no usable link
MAX_TAGS = 100
MAX_TAG_CHARS = 200
MAX_FEED_TITLE_CHARS = 1000
LINK_SCHEMES = frozenset({"http", "https"})  # what a consumer may follow (CONTRACT.md)

_TAG = re.compile(r"<[^>]{0,2000}>")
# C0 and C1 controls other than whitespace, and lone surrogates (which no UTF-8 encoder takes)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff]")


def to_messages(
    feed_url: str,
    feed_title: str | None,
    entries: Iterable[Mapping[str, Any]],
    fetched_at: str,
    on_error: Callable[[Exception], None] | None = None,
) -> list[dict[str, Any]]:
    """One document's entries as messages, with the ids they take when nothing was delivered before."""
    return [item.message for item in to_items(feed_url, feed_title, entries, fetched_at, on_error)]


def to_items(
    feed_url: str,
    feed_title: str | None,
    entries: Iterable[Mapping[str, Any]],
    fetched_at: str,
    on_error: Callable[[Exception], None] | None = None,
) -> list[Item]:
    """One document's entries as ``Item``s; an entry that cannot be read at all is reported to
    ``on_error`` and left out.

    Which id each takes is ``rss_identity``'s rule (``tell_apart``).
    """
    built: list[tuple[Mapping[str, Any], dict[str, Any]]] = []
    title = _feed_title(feed_title)  # once a document, not once an entry
    for entry in entries:
        try:
            built.append((entry, _message(feed_url, title, entry, fetched_at)))
        except Exception as error:  # one odd entry costs itself, not its feed
            if on_error is None:
                raise
            on_error(error)
    return tell_apart(feed_url, built)


def clean_text(value: Any, limit: int) -> str | None:
    """Plain text from possibly-HTML content: tags dropped, entities decoded, controls removed, space folded."""
    if not isinstance(value, str):
        return None
    if "<" in value:
        value = _TAG.sub(" ", value)
    value = unescape(value)
    if value.isprintable():
        # Every character _CONTROL removes is unprintable, and so is every space but " ": folding
        # is then only trimming, unless spaces repeat. Most feeds' text is such.
        text = value.strip(" ") if "  " not in value else " ".join(value.split())
    else:
        # str.split() splits on exactly what the regex \s+ matches (str.isspace), at a tenth of its cost
        text = " ".join(_CONTROL.sub("", value).split())
    if not text:
        return None
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# An absolute http(s) link that urljoin and urlsplit give back unchanged: a lower-case scheme, a
# host name alone (no user, port or brackets), then a path, query and fragment with none of the
# characters urlsplit drops or splits on (spaces, controls, ";", an empty "?" or "#"). Most feeds'
# links are such; for them the general way below costs half of an item's normalisation.
_PLAIN_LINK = re.compile(
    r"https?://[A-Za-z0-9.-]+(?:/[\w.~!$&'()*+,=:@%/-]*)?(?:\?[\w.~!$&'()*+,=:@%/?-]+)?(?:#[\w.~!$&'()*+,=:@%/?#-]+)?",
    re.ASCII,
)


def resolve_link(feed_url: str, link: Any) -> str | None:
    """An absolute URL for the item, or None when the feed gives none that can be read."""
    if not isinstance(link, str):
        return None
    if len(link) <= MAX_LINK_CHARS and _PLAIN_LINK.fullmatch(link):
        return link  # no control character or space to remove: it is as the general way would give it
    link = _CONTROL.sub("", link).strip()
    if not link or len(link) > MAX_LINK_CHARS:
        return None
    if _PLAIN_LINK.fullmatch(link):
        return link
    return _joined_link(feed_url, link)


def _joined_link(feed_url: str, link: str) -> str | None:
    """``resolve_link``'s general way: the link resolved against the feed's URL, if http(s) with a host."""
    try:
        resolved = urljoin(feed_url, link)
        parts = urlsplit(resolved)
        parts.port  # noqa: B018 - raises for a port that is not a number
    except ValueError:
        return None
    # javascript:, data:, file: and the like would run or read something in a consumer's hands
    return resolved if parts.scheme.lower() in LINK_SCHEMES and parts.hostname else None


def clean_tags(tags: Any) -> list[str]:
    """Distinct, cleaned terms, at most ``MAX_TAGS``."""
    if not tags:
        return []
    cleaned = [clean_text(tag, MAX_TAG_CHARS) for tag in tags]
    return list(dict.fromkeys(filter(None, cleaned)))[:MAX_TAGS]


def published_at(entry: Mapping[str, Any]) -> str | None:
    """Both parsers give dates as UTC struct_time; None when the entry has no usable date.

    feedparser normalises what is no calendar time (month 13 becomes January, an offset of
    +9999 shifts the hour by four days), so the date as written is checked first.
    """
    parsed, written = entry.get("published_parsed"), entry.get("published")
    if not parsed:
        parsed, written = entry.get("updated_parsed"), entry.get("updated")
    if not parsed or (isinstance(written, str) and not plausible_date(written)):
        return None
    return utc_text(parsed)


def utc_text(parsed: Any) -> str | None:
    """``utc_iso`` of a UTC struct_time (None when it is no time). A time whose fields are each in
    their calendar range (days to the 28th) comes back from timegm and fromtimestamp as it is, so
    it is written directly by strftime (which takes only whole numbers), at a small part of the
    cost; any other takes the general way."""
    try:
        year, month, day, hour, minute, second = parsed[:6]
        in_range = 1970 <= year <= 9998 and 1 <= month <= 12 and 1 <= day <= 28
        if in_range and 0 <= hour <= 23 and 0 <= minute <= 59 and 0 <= second <= 59:
            return time.strftime("%Y-%m-%dT%H:%M:%SZ", parsed)
    except (TypeError, ValueError):  # not nine whole numbers in range: the general way decides
        pass
    try:
        return utc_iso(datetime.fromtimestamp(calendar.timegm(parsed), tz=timezone.utc))
    except (OverflowError, ValueError, OSError, TypeError):
        return None


_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{1,2})(?::(\d{1,2}))?)?")
_RFC822_TIME = re.compile(r"\b(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?\b")
_OFFSET = re.compile(r"(?:\d|\s)([+-])(\d{2}):?(\d{2})\s*$")
# The two shapes most feeds write (RFC 822 and RFC 3339), with every field in the range the checks
# below allow (days to the 28th): such a date passes them, so one match answers for five searches.
_PLAIN_DATE = re.compile(
    r"(?:[A-Za-z]{3}, )?[0-9]{1,2} [A-Za-z]{3} [0-9]{4} (?:[01][0-9]|2[0-4]):[0-5][0-9](?::(?:[0-5][0-9]|60))?"
    r"(?: (?:[+-](?:0[0-9]|1[0-4])[0-5][0-9]|[A-Za-z]{1,5}))?"
    r"|[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])T(?:[01][0-9]|2[0-4]):[0-5][0-9]"
    r"(?::(?:[0-5][0-9]|60)(?:\.[0-9]{1,9})?)?(?:Z|[+-](?:0[0-9]|1[0-4]):?[0-5][0-9])?"
)


def plausible_date(written: str) -> bool:
    """False for what no calendar shows: a month, day, hour or minute out of range, an offset
    beyond ±14:00, or a bare number (neither parser reads those alike)."""
    return _PLAIN_DATE.fullmatch(written) is not None or _plausible(written)


def _plausible(written: str) -> bool:
    """``plausible_date``'s general way, for any text."""
    text = written.strip()
    if text.isdigit() and len(text) > 8:  # 20261123 is a date; 12345678901234567890 none
        return False
    hour = minute = second = 0
    # The "-" and the window of the offset's longest match only skip searches that cannot match.
    if "-" in text and (found := _ISO_DATE.search(text)):
        year, month, day, hour, minute, second = map(int, found.groups("0"))
        if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(year or 1, month)[1]:
            return False
    elif found := _RFC822_TIME.search(text):
        hour, minute, second = map(int, found.groups("0"))
    if hour > 24 or minute > 59 or second > 60:
        return False
    offset = _OFFSET.search(text, max(0, len(text) - 7))  # text is stripped: the match ends it
    return not offset or (int(offset.group(2)) <= 14 and int(offset.group(3)) <= 59)


def to_message(feed_url: str, feed_title: str | None, entry: Mapping[str, Any], fetched_at: str) -> dict[str, Any]:
    """The entry's message with the id it has when alone (``to_messages`` decides for a document)."""
    return _message(feed_url, _feed_title(feed_title), entry, fetched_at)


def _message(feed_url: str, feed_title: str | None, entry: Mapping[str, Any], fetched_at: str) -> dict[str, Any]:
    """``to_message`` with the feed's title already cleaned (``_feed_title``)."""
    return {
        "schema": SCHEMA,
        "id": item_id(feed_url, entry),
        "feed_url": feed_url,
        "feed_title": feed_title,
        "title": clean_text(entry.get("title"), MAX_TITLE_CHARS),
        "link": resolve_link(feed_url, entry.get("link")),
        "summary": clean_text(entry.get("summary"), MAX_SUMMARY_CHARS),
        "author": clean_text(entry.get("author"), MAX_TITLE_CHARS),
        "tags": clean_tags(entry.get("tags")),
        "published_at": published_at(entry),
        "fetched_at": fetched_at,
    }


def _feed_title(title: str | None) -> str | None:
    """The channel's title as given (controls removed), cut to ``MAX_FEED_TITLE_CHARS``."""
    if not isinstance(title, str):
        return None
    title = _CONTROL.sub("", title)
    return title if len(title) <= MAX_FEED_TITLE_CHARS else title[: MAX_FEED_TITLE_CHARS - 1] + "…"
