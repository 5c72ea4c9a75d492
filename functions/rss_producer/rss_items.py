"""Feed entries (``rss_parse.Entry``, whichever parser read them) normalised to ``rss_item/1`` messages."""

from __future__ import annotations

import calendar
import hashlib
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from html import unescape
from typing import Any
from urllib.parse import urljoin

from producer_common import utc_iso

SCHEMA = "rss_item/1"
MAX_SUMMARY_CHARS = 4000
MAX_TITLE_CHARS = 1000

_TAG = re.compile(r"<[^>]{0,2000}>")
_SPACE = re.compile(r"\s+")


def item_id(feed_url: str, entry: Mapping[str, Any]) -> str:
    """Stable across runs: the feed URL with the entry's guid, else link, else title and date."""
    link = entry.get("link")
    # A relative link is resolved as the message's link is: the same item whichever parser read it.
    identity = entry.get("id") or (urljoin(feed_url, link) if link else None)
    if not identity:
        dated = entry.get("published") if "published" in entry else entry.get("updated", "")
        identity = f"{entry.get('title', '')}\x1f{dated}"
    return hashlib.sha256(f"{feed_url}\x1f{identity}".encode()).hexdigest()[:32]


def clean_text(value: Any, limit: int) -> str | None:
    """Plain text from possibly-HTML content: tags dropped, entities decoded, space folded."""
    if not isinstance(value, str):
        return None
    text = _SPACE.sub(" ", unescape(_TAG.sub(" ", value))).strip()
    if not text:
        return None
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def published_at(entry: Mapping[str, Any]) -> str | None:
    """Both parsers give dates as UTC struct_time; None when the entry has no usable date."""
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    try:
        return utc_iso(datetime.fromtimestamp(calendar.timegm(parsed), tz=timezone.utc))
    except (OverflowError, ValueError, OSError):
        return None


def to_message(feed_url: str, feed_title: str | None, entry: Mapping[str, Any], fetched_at: str) -> dict[str, Any]:
    link = entry.get("link")
    return {
        "schema": SCHEMA,
        "id": item_id(feed_url, entry),
        "feed_url": feed_url,
        "feed_title": feed_title,
        "title": clean_text(entry.get("title"), MAX_TITLE_CHARS),
        "link": urljoin(feed_url, link) if isinstance(link, str) and link else None,
        "summary": clean_text(entry.get("summary"), MAX_SUMMARY_CHARS),
        "author": clean_text(entry.get("author"), MAX_TITLE_CHARS),
        "tags": list(entry.get("tags") or ()),
        "published_at": published_at(entry),
        "fetched_at": fetched_at,
    }
