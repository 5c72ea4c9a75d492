"""Which markets a run prices: the selection (settings and event) and Gamma's listing, which always ends."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import polymarket_markets as pm
from polymarket_api import KEYSET_PAGE, ApiError, PolymarketApi
from polymarket_settings import PolymarketSettings
from producer_common import ConfigurationError

log = logging.getLogger("polymarket_producer")

SLUGS_PER_LISTING = 50  # keeps the query string well under URL limits
PAGE_SLACK = 2  # pages allowed per page MAX_MARKETS needs: room for rows skipped as malformed or repeated
PRICING_RESERVE_TIMEOUTS = 2  # listing stops while two request timeouts are left for pricing and delivery


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
    low_liquidity: int = 0
    error: str | None = None  # the listing failed after these markets (or before any)
    warnings: list[str] = field(default_factory=list)


def pages(api: PolymarketApi, filters: Mapping[str, Any], max_pages: int, warnings: list[str]) -> Iterator[list[Any]]:
    """Gamma's keyset pages for ``filters``, ending (with a warning) on a repeated cursor, an empty
    page that still has a cursor, more than ``max_pages`` pages, or too little time left."""

    def stop(reason: str) -> None:
        warnings.append(reason)
        log.warning("listing stopped early", extra={"reason": reason})

    cursor, seen = None, set()
    reserve_s = api.timeout_s * PRICING_RESERVE_TIMEOUTS
    for _ in range(max_pages):
        if api.deadline is not None and api.deadline.remaining_s() <= reserve_s:
            stop("the time left is kept for pricing")
            return
        rows, cursor = api.market_page(filters, cursor)
        yield rows
        if not cursor:
            return
        if not isinstance(cursor, str) or cursor in seen:
            stop(f"Gamma repeated the cursor {str(cursor)[:40]!r}")
            return
        if not rows:
            stop("an empty page with a next cursor")
            return
        seen.add(cursor)
    stop(f"more than {max_pages} pages")


def _filter_sets(selection: Selection) -> list[tuple[dict[str, Any], int]]:
    """Each listing to ask for, with the most pages it may take."""
    if selection.slugs:  # explicit markets: asked for by name, whatever their volume or state
        chunks = [selection.slugs[i : i + SLUGS_PER_LISTING] for i in range(0, len(selection.slugs), SLUGS_PER_LISTING)]
        return [({"slug": list(chunk)}, PAGE_SLACK) for chunk in chunks]
    filters: dict[str, Any] = {"active": "true", "closed": "false", "order": "volume24hr", "ascending": "false"}
    if selection.tag_id is not None:
        filters["tag_id"] = selection.tag_id
    if selection.min_liquidity:
        filters["liquidity_num_min"] = selection.min_liquidity
    return [(filters, PAGE_SLACK * math.ceil(selection.max_markets / KEYSET_PAGE))]


def list_markets(api: PolymarketApi, selection: Selection) -> Listing:
    """Valid markets in Gamma's order, up to ``max_markets``; malformed rows and rows under
    ``min_liquidity`` are counted and skipped. A failed request ends the listing with what it has."""
    listing = Listing([])
    try:
        _collect(api, selection, listing)
    except ApiError as error:
        listing.error = str(error)
        log.error("market listing failed", extra={"reason": str(error), "markets": len(listing.markets)})
    return listing


def _collect(api: PolymarketApi, selection: Selection, listing: Listing) -> None:
    seen: set[str] = set()
    for filters, max_pages in _filter_sets(selection):
        for page in pages(api, filters, max_pages, listing.warnings):
            for row in page:
                try:
                    market = pm.parse_market(row)
                except pm.MarketError as error:
                    listing.skipped += 1
                    log.warning("market skipped", extra={"market_id": row.get("id"), "reason": str(error)})
                    continue
                if market.market_id in seen:
                    continue
                if (market.liquidity or 0.0) < selection.min_liquidity:
                    listing.low_liquidity += 1
                    log.info("market under MIN_LIQUIDITY", extra={"market_id": market.market_id})
                    continue
                seen.add(market.market_id)
                listing.markets.append(market)
                if len(listing.markets) >= selection.max_markets:
                    return
