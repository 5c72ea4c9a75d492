"""Gamma market rows turned into validated markets, CLOB books into quotes, and both into the price
Polymarket shows (docs.polymarket.com, "Prices & Orderbook": the midpoint, unless the spread is
over $0.10, then the last traded price)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from producer_common.serialization import parse_utc

SCHEMA = "polymarket_price/2"
SPREAD_LIMIT = Decimal("0.10")  # exact: prices are read as decimals, so 0.55 - 0.45 is 0.10, not 0.10000000000000003


class MarketError(ValueError):
    """A market row that cannot be priced; it is skipped and counted."""


class BookError(ValueError):
    """A CLOB book no price can come from (a level outside [0, 1], or crossed); its token is skipped and counted."""


@dataclass(frozen=True)
class MarketState:
    """Gamma's flags, None where the row does not say."""

    active: bool | None = None
    closed: bool | None = None
    archived: bool | None = None
    accepting_orders: bool | None = None


@dataclass(frozen=True)
class Market:
    market_id: str
    condition_id: str
    slug: str | None
    question: str | None
    outcomes: tuple[str, ...]
    token_ids: tuple[str, ...]
    gamma_prices: tuple[Decimal | None, ...]
    volume_24h: float | None
    liquidity: float | None
    end_date: str | None
    # Gamma's lastTradePrice is the market's, i.e. its first outcome token's; the others have none.
    gamma_last_trades: tuple[Decimal | None, ...] = ()
    state: MarketState = MarketState()
    order_book: bool = True  # enableOrderBook is not false and the market is not closed: worth asking the CLOB


@dataclass(frozen=True)
class Quote:
    best_bid: Decimal | None
    best_ask: Decimal | None
    last_trade: Decimal | None = None

    @property
    def midpoint(self) -> Decimal | None:
        if self.best_bid is None or self.best_ask is None:
            return None
        return (self.best_bid + self.best_ask) / 2

    @property
    def spread(self) -> Decimal | None:
        if self.best_bid is None or self.best_ask is None:
            return None
        return self.best_ask - self.best_bid


def number(value: Any) -> float | None:
    """Gamma sends numbers both as JSON numbers and as strings; anything else is None."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def decimal(value: Any) -> Decimal | None:
    """A finite number (JSON number or string) as the decimal it is written as; anything else is None."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


def probability(value: Any) -> Decimal | None:
    """A price: a finite number in [0, 1], else None."""
    result = decimal(value)
    return result if result is not None and 0 <= result <= 1 else None


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    return {"true": True, "false": False}.get(value.lower()) if isinstance(value, str) else None


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


def _gamma_prices(row: Mapping[str, Any], count: int) -> tuple[Decimal | None, ...]:
    """One Gamma price per token; an unreadable entry costs only its token its fallback."""
    try:
        raw = _string_list(row, "outcomePrices") if row.get("outcomePrices") else []
    except MarketError:
        raw = []
    prices = [probability(p) for p in raw]
    return tuple(prices) if len(prices) == count else (None,) * count


def parse_market(row: Mapping[str, Any]) -> Market:
    condition_id = row.get("conditionId")
    if not isinstance(condition_id, str) or not condition_id:
        raise MarketError("no conditionId")
    outcomes = [str(o) for o in _string_list(row, "outcomes")]
    token_ids = [str(t) for t in _string_list(row, "clobTokenIds")]
    if not token_ids or len(outcomes) != len(token_ids) or not all(t.isdigit() for t in token_ids):
        raise MarketError(f"{len(outcomes)} outcomes but token ids {token_ids[:3]!r}")
    state = MarketState(
        active=_flag(row.get("active")),
        closed=_flag(row.get("closed")),
        archived=_flag(row.get("archived")),
        accepting_orders=_flag(row.get("acceptingOrders")),
    )
    liquidity = number(row.get("liquidityNum"))
    return Market(
        market_id=str(row.get("id")),
        condition_id=condition_id,
        slug=row.get("slug"),
        question=row.get("question"),
        outcomes=tuple(outcomes),
        token_ids=tuple(token_ids),
        gamma_prices=_gamma_prices(row, len(token_ids)),
        volume_24h=number(row.get("volume24hr")),
        liquidity=liquidity if liquidity is not None else number(row.get("liquidity")),
        end_date=parse_utc(row.get("endDate")),
        gamma_last_trades=(probability(row.get("lastTradePrice")),) + (None,) * (len(token_ids) - 1),
        state=state,
        order_book=_flag(row.get("enableOrderBook")) is not False and state.closed is not True,
    )


