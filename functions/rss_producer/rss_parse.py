"""Feed documents to entries: feedparser-rs when it can be trusted, feedparser as the reference.

Both parsers' entries are reduced to the same plain ``Entry`` dict, the only thing ``rss_items``
reads. feedparser-rs parses a 30-item feed about a hundred times faster; it is used for a document
only when nothing in it is known to make the two disagree (see ``_why_not_fast``), otherwise
feedparser parses it. ``tests/unit/rss_producer/test_parser_agreement.py`` holds them to that.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypedDict

import rss_bounds
import rss_entities
from rss_fetch import FeedError

FAST = "feedparser-rs"
REFERENCE = "feedparser"
PARSERS = (FAST, REFERENCE)

_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_NOT_PERMALINK = re.compile(rb"""<guid\s[^>]*isPermaLink\s*=\s*["']false["']""", re.IGNORECASE)
_UTF8 = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})


class Entry(TypedDict, total=False):
    """One feed entry as both parsers report it; a key is absent when the feed does not give it."""

    id: str
    link: str
    title: str
    summary: str
    author: str
    tags: list[str]
    published: str
    updated: str
    published_parsed: Any  # time.struct_time in UTC
    updated_parsed: Any  # only when there is no published_parsed: it stands in for it


_TEXT_FIELDS = ("id", "link", "title", "summary", "author", "published", "updated")
_DATE_FIELDS = ("published_parsed", "updated_parsed")  # the first a feed gives


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    entries: list[Entry]
    warning: str | None = None  # the reference parser read a malformed document
    parser: str = REFERENCE
    fallback: str | None = None  # why the fast parser's reading was not used
    total: int | None = None  # the document's entries, when more than were read (``MAX_PARSED_ENTRIES``)


@dataclass(frozen=True)
class FeedParser:
    """``parse(url, body, headers)`` with the parser chosen by ``FEED_PARSER``."""

    name: str = FAST

    def __call__(self, url: str, body: bytes, headers: dict[str, str]) -> ParsedFeed:
        body = rss_entities.expand(body) or body  # raises for external entities and runaway expansion
        if not is_json(body):  # a cut inside a JSON string would break the document; JSON parses in linear time
            body = rss_bounds.cap_text(body)
        reason = None
        # JSON Feed: only feedparser-rs reads it, whichever parser is chosen for XML
        if self.name == FAST or is_json(body):
            fast, reason = parse_fast(body, headers)
            if fast is not None:
                return fast
        return parse_reference(url, body, headers, fallback=reason)


DEFAULT = FeedParser()


def is_json(body: bytes) -> bool:
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def parse_fast(body: bytes, headers: dict[str, str]) -> tuple[ParsedFeed | None, str | None]:
    """feedparser-rs's reading, or None and the reason it would not match the reference's."""
    charset = _CHARSET.search(headers.get("content-type", ""))
    if charset and charset.group(1).lower() not in _UTF8:
        return None, f"charset {charset.group(1)} from HTTP"  # feedparser-rs reads only the document's own
    import feedparser_rs

    try:
        atom = feedparser_rs.detect_format(body).startswith("atom")
        # Relative links: feedparser-rs resolves RSS ones against the channel's <link>, the
        # reference leaves them to rss_items (against the feed's URL); Atom's xml:base both honour.
        document = feedparser_rs.parse(body, sanitize_html=False, resolve_relative_uris=atom)
    except Exception as error:  # a Rust panic surfaces as an exception; the reference gets its turn
        return None, f"failed: {type(error).__name__}"
    truncated = _entry_limit_only(document)
    reason = None if truncated else _why_not_fast(document, body)
    if reason:
        return None, reason
    if document.version.startswith("json"):
        entries, total = _json_entries(document, body)
        return ParsedFeed(_text(document.feed.get("title")), entries, parser=FAST, total=total), None
    author = _text(document.feed.get("author")) if atom else None
    entries = [_entry(entry.get, author) for entry in document.entries]
    total = rss_bounds.count_entries(body) if truncated else None
    return ParsedFeed(_text(document.feed.get("title")), entries, parser=FAST, total=total), None


def _entry_limit_only(document: Any) -> bool:
    """feedparser-rs read the first ``max_entries`` and stopped: the document is otherwise fine."""
    if not document.bozo or not document.get("version"):
        return False
    message = str(document.get("bozo_exception") or "").lower()
    return "entr" in message and "limit" in message and len(document.entries) >= rss_bounds.MAX_PARSED_ENTRIES


