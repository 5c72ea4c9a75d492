"""Gamma market rows turned into validated markets, and CLOB books into prices."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from producer_common.serialization import parse_utc

SCHEMA = "polymarket_price/1"


class MarketError(ValueError):
    """A market row that cannot be priced; it is skipped and counted."""


@dataclass(frozen=True)
class Market:
    market_id: str
    condition_id: str
    slug: str | None
    question: str | None
    outcomes: tuple[str, ...]
    token_ids: tuple[str, ...]
    gamma_prices: tuple[float | None, ...]
    volume_24h: float | None
    liquidity: float | None
    end_date: str | None


@dataclass(frozen=True)
class Quote:
    best_bid: float | None
    best_ask: float | None

    @property
    def midpoint(self) -> float | None:
        if self.best_bid is None or self.best_ask is None:
            return None
        return round((self.best_bid + self.best_ask) / 2, 6)


def number(value: Any) -> float | None:
    """Gamma sends numbers both as JSON numbers and as strings; anything else is None."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def _string_list(row: Mapping[str, Any], field: str) -> list[Any]:
    value = row.get(field)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise MarketError(f"{field} is not valid JSON") from None
    if not isinstance(value, list):
        raise MarketError(f"{field} is missing or not a list")
    return value


def parse_market(row: Mapping[str, Any]) -> Market:
    condition_id = row.get("conditionId")
    if not isinstance(condition_id, str) or not condition_id:
        raise MarketError("no conditionId")
    outcomes = [str(o) for o in _string_list(row, "outcomes")]
    token_ids = [str(t) for t in _string_list(row, "clobTokenIds")]
    if not token_ids or len(outcomes) != len(token_ids) or not all(t.isdigit() for t in token_ids):
        raise MarketError(f"{len(outcomes)} outcomes but token ids {token_ids[:3]!r}")
    prices: list[float | None] = [None] * len(token_ids)
    if row.get("outcomePrices"):
        prices = [number(p) for p in _string_list(row, "outcomePrices")]
        if len(prices) != len(token_ids) or any(p is None or not 0 <= p <= 1 for p in prices):
            raise MarketError("outcomePrices are not numbers in [0, 1], one per outcome")
    return Market(
        market_id=str(row.get("id")),
        condition_id=condition_id,
        slug=row.get("slug"),
        question=row.get("question"),
        outcomes=tuple(outcomes),
        token_ids=tuple(token_ids),
        gamma_prices=tuple(prices),
        volume_24h=number(row.get("volume24hr")),
        liquidity=number(row.get("liquidityNum", row.get("liquidity"))),
        end_date=parse_utc(row.get("endDate")),
    )


def quote_from_book(book: Mapping[str, Any]) -> Quote:
    """Best bid is the highest bid, best ask the lowest ask, whatever order the levels come in."""
    bids = [p for p in (number(level.get("price")) for level in book.get("bids") or ()) if p is not None]
    asks = [p for p in (number(level.get("price")) for level in book.get("asks") or ()) if p is not None]
    return Quote(max(bids) if bids else None, min(asks) if asks else None)


def to_messages(market: Market, quotes: Mapping[str, Quote], observed_at: str) -> list[dict[str, Any]]:
    messages = []
    for outcome, token_id, gamma_price in zip(market.outcomes, market.token_ids, market.gamma_prices, strict=True):
        quote = quotes.get(token_id, Quote(None, None))
        midpoint = quote.midpoint
        source = "clob" if midpoint is not None else "gamma" if gamma_price is not None else None
        messages.append(
            {
                "schema": SCHEMA,
                "market_id": market.market_id,
                "condition_id": market.condition_id,
                "slug": market.slug,
                "question": market.question,
                "outcome": outcome,
                "token_id": token_id,
                "price": midpoint if midpoint is not None else gamma_price,
                "best_bid": quote.best_bid,
                "best_ask": quote.best_ask,
                "midpoint": midpoint,
                "volume_24h": market.volume_24h,
                "liquidity": market.liquidity,
                "end_date": market.end_date,
                "observed_at": observed_at,
                "price_source": source,
            }
        )
    return messages
