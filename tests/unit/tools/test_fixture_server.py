"""The fixture server answers like the sources it stands in for."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from tools.fixture_server import FixtureServer


@pytest.fixture(scope="module")
def server() -> Iterator[FixtureServer]:
    with FixtureServer(synthetic_markets=250) as running:
        yield running


def test_feeds_carry_validators_and_answer_304(server: FixtureServer) -> None:
    url = next(u for u in server.feed_urls() if u.endswith("rss2_news.xml"))
    first = requests.get(url, timeout=5)
    assert first.status_code == 200 and first.headers["Content-Type"] == "application/rss+xml"
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert requests.get(url, headers={"If-None-Match": etag}, timeout=5).status_code == 304
    assert requests.get(url, headers={"If-Modified-Since": modified}, timeout=5).status_code == 304
    assert requests.get(url, headers={"If-None-Match": '"other"'}, timeout=5).status_code == 200
    assert requests.get(f"{server.url}/feeds/missing.xml", timeout=5).status_code == 404


def test_keyset_paging_reaches_every_market_once(server: FixtureServer) -> None:
    params = {"active": "true", "closed": "false", "limit": 100, "order": "volume24hr", "ascending": "false"}
    seen, cursor, pages = [], None, 0
    while True:
        page = requests.get(
            f"{server.url}/gamma/markets/keyset",
            params={**params, **({"after_cursor": cursor} if cursor else {})},
            timeout=5,
        ).json()
        seen += [m["id"] for m in page["markets"]]
        pages += 1
        cursor = page.get("next_cursor")
        if not cursor:
            break
    open_markets = [m for m in server.data.markets if m["active"] and not m["closed"]]
    assert sorted(seen) == sorted(m["id"] for m in open_markets)
    assert pages == -(-len(open_markets) // 100)


def test_cursor_is_ignored_and_deep_offsets_are_refused(server: FixtureServer) -> None:
    first = requests.get(f"{server.url}/gamma/markets/keyset", params={"limit": 5}, timeout=5).json()
    ignored = requests.get(
        f"{server.url}/gamma/markets/keyset", params={"limit": 5, "cursor": first["next_cursor"]}, timeout=5
    ).json()
    assert ignored["markets"] == first["markets"]
    assert requests.get(f"{server.url}/gamma/markets", params={"offset": 2001}, timeout=5).status_code == 422


def test_clob_batches_and_single_endpoints_agree(server: FixtureServer) -> None:
    tokens = list(server.data.books)[:3]
    books = requests.post(f"{server.url}/clob/books", json=[{"token_id": t} for t in [*tokens, "1"]], timeout=5).json()
    assert [b["asset_id"] for b in books] == tokens  # unknown tokens are left out
    mids = requests.post(f"{server.url}/clob/midpoints", json=[{"token_id": t} for t in tokens], timeout=5).json()
    single = requests.get(f"{server.url}/clob/midpoint", params={"token_id": tokens[0]}, timeout=5).json()
    assert mids[tokens[0]] == single["mid"]
    prices = requests.post(
        f"{server.url}/clob/prices",
        json=[{"token_id": tokens[0], "side": "BUY"}, {"token_id": tokens[0], "side": "SELL"}],
        timeout=5,
    ).json()
    assert float(prices[tokens[0]]["BUY"]) > float(prices[tokens[0]]["SELL"])
    assert requests.get(f"{server.url}/clob/book", params={"token_id": "1"}, timeout=5).status_code == 404
    assert server.requests["POST /clob/books"] >= 1


def test_latency_is_added_to_every_answer() -> None:
    with FixtureServer(latency_ms=150) as slow:
        started = time.monotonic()
        requests.get(f"{slow.url}/feeds/", timeout=5)
        assert time.monotonic() - started >= 0.15
