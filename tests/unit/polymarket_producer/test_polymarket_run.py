"""A Polymarket run over stubbed Gamma and CLOB endpoints (``responses``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polymarket_run
import pytest
import requests
import responses
from polymarket_api import PolymarketApi
from polymarket_settings import PolymarketSettings
from producer_common import ConfigurationError, OutgoingMessage
from producer_common.http import RateLimiter, RetryPolicy
from responses import matchers

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
    fast = RateLimiter(10_000, 1.0)
    return PolymarketApi(
        requests.Session(),
        GAMMA,
        CLOB,
        retry=RetryPolicy(attempts=3, base_delay_s=0.01),
        gamma_limit=fast,
        clob_limit=fast,
    )


def run(selection: polymarket_run.Selection | None = None, batch_size: int = 100):  # type: ignore[no-untyped-def]
    sent: list[OutgoingMessage] = []
    client = api()
    sources, counts = polymarket_run.produce_prices(
        client, selection or polymarket_run.Selection((), 50), sent.append, "2026-11-23T00:00:00Z", batch_size
    )
    return sent, sources, counts


@responses.activate
def test_keyset_paging_follows_next_cursor_to_the_last_page_resending_filters() -> None:
    # Given three pages, the last without next_cursor
    responses.get(
        KEYSET,
        json={"markets": numbered(100), "next_cursor": "c1"},
        match=[
            matchers.query_param_matcher(
                {"active": "true", "closed": "false", "order": "volume24hr", "ascending": "false", "limit": "100"}
            )
        ],
    )
    responses.get(
        KEYSET,
        json={"markets": numbered(100, 100), "next_cursor": "c2"},
        match=[
            matchers.query_param_matcher(
                {
                    "active": "true",
                    "closed": "false",
                    "order": "volume24hr",
                    "ascending": "false",
                    "limit": "100",
                    "after_cursor": "c1",
                }
            )
        ],
    )
    responses.get(
        KEYSET,
        json={"markets": numbered(30, 200)},
        match=[
            matchers.query_param_matcher(
                {
                    "active": "true",
                    "closed": "false",
                    "order": "volume24hr",
                    "ascending": "false",
                    "limit": "100",
                    "after_cursor": "c2",
                }
            )
        ],
    )
    responses.post(f"{CLOB}/books", json=[])
    # When 500 markets are wanted
    sent, _, counts = run(polymarket_run.Selection((), 500))
    # Then all 230 listed markets were taken, through exactly three keyset pages, never with `cursor`
    assert counts["markets"] == 230 and len(sent) == 460
    assert counts["requests"]["GET gamma/markets/keyset"] == 3
    assert all("cursor=" not in call.request.url.replace("after_cursor=", "") for call in responses.calls)


@responses.activate
def test_paging_stops_once_enough_markets_are_selected() -> None:
    responses.get(KEYSET, json={"markets": numbered(100), "next_cursor": "c1"})
    responses.post(f"{CLOB}/books", json=[])
    _, _, counts = run(polymarket_run.Selection((), 40))
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
    sent, sources, counts = run(polymarket_run.Selection((), 200))
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
    sent, sources, counts = run()
    assert [m.value["price"] for m in sent] == [0.615, 0.385]
    assert {m.value["price_source"] for m in sent} == {"gamma"} and sent[0].headers["source"] == GAMMA
    assert sources[1].status == "error" and sources[1].error == "clob /books: HTTP 503"
    assert counts["requests"]["POST clob/books"] == 1  # one logical request; its retries are not separate


@responses.activate
def test_429_is_retried_then_succeeds() -> None:
    responses.get(KEYSET, status=429, headers={"Retry-After": "0"})
    responses.get(KEYSET, json={"markets": [row("binary_strings")]})
    responses.post(f"{CLOB}/books", json=[])
    sent, sources, _ = run()
    assert len(sent) == 2 and sources[0].status == "ok"


@responses.activate
def test_malformed_markets_are_counted_and_the_run_goes_on() -> None:
    bad = [
        row(name)
        for name in (
            "bad_token_ids",
            "non_numeric_token",
            "count_mismatch",
            "no_condition_id",
            "no_tokens",
        )
    ]
    responses.get(KEYSET, json={"markets": [*bad, row("multi_outcome_lists")]})
    responses.post(f"{CLOB}/books", json=[])
    sent, sources, counts = run()
    assert counts["skipped_markets"] == 5 and counts["markets"] == 1 and len(sent) == 3
    assert sources[0].items == 6 and sources[0].new == 1


@responses.activate
def test_a_token_with_no_price_anywhere_is_not_sent() -> None:
    responses.get(KEYSET, json={"markets": [row("no_outcome_prices")]})
    responses.post(f"{CLOB}/books", json=[])
    sent, _, counts = run()
    assert sent == [] and counts["unpriced_tokens"] == 2


@responses.activate
def test_slugs_are_asked_for_by_name() -> None:
    gamma = responses.get(KEYSET, json={"markets": [row("binary_strings")]})
    responses.post(f"{CLOB}/books", json=[])
    run(polymarket_run.Selection(("fed-cut-december", "other"), 10))
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
