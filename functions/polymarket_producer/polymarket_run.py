"""One Polymarket run: select markets on Gamma, price their tokens on the CLOB in batches, one message per token."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import polymarket_markets as pm
from polymarket_api import ApiError, PolymarketApi
from polymarket_listing import Selection, list_markets, select
from producer_common import HEADER_SCHEMA, HEADER_SOURCE, OutgoingMessage, SourceResult

log = logging.getLogger("polymarket_producer")

Send = Callable[[OutgoingMessage], None]
__all__ = ["Selection", "Send", "produce_prices", "select"]
PRICE_SOURCES = ("clob", "clob_last_trade", "gamma_last_trade", "gamma")


@dataclass
class Pricing:
    quotes: dict[str, pm.Quote]
    refused: set[str] = field(default_factory=set)  # tokens whose book no price can come from
    failed_batches: int = 0
    error: str | None = None


def price_tokens(api: PolymarketApi, token_ids: list[str], batch_size: int, concurrency: int) -> Pricing:
    """Order books through the batch endpoint, ``concurrency`` batches at a time; a failed batch
    leaves its tokens to Gamma's prices."""
    pricing = Pricing({})
    batches = [token_ids[i : i + batch_size] for i in range(0, len(token_ids), batch_size)]

    def fetch(batch: list[str]) -> list[Mapping[str, Any]] | ApiError:
        try:
            return api.books(batch)
        except ApiError as error:
            return error

    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(batches) or 1))) as pool:
        for answer in pool.map(fetch, batches):
            if isinstance(answer, ApiError):
                pricing.failed_batches += 1
                pricing.error = str(answer)
                log.warning("CLOB batch failed; Gamma prices stand in", extra={"reason": str(answer)})
                continue
            for book in answer:
                try:
                    pricing.quotes[book["asset_id"]] = pm.quote_from_book(book)
                except pm.BookError as error:
                    pricing.refused.add(book["asset_id"])
                    log.warning("book skipped", extra={"token_id": book["asset_id"], "reason": str(error)})
    return pricing


def produce_prices(
    api: PolymarketApi,
    selection: Selection,
    send: Send,
    observed_at: str,
    batch_size: int = 100,
    concurrency: int = 4,
) -> tuple[list[SourceResult], dict[str, Any]]:
    """Send one message per priced outcome token; returns a result per API and the run's counts."""
    gamma, clob = f"{api.gamma_url}/markets/keyset", f"{api.clob_url}/books"
    listing = list_markets(api, selection)
    if listing.error and not listing.markets:  # nothing to price: the run failed at its only source
        counts = {"markets": 0, "tokens": 0, "skipped_markets": listing.skipped, "requests": dict(api.requests)}
        return [SourceResult(gamma, "error", error=listing.error)], counts
    token_ids = [token for market in listing.markets for token in market.token_ids]
    booked = [token for market in listing.markets if market.order_book for token in market.token_ids]
    pricing = price_tokens(api, booked, batch_size, concurrency)
    by_source = dict.fromkeys(PRICE_SOURCES, 0)
    unpriced = 0
    for market in listing.markets:
        for message in pm.to_messages(market, pricing.quotes, observed_at):
            if message["token_id"] in pricing.refused:
                continue
            if message["price_source"] is None:
                unpriced += 1
                continue
            by_source[message["price_source"]] += 1
            origin = api.clob_url if message["price_source"].startswith("clob") else api.gamma_url
            send(OutgoingMessage(message["token_id"], message, {HEADER_SCHEMA: pm.SCHEMA, HEADER_SOURCE: origin}))
    sources = [
        SourceResult(
            gamma,
            "error" if listing.error else "ok",
            items=len(listing.markets) + listing.skipped + listing.low_liquidity,
            new=len(listing.markets),
            error="; ".join(filter(None, [listing.error, *listing.warnings])) or None,
        ),
        SourceResult(
            clob,
            "error" if pricing.failed_batches else "ok",
            items=len(booked),
            new=by_source["clob"] + by_source["clob_last_trade"],
            error=pricing.error,
        ),
    ]
    counts = {
        "markets": len(listing.markets),
        "tokens": len(token_ids),
        **{f"priced_by_{source}": count for source, count in by_source.items()},
        "unpriced_tokens": unpriced,
        "skipped_markets": listing.skipped,
        "skipped_low_liquidity": listing.low_liquidity,
        "skipped_books": len(pricing.refused),
        "requests": dict(api.requests),
    }
    return sources, counts
