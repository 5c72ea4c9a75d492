"""One Polymarket run: select markets on Gamma, price their tokens on the CLOB in batches, one message per token."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import polymarket_markets as pm
from polymarket_api import ApiError, PolymarketApi
from polymarket_settings import PolymarketSettings
from producer_common import HEADER_SCHEMA, HEADER_SOURCE, ConfigurationError, OutgoingMessage, SourceResult

log = logging.getLogger("polymarket_producer")

Send = Callable[[OutgoingMessage], None]
SLUGS_PER_LISTING = 50  # keeps the query string well under URL limits


@dataclass(frozen=True)
class Selection:
    slugs: tuple[str, ...]
    max_markets: int
    tag_id: int | None = None
    min_liquidity: float = 0.0


def select(event: Mapping[str, Any] | None, settings: PolymarketSettings) -> Selection:
    """The configured selection, overridden by ``detail.slugs`` and ``detail.max_markets``."""
    detail = (event or {}).get("detail") or {}
    if not isinstance(detail, Mapping):
        raise ConfigurationError("detail", "must be an object")
    slugs, max_markets = settings.slugs, settings.max_markets
    if "slugs" in detail:
        if not isinstance(detail["slugs"], list) or not all(isinstance(s, str) and s for s in detail["slugs"]):
            raise ConfigurationError("detail.slugs", "must be a list of market slugs")
        slugs = tuple(dict.fromkeys(detail["slugs"]))
    if "max_markets" in detail:
        value = detail["max_markets"]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigurationError("detail.max_markets", f"must be a positive whole number, got {value!r}")
        max_markets = value
    return Selection(slugs, max_markets, settings.tag_id, settings.min_liquidity)


@dataclass
class Listing:
    markets: list[pm.Market]
    skipped: int = 0


def list_markets(api: PolymarketApi, selection: Selection) -> Listing:
    """Valid markets in Gamma's order, up to ``max_markets``; malformed rows are counted and skipped."""
    listing, seen = Listing([]), set()
    if selection.slugs:  # explicit markets: asked for by name, whatever their volume
        chunks = [selection.slugs[i : i + SLUGS_PER_LISTING] for i in range(0, len(selection.slugs), SLUGS_PER_LISTING)]
        filter_sets: list[dict[str, Any]] = [{"slug": list(chunk)} for chunk in chunks]
    else:
        filters: dict[str, Any] = {"active": "true", "closed": "false", "order": "volume24hr", "ascending": "false"}
        if selection.tag_id is not None:
            filters["tag_id"] = selection.tag_id
        if selection.min_liquidity:
            filters["liquidity_num_min"] = selection.min_liquidity
        filter_sets = [filters]
    for filters in filter_sets:
        for page in api.market_pages(filters):
            for row in page:
                try:
                    market = pm.parse_market(row)
                except pm.MarketError as error:
                    listing.skipped += 1
                    log.warning("market skipped", extra={"market_id": row.get("id"), "reason": str(error)})
                    continue
                if market.market_id in seen or (market.liquidity or 0.0) < selection.min_liquidity:
                    continue
                seen.add(market.market_id)
                listing.markets.append(market)
                if len(listing.markets) >= selection.max_markets:
                    return listing
    return listing


@dataclass
class Pricing:
    quotes: dict[str, pm.Quote]
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
                pricing.quotes[book["asset_id"]] = pm.quote_from_book(book)
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
    try:
        listing = list_markets(api, selection)
    except ApiError as error:
        log.error("market listing failed", extra={"reason": str(error)})
        counts = {"markets": 0, "tokens": 0, "skipped_markets": 0, "requests": dict(api.requests)}
        return [SourceResult(gamma, "error", error=str(error))], counts
    token_ids = [token for market in listing.markets for token in market.token_ids]
    pricing = price_tokens(api, token_ids, batch_size, concurrency)
    by_source = {"clob": 0, "gamma": 0, "unpriced": 0}
    for market in listing.markets:
        for message in pm.to_messages(market, pricing.quotes, observed_at):
            if message["price_source"] is None:
                by_source["unpriced"] += 1
                continue
            by_source[message["price_source"]] += 1
            origin = api.clob_url if message["price_source"] == "clob" else api.gamma_url
            send(OutgoingMessage(message["token_id"], message, {HEADER_SCHEMA: pm.SCHEMA, HEADER_SOURCE: origin}))
    sources = [
        SourceResult(gamma, "ok", items=len(listing.markets) + listing.skipped, new=len(listing.markets)),
        SourceResult(
            clob,
            "error" if pricing.failed_batches else "ok",
            items=len(token_ids),
            new=by_source["clob"],
            error=pricing.error,
        ),
    ]
    counts = {
        "markets": len(listing.markets),
        "tokens": len(token_ids),
        "priced_by_clob": by_source["clob"],
        "priced_by_gamma": by_source["gamma"],
        "unpriced_tokens": by_source["unpriced"],
        "skipped_markets": listing.skipped,
        "requests": dict(api.requests),
    }
    return sources, counts
