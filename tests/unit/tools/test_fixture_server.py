"""The fixture server answers like the sources it stands in for, and its data is what the fixtures promise."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import feedparser
import pytest
import requests

from tools.services.fixture_data import synthetic_markets
from tools.services.fixture_server import FEEDS, POLYMARKET, FixtureServer

ROOT = Path(__file__).resolve().parents[3]
CONTENT_TYPES = {
    "rss2_news.xml": "application/rss+xml; charset=UTF-8",
    "atom_blog.xml": "application/atom+xml; charset=utf-8",
    "atom_duplicates.xml": "application/atom+xml; charset=utf-8",
    "rdf_science.rdf": "application/rdf+xml; charset=UTF-8",
    "latin1_nodates.xml": "application/rss+xml; charset=ISO-8859-1",
    "podcast_itunes.xml": "application/rss+xml; charset=UTF-8",
}
OPEN = {"active": "true", "closed": "false", "order": "volume24hr", "ascending": "false"}


@pytest.fixture(scope="module")
def server() -> Iterator[FixtureServer]:
    with FixtureServer(synthetic_markets=250, synthetic_feeds=3, items=12) as running:
        yield running


def get(server: FixtureServer, path: str, **kwargs: object) -> requests.Response:
    return requests.get(f"{server.url}{path}", timeout=5, **kwargs)  # type: ignore[arg-type]


def post(server: FixtureServer, path: str, body: Any) -> requests.Response:
    return requests.post(f"{server.url}{path}", json=body, timeout=5)


@pytest.mark.parametrize("name", sorted(CONTENT_TYPES))
def test_each_recorded_feed_is_served_with_validators_and_answers_304(server: FixtureServer, name: str) -> None:
    # Given a recorded feed, fetched once
    url = f"{server.url}/feeds/{name}"
    first = requests.get(url, timeout=5)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    # Then it is the file's bytes, typed by its root element with the charset its declaration names
    assert first.status_code == 200 and first.content == (FEEDS / name).read_bytes()
    assert first.headers["Content-Type"] == CONTENT_TYPES[name]
    # And the validators it carries turn the next fetch into an empty 304
    for headers in ({"If-None-Match": etag}, {"If-None-Match": f'"x", W/{etag}'}, {"If-Modified-Since": modified}):
        again = requests.get(url, headers=headers, timeout=5)
        assert (again.status_code, again.content, again.headers["ETag"]) == (304, b"", etag)
    # While a changed ETag or an older date gets the body again, and If-None-Match outranks the date
    for headers in (
        {"If-None-Match": '"other"'},
        {"If-Modified-Since": "Sun, 01 Nov 2026 00:00:00 GMT"},
        {"If-None-Match": '"other"', "If-Modified-Since": modified},
    ):
        assert requests.get(url, headers=headers, timeout=5).status_code == 200


def test_feed_index_lists_recorded_and_synthetic_feeds_and_unknown_feeds_are_404(server: FixtureServer) -> None:
    listed = get(server, "/feeds/").json()
    assert listed == server.feed_urls() + server.synthetic_feed_urls()
    assert sorted(url.rsplit("/", 1)[1] for url in server.feed_urls()) == sorted(CONTENT_TYPES)
    for missing in ("/feeds/missing.xml", "/feeds/README.md", "/feeds/synthetic/3.xml", "/feeds/../tools/x.py"):
        assert get(server, missing).status_code == 404


def test_synthetic_feeds_have_the_asked_items_and_stable_etags(server: FixtureServer) -> None:
    # Given the same synthetic feed from two servers
    first = requests.get(server.synthetic_feed_urls()[2], timeout=5)
    with FixtureServer(synthetic_feeds=3, items=12) as other:
        second = requests.get(other.synthetic_feed_urls()[2], timeout=5)
    # Then the bytes and ETag are the same, and the feed has the asked number of items
    assert first.content == second.content and first.headers["ETag"] == second.headers["ETag"]
    assert len(feedparser.parse(first.content).entries) == 12


@pytest.mark.parametrize("path", sorted([*FEEDS.glob("*.xml"), *FEEDS.glob("*.rdf")]), ids=lambda p: p.name)
def test_recorded_feed_files_say_what_they_exercise_and_parse_cleanly(path: Path) -> None:
    body = path.read_bytes()
    assert re.match(rb"<\?xml [^>]*\?>\s*<!-- ", body), "an XML comment must follow the declaration"
    parsed = feedparser.parse(body)
    assert not parsed.bozo and 8 <= len(parsed.entries) <= 30


def test_keyset_paging_reaches_every_selected_market_once(server: FixtureServer) -> None:
    # Given filters that select the open markets with some liquidity, by 24-hour volume
    params = {**OPEN, "limit": 100, "liquidity_num_min": 500}
    # When every page is followed, the filters re-sent with each cursor
    rows: list[dict[str, Any]] = []
    pages, cursor = 0, None
    while pages == 0 or cursor:
        page = get(server, "/gamma/markets/keyset", params={**params, "after_cursor": cursor} if cursor else params)
        assert page.status_code == 200
        rows, pages, cursor = rows + page.json()["markets"], pages + 1, page.json().get("next_cursor")
    # Then each selected market comes exactly once, in order, over ceil(n / 100) pages
    expected = [
        m["id"] for m in server.data.markets if m["active"] and not m["closed"] and m.get("liquidityNum", 0) >= 500
    ]
    assert sorted(r["id"] for r in rows) == sorted(expected) and len(rows) == len(set(expected)) > 200
    assert pages == -(-len(expected) // 100)
    volumes = [r["volume24hr"] for r in rows]
    assert volumes == sorted(volumes, reverse=True)


def test_the_cursor_does_not_carry_the_filters(server: FixtureServer) -> None:
    # Given a first page of open markets
    first = get(server, "/gamma/markets/keyset", params={**OPEN, "limit": 100}).json()
    # When the next page is asked for without re-sending the filters
    bare = get(server, "/gamma/markets/keyset", params={"limit": 100, "after_cursor": first["next_cursor"]}).json()
    # Then it is not the filtered continuation: filters must be re-sent with every cursor
    resent = get(server, "/gamma/markets/keyset", params={**OPEN, "limit": 100, "after_cursor": first["next_cursor"]})
    assert [m["id"] for m in bare["markets"]] != [m["id"] for m in resent.json()["markets"]]


def test_paging_limits_and_refusals(server: FixtureServer) -> None:
    keyset = f"{server.url}/gamma/markets/keyset"
    first = requests.get(keyset, params={"limit": 5}, timeout=5).json()
    # `cursor` is not Gamma's parameter: it is ignored and the first page comes back
    ignored = requests.get(keyset, params={"limit": 5, "cursor": first["next_cursor"]}, timeout=5).json()
    assert ignored == first
    # Keyset pages hold at most 100 markets; the offset listing refuses to page past 2000
    assert len(requests.get(keyset, params={"limit": 500}, timeout=5).json()["markets"]) == 100
    assert len(get(server, "/gamma/markets", params={"offset": 2000}).json()) == 0
    refused = get(server, "/gamma/markets", params={"offset": 2001})
    assert refused.status_code == 422
    assert refused.json() == {
        "type": "validation error",
        "error": "offset too large, use /markets/keyset for deeper pagination",
    }
    for params in ({"offset": 0}, {"limit": "many"}, {"after_cursor": "not-a-cursor"}, {"active": "yes"}):
        assert requests.get(keyset, params=params, timeout=5).status_code == 422


def test_gamma_filters(server: FixtureServer) -> None:
    markets = get(server, "/gamma/markets", params={"limit": 1000}).json()
    assert len(markets) == len(server.data.markets) and "tags" not in markets[0]
    slugs = [markets[0]["slug"], markets[5]["slug"]]
    assert [m["slug"] for m in get(server, "/gamma/markets", params={"slug": slugs}).json()] == slugs
    tagged = get(server, "/gamma/markets", params={"tag_id": "745", "include_tag": "true"}).json()
    assert tagged and all(any(t["id"] == "745" for t in m["tags"]) for m in tagged)
    by_volume = get(server, "/gamma/markets", params={"order": "volumeNum", "ascending": "true", "limit": 50}).json()
    assert [m["volumeNum"] for m in by_volume] == sorted(m["volumeNum"] for m in server.data.markets)[:50]
    closed = get(server, "/gamma/markets", params={"closed": "true", "volume_num_min": 1}).json()
    assert closed and all(m["closed"] and m["volumeNum"] >= 1 for m in closed)


def test_clob_single_endpoints_follow_the_book(server: FixtureServer) -> None:
    token = next(iter(server.data.books))
    book = get(server, "/clob/book", params={"token_id": token}).json()
    bids, asks = [Decimal(lv["price"]) for lv in book["bids"]], [Decimal(lv["price"]) for lv in book["asks"]]
    # The book lists bids ascending and asks descending: the best of each side comes last
    assert bids == sorted(bids) and asks == sorted(asks, reverse=True) and book["asset_id"] == token
    assert {"market", "timestamp", "hash", "min_order_size", "tick_size", "neg_risk", "last_trade_price"} <= set(book)
    # side=BUY answers the best bid, SELL the best ask, as the live API does; mid is halfway, as a string
    buy = get(server, "/clob/price", params={"token_id": token, "side": "BUY"}).json()
    sell = get(server, "/clob/price", params={"token_id": token, "side": "sell"}).json()
    assert (Decimal(buy["price"]), Decimal(sell["price"])) == (bids[-1], asks[-1])
    mid = get(server, "/clob/midpoint", params={"token_id": token}).json()
    assert Decimal(mid["mid"]) == (bids[-1] + asks[-1]) / 2
    # Errors have the live API's statuses and {"error": ...} bodies
    missing = get(server, "/clob/book", params={"token_id": "1"})
    assert (missing.status_code, missing.json()) == (404, {"error": "No orderbook exists for the requested token id"})
    assert get(server, "/clob/price", params={"token_id": "0x12"}).json() == {"error": "Invalid token id"}
    assert get(server, "/clob/price", params={"token_id": token, "side": "HOLD"}).status_code == 400


def test_clob_batches_agree_with_single_endpoints_and_leave_out_unknown_tokens(server: FixtureServer) -> None:
    tokens = list(server.data.books)[:3]
    books = post(server, "/clob/books", [{"token_id": t} for t in [*tokens, "1"]]).json()
    assert [b["asset_id"] for b in books] == tokens
    mids = post(server, "/clob/midpoints", [{"token_id": t} for t in [*tokens, "1"]]).json()
    assert mids == {t: get(server, "/clob/midpoint", params={"token_id": t}).json()["mid"] for t in tokens}
    asked = [{"token_id": t, "side": s} for t in [*tokens, "1"] for s in ("BUY", "SELL")]
    prices = post(server, "/clob/prices", asked).json()
    assert set(prices) == set(tokens) and all(set(sides) == {"BUY", "SELL"} for sides in prices.values())
    assert (
        prices[tokens[0]]["SELL"]
        == get(server, "/clob/price", params={"token_id": tokens[0], "side": "SELL"}).json()["price"]
    )
    assert post(server, "/clob/prices", [{"token_id": tokens[0]}]).json() == {"error": "Invalid side"}
    assert post(server, "/clob/books", {"token_id": tokens[0]}).status_code == 400
    assert post(server, "/clob/books", [{"token_id": tokens[0]}] * 501).json() == {"error": "Payload exceeds the limit"}


def test_a_one_sided_book_has_no_midpoint(server: FixtureServer) -> None:
    token = next(t for t, b in server.data.books.items() if not b["asks"])
    assert get(server, "/clob/midpoint", params={"token_id": token}).status_code == 404
    assert post(server, "/clob/midpoints", [{"token_id": token}]).json() == {}
    assert get(server, "/clob/price", params={"token_id": token, "side": "BUY"}).status_code == 200


def test_latency_is_added_to_every_answer_and_requests_are_counted_per_method_and_path() -> None:
    with FixtureServer(latency_ms=150) as slow:
        for path in ("/feeds/", "/gamma/markets", "/gamma/markets?limit=1", "/clob/book?token_id=1"):
            started = time.monotonic()
            get(slow, path)
            assert time.monotonic() - started >= 0.15
        started = time.monotonic()
        post(slow, "/clob/books", [])
        assert time.monotonic() - started >= 0.15
        assert slow.requests == {"GET /feeds/": 1, "GET /gamma/markets": 2, "GET /clob/book": 1, "POST /clob/books": 1}


def test_synthetic_markets_are_deterministic_and_shaped_like_the_recorded_ones() -> None:
    # Given the same count and seed twice, and another seed
    rows, books = synthetic_markets(40, seed=7)
    assert (rows, books) == synthetic_markets(40, seed=7)
    assert rows != synthetic_markets(40, seed=8)[0]
    # Then ids, condition ids and token ids look like Polymarket's, and every token has a book
    tokens = [t for row in rows for t in json.loads(row["clobTokenIds"])]
    assert all(re.fullmatch(r"[1-9]\d{76,77}", t) for t in tokens)
    assert all(re.fullmatch(r"0x[0-9a-f]{64}", row["conditionId"]) for row in rows)
    assert sorted(b["asset_id"] for b in books) == sorted(tokens)
    # And a binary market's two books mirror each other, as the CLOB matches Yes against No
    yes, no = books[0], books[1]
    assert [Decimal(1) - Decimal(lv["price"]) for lv in yes["asks"]] == [Decimal(lv["price"]) for lv in no["bids"]]


def test_recorded_markets_are_what_the_readme_describes() -> None:
    rows = json.loads((POLYMARKET / "gamma_markets.json").read_text(encoding="utf-8"))
    books = {b["asset_id"] for b in json.loads((POLYMARKET / "clob_books.json").read_text(encoding="utf-8"))}
    open_rows = [r for r in rows if r["active"] and not r["closed"]]
    assert 35 <= len(rows) <= 50 and len(open_rows) <= 50 and any(r["closed"] for r in rows)
    parsed = [r for r in open_rows if r["clobTokenIds"].endswith("]") and float(json.loads(r["outcomePrices"])[0]) <= 1]
    assert len(open_rows) - len(parsed) == 2  # the two malformed rows
    missing = [t for r in parsed for t in json.loads(r["clobTokenIds"]) if t not in books]
    assert len(missing) == 1  # the Ethereum market's No token
    assert any(len(json.loads(r["outcomes"])) > 2 for r in rows) and any(r["negRisk"] for r in rows)
    assert all(isinstance(r["volume"], str) and isinstance(r["volumeNum"], float) for r in rows)


def test_cli_prints_its_url_serves_logs_when_verbose_and_stops_on_sigterm(tmp_path: Path) -> None:
    # Given the CLI started as a script, on a free port, with its own feeds folder
    (tmp_path / "one.rss").write_bytes((FEEDS / "rss2_news.xml").read_bytes())
    command = [sys.executable, "tools/services/fixture_server.py", "--port", "0", "--feeds", str(tmp_path)]
    command += ["--latency-ms", "20", "--synthetic-markets", "5", "--verbose"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # When it reports ready and is asked for feeds and markets
        assert process.stdout is not None
        url = json.loads(process.stdout.readline())["url"]
        assert requests.get(f"{url}/feeds/", timeout=5).json() == [f"{url}/feeds/one.rss"]
        assert requests.get(f"{url}/feeds/one.rss", timeout=5).headers["Content-Type"].startswith("application/rss+xml")
        assert len(requests.get(f"{url}/gamma/markets", params={"id": "900004"}, timeout=5).json()) == 1
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    # Then it exits cleanly, having logged each request to stderr
    assert process.returncode == 0
    assert re.search(r"GET /gamma/markets\?id=900004 HTTP/1.1\" 200", stderr)
