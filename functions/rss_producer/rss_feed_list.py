"""The feed list ``FEED_LIST_URI`` names: ``s3://bucket/key``, ``http(s)://...`` or ``file:///path``.

The format is found from the content: OPML 1.0 / 2.0 (every ``outline`` with an ``xmlUrl``, at any
depth; outlines without one are folders), JSON (an array of URLs, or of objects with ``url``), or
plain text (one URL a line, ``#`` comments, blank lines). Duplicates count once; entries that are
not http(s) URLs are skipped with a warning naming them. A warm container asks again with the
validator of its last read (S3 ``IfNoneMatch``, HTTP conditional GET, the file's mtime and size)
and keeps the list it parsed when nothing changed. A list that cannot be read raises
``FeedListError`` naming the URI.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote, urlsplit

import rss_entities
from producer_common import ConfigurationError, ProducerError
from producer_common.env import is_http_url
from rss_fetch import FeedError, Fetcher

log = logging.getLogger("rss_producer")

FEED_LIST_URI = "FEED_LIST_URI"
MAX_LIST_BYTES = 20 * 1024 * 1024  # about 130,000 OPML outlines
NAMED_IN_WARNING = 20  # skipped entries named in the warning; the rest are counted


class FeedListError(ProducerError):
    """The feed list could not be read or is not OPML, JSON or text; the message names its URI."""


@dataclass(frozen=True)
class FeedList:
    urls: tuple[str, ...]
    skipped: tuple[str, ...] = ()  # entries that are not http(s) URLs


def check_uri(uri: str) -> str:
    """``uri`` when it is one this module reads; a ``ConfigurationError`` naming ``FEED_LIST_URI`` otherwise."""
    parts = urlsplit(uri)
    if parts.scheme == "s3" and parts.netloc and parts.path.strip("/"):
        return uri
    if parts.scheme in ("http", "https") and is_http_url(uri):
        return uri
    if parts.scheme == "file" and parts.netloc in ("", "localhost") and parts.path.startswith("/"):
        return uri
    raise ConfigurationError(FEED_LIST_URI, f"expects s3://bucket/key, http(s)://... or file:///path, got {uri!r}")


def parse_feed_list(body: bytes) -> FeedList:
    """The feed URLs of an OPML, JSON or plain-text list; raises ``ValueError`` when it is none of them."""
    start = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if start == b"<":
        entries = _opml(body)
    elif start in (b"[", b"{"):
        entries = _json(body)
    else:
        entries = _lines(body)
    urls = [entry.strip() for entry in entries if isinstance(entry, str) and is_http_url(entry.strip())]
    skipped = [entry if isinstance(entry, str) else repr(entry)[:200] for entry in entries if not _is_url(entry)]
    return FeedList(tuple(dict.fromkeys(urls)), tuple(skipped))


def _is_url(entry: Any) -> bool:
    return isinstance(entry, str) and is_http_url(entry.strip())


def _opml(body: bytes) -> list[Any]:
    try:
        root = ElementTree.fromstring(rss_entities.expand(body) or body)
    except FeedError as error:
        raise ValueError(f"OPML refused: {error}") from None
    except ElementTree.ParseError as error:
        raise ValueError(f"not well-formed OPML: {error}") from None
    if _local(root.tag).lower() != "opml":
        raise ValueError(f"an XML document whose root is <{_local(root.tag)}>, not <opml>")
    entries = []
    for outline in root.iter():
        if _local(outline.tag) != "outline":
            continue
        url = next((value for name, value in outline.attrib.items() if _local(name).lower() == "xmlurl"), None)
        if url is not None:  # an outline without one is a folder
            entries.append(url)
    return entries


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _json(body: bytes) -> list[Any]:
    try:
        document = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"not valid JSON: {error}") from None
    if not isinstance(document, list):
        raise ValueError("JSON must be an array of URLs or of objects with url")
    return [entry.get("url", entry) if isinstance(entry, dict) else entry for entry in document]


def _lines(body: bytes) -> list[Any]:
    lines = body.decode("utf-8-sig", errors="replace").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


class FeedListReader:
    """Reads one URI, again with a validator on every call, keeping the last list parsed."""

    def __init__(self, uri: str, fetcher: Fetcher, s3_client: Any = None) -> None:
        self.uri = check_uri(uri)
        self._fetcher = replace(fetcher, max_bytes=MAX_LIST_BYTES)
        self._s3 = s3_client  # built on first use: boto3 only when a list lives in S3
        self._validator: Any = None
        self._list = FeedList(())
        self._lock = threading.Lock()

    def read(self) -> FeedList:
        with self._lock:
            try:
                body, validator = self._get(self._validator)
            except FeedListError:
                raise
            except Exception as error:  # whatever the transport raised (botocore, OS), named with the URI
                raise FeedListError(f"cannot read the feed list {self.uri}: {type(error).__name__}: {error}") from None
            if body is None:
                return self._list
            try:
                parsed = parse_feed_list(body)
            except ValueError as error:
                raise FeedListError(f"the feed list {self.uri} is not OPML, JSON or text: {error}") from None
            if parsed.skipped:
                named = ", ".join(repr(entry[:200]) for entry in parsed.skipped[:NAMED_IN_WARNING])
                more = len(parsed.skipped) - NAMED_IN_WARNING
                log.warning(
                    "feed list entries skipped: not http(s) URLs",
                    extra={"feed_list": self.uri, "skipped": named + (f" and {more} more" if more > 0 else "")},
                )
            self._validator, self._list = validator, parsed
            return parsed

    def _get(self, validator: Any) -> tuple[bytes | None, Any]:
        """The body and its validator, or None when it has not changed since ``validator``."""
        parts = urlsplit(self.uri)
        if parts.scheme == "s3":
            return self._get_s3(parts.netloc, unquote(parts.path.lstrip("/")), validator)
        if parts.scheme == "file":
            return self._get_file(unquote(parts.path), validator)
        try:
            fetched = self._fetcher.fetch(self.uri, validator)
        except FeedError as error:
            raise FeedListError(f"cannot read the feed list {self.uri}: {error}") from None
        return fetched.body, fetched.validators

    def _get_s3(self, bucket: str, key: str, etag: str | None) -> tuple[bytes | None, str | None]:
        from botocore.exceptions import ClientError

        request = {"Bucket": bucket, "Key": key, **({"IfNoneMatch": etag} if etag else {})}
        try:
            if self._s3 is None:
                import boto3  # in the Lambda runtime

                self._s3 = boto3.client("s3")
            response = self._s3.get_object(**request)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in ("304", "NotModified"):
                return None, etag
            raise FeedListError(f"cannot read the feed list {self.uri}: {code or error}") from None
        with response["Body"] as stream:
            body = stream.read(MAX_LIST_BYTES + 1)
        if len(body) > MAX_LIST_BYTES:
            raise FeedListError(f"the feed list {self.uri} is larger than {MAX_LIST_BYTES} bytes")
        return body, response.get("ETag")

    def _get_file(self, path: str, stamp: tuple[int, int] | None) -> tuple[bytes | None, tuple[int, int]]:
        try:
            status = os.stat(path)
            now = (status.st_mtime_ns, status.st_size)
            if now == stamp:
                return None, now
            if status.st_size > MAX_LIST_BYTES:
                raise FeedListError(f"the feed list {self.uri} is larger than {MAX_LIST_BYTES} bytes")
            with open(path, "rb") as handle:
                return handle.read(), now
        except OSError as error:
            raise FeedListError(f"cannot read the feed list {self.uri}: {error.strerror or error}") from None