def _json_entries(document: Any, body: bytes) -> tuple[list[Entry], int | None]:
    """JSON Feed items: summary, else the content (text before HTML); every author; ids as strings;
    and the number of items in the document when it holds more than were read.

    The spec asks a reader to coerce an id that is not a string; feedparser-rs drops it, so ids
    are read from the document itself when its items line up with the entries.
    """
    try:
        raw = json.loads(body.decode("utf-8-sig"))
    except ValueError:
        raw = None
    items = raw.get("items") if isinstance(raw, dict) else None
    ids = [item.get("id") if isinstance(item, dict) else None for item in items] if isinstance(items, list) else []
    read = len(document.entries)
    aligned = len(ids) == read or (read == rss_bounds.MAX_PARSED_ENTRIES and len(ids) > read)  # cut at the limit
    entries = []
    for index, parsed in enumerate(document.entries):
        entry = _entry(parsed.get, None)
        raw_id = ids[index] if aligned else None
        if "id" not in entry and isinstance(raw_id, int | float) and not isinstance(raw_id, bool):
            entry["id"] = str(raw_id)
        if "summary" not in entry:
            contents = sorted(parsed.get("content") or (), key=lambda c: getattr(c, "type", "") != "text/plain")
            text = next((c.value for c in contents if isinstance(getattr(c, "value", None), str) and c.value), None)
            if text is not None:
                entry["summary"] = text
        people = parsed.get("authors") or ()
        names = [name for person in people if isinstance(name := getattr(person, "name", None), str)]
        if names:
            entry["author"] = ", ".join(dict.fromkeys(names))
        entries.append(entry)
    return entries, len(ids) if len(ids) > len(entries) else None


def _why_not_fast(document: Any, body: bytes) -> str | None:
    if document.bozo:
        return f"malformed: {str(document.get('bozo_exception') or 'bozo')[:120]}"
    version = document.get("version") or ""
    if not version:
        return "not an RSS, Atom or JSON feed"  # the reference decides what this is
    if version.startswith("json"):
        return None  # the reference reads RSS and Atom only
    relative_ids = ids = 0
    for entry in document.entries:
        itunes = entry.get("itunes")
        if itunes is not None and itunes.get("summary") is not None:
            return "itunes:summary"  # feedparser-rs lets it replace <description>; the reference keeps both
        if entry_id := entry.get("id"):
            ids += 1
            relative_ids += not _SCHEME.match(entry_id)
    # The reference resolves a permalink guid against the feed's URL, and a guid is a permalink
    # unless it says isPermaLink="false"; feedparser-rs does not say which guids did.
    if relative_ids and len(_NOT_PERMALINK.findall(body)) != ids:
        return "relative guids that may be permalinks"
    return None


def parse_reference(url: str, body: bytes, headers: dict[str, str], fallback: str | None = None) -> ParsedFeed:
    """feedparser over the bytes with the response headers; a malformed but readable feed keeps its entries."""
    feedparser = _reference()
    # Without a content type feedparser flags every document; XML is what a feed URL promises.
    response_headers = {"content-location": url, "content-type": "application/xml", **headers}
    total = rss_bounds.count_entries(body)
    if total > rss_bounds.MAX_PARSED_ENTRIES:  # feedparser holds every entry of a document at once
        body = rss_bounds.first_entries(body)
    document = feedparser.parse(body, response_headers=response_headers, sanitize_html=False)
    if not document.get("version") and not document.entries:
        reason = document.get("bozo_exception")
        raise FeedError(f"not a feed{f' ({type(reason).__name__})' if reason else ''}")
    warning = None
    if document.get("bozo"):
        warning = f"{type(document.bozo_exception).__name__}: {document.bozo_exception}"[:200]
    feed = document.feed
    # Atom: an entry without an author has the feed's (RFC 4287 4.2.1), as feedparser-rs reports it
    author = _text(dict.get(feed, "author")) if document.get("version", "").startswith("atom") else None
    # dict.get reads what the document holds, without FeedParserDict's aliases (updated -> published)
    entries = [_entry(partial(dict.get, entry), author) for entry in document.entries]
    truncated = total if total > rss_bounds.MAX_PARSED_ENTRIES else None
    return ParsedFeed(_text(dict.get(feed, "title")), entries, warning, REFERENCE, fallback, truncated)


@functools.cache
def _reference() -> Any:
    """feedparser, keeping a URI it cannot resolve as given instead of blanking it.

    feedparser resolves a permalink guid against the feed's URL and turns it into '' when
    ``urljoin`` raises (a guid such as ``http://[draft-7``); the guid as given is still the
    item's identity, as feedparser-rs reports it. Checked by ``test_robust_fields.py``.
    """
    import feedparser
    import feedparser.mixin

    resolve = feedparser.mixin._urljoin  # '' only when urljoin raised (or both were empty)
    # Two threads on the first call may wrap it twice, which changes nothing.
    feedparser.mixin._urljoin = lambda base, uri: resolve(base, uri) or uri
    return feedparser


def _entry(get: Callable[[str], Any], feed_author: str | None) -> Entry:
    """The fields rss_items reads, each through ``get``."""
    fields: dict[str, Any] = {}
    for name in _TEXT_FIELDS:
        value = get(name)
        if isinstance(value, str):
            fields[name] = value
    # The updated date stands in only where there is no published one (rss_items.published_at,
    # rss_run.newest); feedparser-rs builds a struct_time on each read, a third of this function's cost.
    for name in _DATE_FIELDS:
        value = get(name)
        if value:
            fields[name] = value
            break
    if feed_author and "author" not in fields:
        fields["author"] = feed_author
    fields["tags"] = [term for tag in get("tags") or () if isinstance(term := _term(tag), str) and term]
    return fields  # type: ignore[return-value]


def _term(tag: Any) -> Any:
    return tag.get("term") if isinstance(tag, dict) else getattr(tag, "term", None)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
