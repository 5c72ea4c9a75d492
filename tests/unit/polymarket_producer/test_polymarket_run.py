"""A Polymarket run over stubbed Gamma and CLOB endpoints (``responses``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polymarket_run
import pytest
import requests
import responses
import urllib3.exceptions
from polymarket_api import PolymarketApi
from polymarket_settings import PolymarketSettings
from producer_common import ConfigurationError, OutgoingMessage
from producer_common.deadline import Deadline
from producer_common.http import RateLimiter, RetryPolicy
from responses import matchers

from tests.unit.producer_common.fakes import response

MARKETS = Path(__file__).parent / "markets"
GAMMA, CLOB = "https://gamma.test", "https://clob.test"
KEYSET = f"{GAMMA}/markets/keyset"
SETTINGS = PolymarketSettings.from_env(
    {"KAFKA_BOOTSTRAP_SERVERS": "b:9092", "POLYMARKET_GAMMA_URL": GAMMA, "POLYMARKET_CLOB_URL": CLOB + "/"}
)


def row(name: str, **changes: Any) -> dict[str, Any]:
    return {**json.loads((MARKETS / f"{name}.json").read_text()), **changes}


def numbered(count: int, start: int = 0) -> list[dict[str, Any]]:
    """Distinct binary markets with distinct token ids."""
    return [
        row(
            "binary_strings",
            id=str(start + i),
            slug=f"m-{start + i}",
            clobTokenIds=json.dumps([str(10**70 + 2 * (start + i)), str(10**70 + 2 * (start + i) + 1)]),
        )
        for i in range(count)
    ]


def book(token_id: str, bid: str, ask: str) -> dict[str, Any]:
    return {
        "market": "0x1",
        "asset_id": token_id,
        "bids": [{"price": "0.01", "size": "5"}, {"price": bid, "size": "100"}],
        "asks": [{"price": "0.99", "size": "5"}, {"price": ask, "size": "80"}],
        "hash": "h",
        "timestamp": "1",
    }


def api() -> PolymarketApi:
    fast, retry = RateLimiter(10_000, 1.0), RetryPolicy(attempts=3, base_delay_s=0.01)
    return PolymarketApi(requests.Session(), GAMMA, CLOB, retry=retry, gamma_limit=fast, clob_limit=fast)


def run(  # type: ignore[no-untyped-def]
    max_markets: int = 50, slugs: tuple[str, ...] = (), books: bool = True, client: PolymarketApi | None = None
):
    """One run; unless ``books`` is False (the test serves its own), the CLOB holds no books."""
    if books:
        responses.post(f"{CLOB}/books", json=[])
    sent: list[OutgoingMessage] = []
    selection = polymarket_run.Selection(slugs, max_markets)
    sources, counts = polymarket_run.produce_prices(client or api(), selection, sent.append, "2026-11-23T00:00:00Z")
    return sent, sources, counts


@responses.activate
def test_keyset_paging_follows_next_cursor_to_the_last_page_resending_filters() -> None:
    # Given three pages, the last without next_cursor, each answered only to the listing's filters
    filters = {"active": "true", "closed": "false", "order": "volume24hr", "ascending": "false", "limit": "100"}
    pages = [
        (numbered(100), {"next_cursor": "c1"}, {}),
        (numbered(100, 100), {"next_cursor": "c2"}, {"after_cursor": "c1"}),
        (numbered(30, 200), {}, {"after_cursor": "c2"}),
    ]
    for markets, cursor, after in pages:
        responses.get(
            KEYSET, json={"markets": markets, **cursor}, match=[matchers.query_param_matcher({**filters, **after})]
        )
    # When 500 markets are wanted
    sent, _, counts = run(500)
    # Then all 230 listed markets were taken, through exactly three keyset pages, never with `cursor`
    assert counts["markets"] == 230 and len(sent) == 460
    assert counts["requests"]["GET gamma/markets/keyset"] == 3
    assert all("cursor=" not in call.request.url.replace("after_cursor=", "") for call in responses.calls)


@responses.activate
def test_paging_stops_once_enough_markets_are_selected() -> None:
    responses.get(KEYSET, json={"markets": numbered(100), "next_cursor": "c1"})
    _, _, counts = run(40)
    assert counts["markets"] == 40 and counts["requests"]["GET gamma/markets/keyset"] == 1


@responses.activate
def test_tokens_are_priced_in_batches_from_books() -> None:
    # Given 120 markets (240 tokens) with a book for every token, and batches of 100
    markets = numbered(120)
    responses.get(KEYSET, json={"markets": markets})

    def books(request: Any) -> tuple[int, dict[str, str], str]:
        wanted = [item["token_id"] for item in json.loads(request.body)]
        return 200, {}, json.dumps([book(token, "0.40", "0.44") for token in wanted])

    responses.add_callback(responses.POST, f"{CLOB}/books", callback=books)
    sent, sources, counts = run(200, books=False)
    # Then three CLOB requests priced all 240 tokens from the books
    assert counts["requests"]["POST clob/books"] == 3 and counts["tokens"] == 240
    assert counts["priced_by_clob"] == 240 and len(sent) == 240
    first = sent[0].value
    assert (first["best_bid"], first["best_ask"], first["midpoint"], first["price"]) == (0.40, 0.44, 0.42, 0.42)
    assert first["price_source"] == "clob" and sent[0].headers["source"] == CLOB
    assert sent[0].key == first["token_id"] and sources[1].status == "ok"


@responses.activate
def test_a_clob_failure_falls_back_to_gamma_prices() -> None:
    responses.get(KEYSET, json={"markets": [row("binary_strings")]})
    responses.post(f"{CLOB}/books", status=503)
    sent, sources, counts = run(books=False)
    assert [m.value["price"] for m in sent] == [0.615, 0.385]
    assert {m.value["price_source"] for m in sent} == {"gamma"} and sent[0].headers["source"] == GAMMA
    assert sources[1].status == "error" and sources[1].error == "clob /books: HTTP 503"
    assert counts["requests"]["POST clob/books"] == 1  # one logical request; its retries are not separate


@responses.activate
def test_429_is_retried_then_succeeds() -> None:
    responses.get(KEYSET, status=429, headers={"Retry-After": "0"})
    responses.get(KEYSET, json={"markets": [row("binary_strings")]})
    sent, sources, _ = run()
    assert len(sent) == 2 and sources[0].status == "ok"


@responses.activate
def test_malformed_markets_are_counted_and_the_run_goes_on() -> None:
    skipped = ("bad_token_ids", "non_numeric_token", "count_mismatch", "no_condition_id", "no_tokens")
    bad = [row(name) for name in skipped]
    responses.get(KEYSET, json={"markets": [*bad, row("multi_outcome_lists")]})
    sent, sources, counts = run()
    assert counts["skipped_markets"] == 5 and counts["markets"] == 1 and len(sent) == 3
    assert sources[0].items == 6 and sources[0].new == 1


@responses.activate
def test_a_token_with_no_price_anywhere_is_not_sent() -> None:
    responses.get(KEYSET, json={"markets": [row("no_outcome_prices")]})
    sent, _, counts = run()
    assert sent == [] and counts["unpriced_tokens"] == 2


@responses.activate
def test_slugs_are_asked_for_by_name() -> None:
    gamma = responses.get(KEYSET, json={"markets": [row("binary_strings")]})
    run(10, ("fed-cut-december", "other"))
    assert "slug=fed-cut-december&slug=other" in gamma.calls[0].request.url
    assert "active=" not in gamma.calls[0].request.url


@responses.activate
@pytest.mark.parametrize(
    "answer", [{"status": 500}, {"json": {"error": "shape"}}, {"body": "<html>"}, {"json": [1, 2]}]
)
def test_a_gamma_failure_is_a_source_error_not_a_crash(answer: dict[str, Any]) -> None:
    responses.get(KEYSET, **answer)
    sent, sources, counts = run()
    assert sent == [] and sources[0].status == "error" and counts["markets"] == 0


@pytest.mark.parametrize(
    ("detail", "expected"),
    [({}, ((), 50)), ({"slugs": ["a", "b", "a"]}, (("a", "b"), 50)), ({"max_markets": 7}, ((), 7))],
)
def test_event_overrides(detail: dict[str, Any], expected: tuple[tuple[str, ...], int]) -> None:
    selection = polymarket_run.select({"detail": detail}, SETTINGS)
    assert (selection.slugs, selection.max_markets) == expected


@pytest.mark.parametrize("detail", [{"slugs": "a"}, {"max_markets": 0}, {"max_markets": "5"}, {"slugs": [""]}])
def test_bad_overrides_are_configuration_errors(detail: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match="detail"):
        polymarket_run.select({"detail": detail}, SETTINGS)


def keyset_pages(page: Any) -> list[int]:
    """Gamma answering page(n) for the n-th request; 500 past 60 pages (the test's own guard, so a listing
    that never ends fails instead of hanging)."""
    served = [0]

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        served[0] += 1
        return (500, {}, "{}") if served[0] > 60 else (200, {}, json.dumps(page(served[0])))

    responses.add_callback(responses.GET, KEYSET, callback=answer)
    return served


@responses.activate
def test_more_pages_than_max_markets_can_need_end_the_listing() -> None:
    # Given a listing whose cursor always advances but whose pages repeat the same 3 markets
    served = keyset_pages(lambda n: {"markets": numbered(3), "next_cursor": f"c{n}"})
    # When 150 markets are wanted (2 pages of 100, 4 allowed)
    sent, sources, counts = run(150)
    # Then listing ends after 4 pages with a warning, and the 3 markets are priced from Gamma
    assert served[0] == 4 and counts["markets"] == 3 and len(sent) == 6
    assert sources[0].status == "ok" and sources[0].error == "more than 4 pages"


@responses.activate
def test_an_empty_page_with_a_cursor_ends_the_listing() -> None:
    pages = [{"markets": numbered(2), "next_cursor": "a"}, {"markets": [], "next_cursor": "b"}]
    served = keyset_pages(lambda n: pages[min(n, 2) - 1])
    sent, sources, counts = run(500)
    assert served[0] == 2 and counts["markets"] == 2 and len(sent) == 4
    assert sources[0].error == "an empty page with a next cursor"


@responses.activate
def test_the_deadline_bounds_listing_and_the_run_prices_what_it_has() -> None:
    # Given a deadline that loses 10 s a look, and a listing that would go on for ever
    remaining = iter(range(60_000, -1, -10_000))
    client = api()
    client.deadline, client.timeout_s = Deadline(lambda: next(remaining)), 10.0
    served = keyset_pages(lambda n: {"markets": numbered(3), "next_cursor": f"c{n}"})  # no page adds a market
    responses.post(f"{CLOB}/books", json=[book(str(10**70), "0.40", "0.44")])
    # When 10,000 markets are wanted
    sent, sources, counts = run(10_000, books=False, client=client)
    # Then listing stopped once 20 s (two timeouts) were left, and what it found was priced
    assert served[0] == 4 and counts["markets"] == 3 and len(sent) == 6
    assert sources[0].error == "the time left is kept for pricing" and counts["priced_by_clob"] == 1


@responses.activate
def test_a_failure_after_the_first_page_keeps_the_first_page_s_markets() -> None:
    responses.get(KEYSET, json={"markets": numbered(2), "next_cursor": "a"})
    responses.get(KEYSET, status=404)
    sent, sources, counts = run(500)
    assert counts["markets"] == 2 and len(sent) == 4
    assert sources[0].status == "error" and sources[0].error == "gamma /markets/keyset: HTTP 404"


@responses.activate
def test_a_50_mb_gamma_answer_is_refused_by_the_size_cap() -> None:
    # Given Gamma answering 50 MB (a list of markets padded with spaces)
    responses.get(KEYSET, body=b'{"markets": [' + b" " * (50 * 1024 * 1024) + b"]}")
    # When the run lists markets
    sent, sources, counts = run()
    # Then the answer is refused by the cap, a plain source error, and the run returns its summary
    assert sent == [] and counts["markets"] == 0
    assert sources[0].status == "error" and sources[0].error == "gamma /markets/keyset: body larger than 8388608 bytes"


def test_a_body_broken_while_it_is_read_is_a_source_error_with_a_plain_reason() -> None:
    # Given a session whose answers break while their body is read, the way urllib3 raises it
    # (the reason for each of urllib3's errors: test_read_capped.py)
    broken = urllib3.exceptions.ProtocolError("Connection broken: IncompleteRead")
    session = requests.Session()
    session.request = lambda *args, **kwargs: response([broken])  # type: ignore[method-assign]
    client = PolymarketApi(session, GAMMA, CLOB, retry=RetryPolicy(attempts=1))
    sent, sources, _ = run(5, books=False, client=client)
    assert sent == [] and sources[0].status == "error"
    assert sources[0].error == "gamma /markets/keyset: connection broken while reading the body"
