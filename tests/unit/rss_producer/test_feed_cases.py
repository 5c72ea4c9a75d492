"""Feed documents, one case a file under cases/: each names what it expects in its header (a JSON
Feed in its ``_test`` extension object). ``unique`` is the number of distinct messages a run sends."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import rss_fetch
import rss_identity
import rss_items
import rss_parse

CASES = sorted(p for p in (Path(__file__).parent / "cases").iterdir() if p.is_file())
FEED_URL = "https://feeds.test/cases/feed.xml"


def expectation(path: Path) -> dict[str, Any]:
    if path.suffix == ".json":
        return json.loads(path.read_bytes())["_test"]["expect"]  # type: ignore[no-any-return]
    found = re.search(rb"expect: (\{.*?\}) -->", path.read_bytes(), re.DOTALL)
    assert found, f"{path.name} names no expectation"
    raw = found.group(1)
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:  # the header is in the document's own encoding
        return json.loads(raw.decode("cp1252"))


@pytest.mark.parametrize("parser", rss_parse.PARSERS)
@pytest.mark.parametrize("path", CASES, ids=[p.name for p in CASES])
def test_case(path: Path, parser: str) -> None:
    expect = expectation(path)
    body = path.read_bytes()
    parse = rss_parse.FeedParser(parser)
    if expect["status"] == "error":
        with pytest.raises(rss_fetch.FeedError, match=expect["error"]):
            parse(FEED_URL, body, {})
        return
    feed = parse(FEED_URL, body, {})
    messages = rss_items.to_messages(FEED_URL, feed.title, feed.entries, "2026-11-23T00:00:00Z")
    assert len(messages) == expect["items"]
    assert len({m["id"] for m in messages}) == expect["unique"]
    assert (feed.warning is not None) == expect.get("bozo", False)
    if "null_dates" in expect:
        assert sum(m["published_at"] is None for m in messages) == expect["null_dates"]
    for field, key in (
        ("published", "published_at"),
        ("links", "link"),
        ("titles", "title"),
        ("authors", "author"),
        ("tags", "tags"),
        ("summaries", "summary"),
    ):
        if field in expect:
            assert [m[key] for m in messages] == expect[field]
    if "guids" in expect:  # the id is the guid's, as given
        assert [m["id"] for m in messages] == [rss_identity.item_id(FEED_URL, {"id": guid}) for guid in expect["guids"]]
    if "tag_counts" in expect:
        assert [len(m["tags"]) for m in messages] == expect["tag_counts"]
    for message in messages:
        assert message["schema"] == "rss_item/1" and message["feed_url"] == FEED_URL
        json.dumps(message)  # every message is valid JSON