def _best(levels: Any, side: str, pick: Any) -> Decimal | None:
    prices = []
    for level in levels if isinstance(levels, list) else ():
        price = decimal(level.get("price")) if isinstance(level, Mapping) else None
        if price is None:
            continue  # an unreadable level is no offer
        if not 0 <= price <= 1:
            raise BookError(f"{side} {price} outside [0, 1]")
        prices.append(price)
    return pick(prices) if prices else None


def quote_from_book(book: Mapping[str, Any]) -> Quote:
    """Best bid is the highest bid, best ask the lowest ask, whatever order the levels come in;
    BookError when a level is not a price or the book is crossed."""
    best_bid, best_ask = _best(book.get("bids"), "bid", max), _best(book.get("asks"), "ask", min)
    if best_bid is not None and best_ask is not None and best_bid > best_ask:
        raise BookError(f"crossed book: bid {best_bid} above ask {best_ask}")
    return Quote(best_bid, best_ask, probability(book.get("last_trade_price")))


def choose_price(
    quote: Quote | None, gamma_last: Decimal | None, gamma_price: Decimal | None
) -> tuple[Decimal, str] | None:
    """The displayed price and the rule that gave it (``price_source``), or None when nothing prices the token.

    With a book: its midpoint while the spread is at most 0.10 (``clob``), else the last trade, the
    book's (``clob_last_trade``) or Gamma's (``gamma_last_trade``), else Gamma's outcome price
    (``gamma``). Without a book, Gamma's outcome price (which Polymarket computes by the same rule)
    comes first.
    """
    if quote is None:
        candidates = [(gamma_price, "gamma"), (gamma_last, "gamma_last_trade")]
    else:
        spread, midpoint = quote.spread, quote.midpoint
        within = spread is not None and spread <= SPREAD_LIMIT
        candidates = [
            (midpoint if within else None, "clob"),
            (quote.last_trade, "clob_last_trade"),
            (gamma_last, "gamma_last_trade"),
            (gamma_price, "gamma"),
        ]
    return next(((price, source) for price, source in candidates if price is not None), None)


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def to_messages(market: Market, quotes: Mapping[str, Quote], observed_at: str) -> list[dict[str, Any]]:
    messages = []
    rows = zip(market.outcomes, market.token_ids, market.gamma_prices, market.gamma_last_trades, strict=True)
    for outcome, token_id, gamma_price, gamma_last in rows:
        quote = quotes.get(token_id)
        chosen = choose_price(quote, gamma_last, gamma_price)
        book = quote or Quote(None, None)
        last_trade = book.last_trade if book.last_trade is not None else gamma_last
        messages.append(
            {
                "schema": SCHEMA,
                "market_id": market.market_id,
                "condition_id": market.condition_id,
                "slug": market.slug,
                "question": market.question,
                "outcome": outcome,
                "token_id": token_id,
                "price": _float(chosen[0]) if chosen else None,
                "best_bid": _float(book.best_bid),
                "best_ask": _float(book.best_ask),
                "midpoint": _float(book.midpoint),
                "volume_24h": market.volume_24h,
                "liquidity": market.liquidity,
                "end_date": market.end_date,
                "observed_at": observed_at,
                "price_source": chosen[1] if chosen else None,
                "last_trade_price": _float(last_trade),
                "spread": _float(book.spread),
                "active": market.state.active,
                "closed": market.state.closed,
                "archived": market.state.archived,
                "accepting_orders": market.state.accepting_orders,
            }
        )
    return messages
