"""Fetching and parsing one feed; bad input becomes a ``FeedError``, never a crash."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import feedparser
import requests


class FeedError(Exception):
    """This feed could not be fetched or is not a feed; the run goes on without it."""


@dataclass(frozen=True)
class ParsedFeed:
    url: str
    title: str | None
    entries: list[Any]
    warning: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def fetch(session: requests.Session, url: str, timeout_s: float, max_bytes: int) -> tuple[bytes, dict[str, str]]:
    """The body (at most ``max_bytes``, streamed) and the response headers."""
    try:
        with session.get(url, timeout=(min(timeout_s, 5.0), timeout_s), stream=True) as response:
            if response.status_code >= 400:
                raise FeedError(f"HTTP {response.status_code}")
            body = bytearray()
            for chunk in response.iter_content(64 * 1024):
                body += chunk
                if len(body) > max_bytes:
                    raise FeedError(f"body larger than {max_bytes} bytes")
            return bytes(body), {name.lower(): value for name, value in response.headers.items()}
    except requests.RequestException as error:
        raise FeedError(f"{type(error).__name__}") from error


def parse(url: str, body: bytes, headers: dict[str, str]) -> ParsedFeed:
    response_headers = {"content-location": url, **headers}
    document = feedparser.parse(body, response_headers=response_headers, sanitize_html=False)
    if not document.get("version") and not document.entries:
        reason = document.get("bozo_exception")
        raise FeedError(f"not a feed{f' ({type(reason).__name__})' if reason else ''}")
    warning = None
    if document.get("bozo"):
        warning = f"{type(document.bozo_exception).__name__}: {document.bozo_exception}"[:200]
    return ParsedFeed(url, document.feed.get("title"), list(document.entries), warning, headers)
