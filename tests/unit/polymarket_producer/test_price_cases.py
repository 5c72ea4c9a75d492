"""Whole runs over recorded-shape cases, one a file in tests/fixtures/polymarket/cases/: Gamma pages and
CLOB books served (``responses``) as the APIs answer, each file stating per token the price Polymarket
shows and the rule (``price_source``) that gives it, with the counts the summary must carry."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import polymarket_run
import pytest
import requests
import responses
from polymarket_api import PolymarketApi
from producer_common import OutgoingMessage
from producer_common.http import RateLimiter, RetryPolicy

CASES = sorted((Path(__file__).parents[2] / "fixtures" / "polymarket" / "cases").glob("*.json"))
GAMMA, CLOB = "https://gamma.test", "https://clob.test"
PAGE_GUARD = 50  # the test's own stop for a listing that would never end: answers 500 past this many pages


def serve(case: dict[str, Any]) -> None:
    """Gamma's pages in order (the last one again if asked for more), and the books the CLOB holds."""
    pages, served = case["pages"], [0]

    def keyset(request: Any) -> tuple[int, dict[str, str], str]:
        served[0] += 1
        if served[0] > PAGE_GUARD:
            return 500, {}, "{}"
        return 200, {}, json.dumps(pages[min(served[0], len(pages)) - 1])

    held = {book["asset_id"]: book for book in case["books"]}

    def books(request: Any) -> tuple[int, dict[str, str], str]:
        wanted = [item["token_id"] for item in json.loads(request.body)]
        return 200, {}, json.dumps([held[token] for token in wanted if token in held])

    responses.add_callback(responses.GET, f"{GAMMA}/markets/keyset", callback=keyset)
    responses.add_callback(responses.POST, f"{CLOB}/books", callback=books)


@responses.activate
@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_price_case(path: Path) -> None:
    # Given the case's Gamma pages and CLOB books
    case = json.loads(path.read_text())
    serve(case)
    chosen = case.get("selection", {})
    selection = polymarket_run.Selection(
        tuple(chosen.get("slugs", ())), chosen.get("max_markets", 50), min_liquidity=chosen.get("min_liquidity", 0.0)
    )
    fast = RateLimiter(10_000, 1.0)
    api = PolymarketApi(
        requests.Session(), GAMMA, CLOB, retry=RetryPolicy(attempts=1), gamma_limit=fast, clob_limit=fast
    )
    sent: list[OutgoingMessage] = []
    # When the run prices it
    sources, counts = polymarket_run.produce_prices(api, selection, sent.append, "2026-11-23T00:00:00Z")
    # Then exactly the expected tokens are sent, each with its price, its rule and the fields named
    expected = case["expect"]
    by_token = {message.key: message.value for message in sent}
    assert sorted(by_token) == sorted(m["token_id"] for m in expected["messages"]), case["_case"]
    for want in expected["messages"]:
        got = by_token[want["token_id"]]
        assert {name: got[name] for name in want} == want, case["_case"]
        assert got["schema"] == "polymarket_price/2"
    # and every number is finite, every price in [0, 1] (what the broker receives is plain JSON)
    for value in by_token.values():
        json.dumps(value, allow_nan=False)
        for name in ("price", "best_bid", "best_ask", "midpoint", "last_trade_price"):
            assert value[name] is None or (math.isfinite(value[name]) and 0 <= value[name] <= 1), name
    # and the summary counts what happened
    requests_made = counts["requests"]
    observed = {
        **counts,
        "clob_requests": requests_made.get("POST clob/books", 0),
        "keyset_requests": requests_made.get("GET gamma/markets/keyset", 0),
    }
    assert {name: observed.get(name) for name in expected["counts"]} == expected["counts"], case["_case"]
    if "gamma_source" in expected:
        gamma = sources[0]
        assert gamma.status == expected["gamma_source"]["status"]
        assert expected["gamma_source"]["error_contains"] in (gamma.error or "")
