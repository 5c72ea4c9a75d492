"""Market rows, one case a file under markets/: each says what it exercises and whether it is priced."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import polymarket_markets as pm
import pytest

MARKETS = Path(__file__).parent / "markets"
CASES = sorted(MARKETS.glob("*.json"))


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_market_case(path: Path) -> None:
    row = json.loads(path.read_text())
    if row["_expect"] == "skip":
        with pytest.raises(pm.MarketError):
            pm.parse_market(row)
        return
    market = pm.parse_market(row)
    assert len(market.outcomes) == len(market.token_ids) == len(market.gamma_prices)
    assert all(token.isdigit() for token in market.token_ids)
    assert market.volume_24h == pytest.approx(12877.0312) and market.liquidity == pytest.approx(48211.5531)
    if "_gamma_prices" in row:
        assert [None if p is None else float(p) for p in market.gamma_prices] == row["_gamma_prices"]


def test_messages_are_one_per_token_with_numbers_as_numbers() -> None:
    market = pm.parse_market(json.loads((MARKETS / "binary_strings.json").read_text()))
    yes, _no = market.token_ids
    quotes = {yes: pm.Quote(Decimal("0.61"), Decimal("0.63"))}
    messages = pm.to_messages(market, quotes, "2026-11-23T00:00:00Z")
    assert [m["outcome"] for m in messages] == ["Yes", "No"]
    first, second = messages
    assert first == {
        "schema": "polymarket_price/2",
        "market_id": "253591",
        "condition_id": market.condition_id,
        "slug": "fed-cut-december",
        "question": "Will the Fed cut rates in December?",
        "outcome": "Yes",
        "token_id": yes,
        "price": 0.62,
        "best_bid": 0.61,
        "best_ask": 0.63,
        "midpoint": 0.62,
        "volume_24h": 12877.0312,
        "liquidity": 48211.5531,
        "end_date": "2026-12-10T12:00:00Z",
        "observed_at": "2026-11-23T00:00:00Z",
        "price_source": "clob",
        "last_trade_price": None,
        "spread": 0.02,
        "active": True,
        "closed": False,
        "archived": None,
        "accepting_orders": None,
    }
    # No CLOB quote: Gamma's outcome price stands in, the book fields are null
    assert (second["price"], second["best_bid"], second["midpoint"]) == (0.385, None, None)
    assert second["price_source"] == "gamma"


def test_best_bid_and_ask_do_not_depend_on_level_order() -> None:
    book = {
        "bids": [{"price": "0.40", "size": "10"}, {"price": "0.45", "size": "3"}, {"price": "bad"}],
        "asks": [{"price": "0.60"}, {"price": "0.52"}],
    }
    quote = pm.quote_from_book(book)
    assert (quote.best_bid, quote.best_ask, quote.midpoint) == (Decimal("0.45"), Decimal("0.52"), Decimal("0.485"))
    assert pm.quote_from_book({"bids": [], "asks": []}).midpoint is None


@pytest.mark.parametrize(("raw", "expected"), [("0.5", 0.5), (3, 3.0), ("nan", None), (True, None), ("x", None)])
def test_numbers_may_come_as_strings(raw: object, expected: float | None) -> None:
    assert pm.number(raw) == expected
