"""One Polymarket run: select markets on Gamma, price their tokens on the CLOB, send one message per token."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import polymarket_markets as pm
import requests
from polymarket_settings import PolymarketSettings
from producer_common import HEADER_SCHEMA, HEADER_SOURCE, ConfigurationError, OutgoingMessage, SourceResult

log = logging.getLogger("polymarket_producer")

Send = Callable[[OutgoingMessage], None]
BOOKS_PER_REQUEST = 100
GAMMA_PAGE = 100


class SourceError(Exception):
    """An API answered with an error or with a shape we cannot read."""


@dataclass(frozen=True)
class Selection:
    slugs: tuple[str, ...]
    max_markets: int


def select(event: Mapping[str, Any] | None, settings: PolymarketSettings) -> Selection:
    """The configured selection, overridden by ``detail.slugs`` and ``detail.max_markets``."""
    detail = (event or {}).get("detail") or {}
    if not isinstance(detail, Mapping):
        raise ConfigurationError("detail", "must be an object")
    slugs, max_markets = settings.slugs, settings.max_markets
    if "slugs" in detail:
        if not isinstance(detail["slugs"], list) or not all(isinstance(s, str) and s for s in detail["slugs"]):
            raise ConfigurationError("detail.slugs", "must be a list of market slugs")
        slugs = tuple(detail["slugs"])
    if "max_markets" in detail:
        value = detail["max_markets"]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigurationError("detail.max_markets", f"must be a positive whole number, got {value!r}")
        max_markets = value
    return Selection(slugs, max_markets)


def _get_json(session: requests.Session, method: str, url: str, timeout_s: float, **kwargs: Any) -> Any:
    try:
        response = session.request(method, url, timeout=(min(timeout_s, 5.0), timeout_s), **kwargs)
    except requests.RequestException as error:
        raise SourceError(type(error).__name__) from error
    if response.status_code >= 400:
        raise SourceError(f"HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError:
        raise SourceError("response is not JSON") from None


def list_markets(
    session: requests.Session, settings: PolymarketSettings, selection: Selection
) -> list[Mapping[str, Any]]:
    params: dict[str, Any] = {"active": "true", "closed": "false", "limit": min(selection.max_markets, GAMMA_PAGE)}
    if selection.slugs:
        params = {"slug": list(selection.slugs), "limit": len(selection.slugs)}
    else:
        params |= {"order": "volume24hr", "ascending": "false"}
        if settings.tag_id is not None:
            params["tag_id"] = settings.tag_id
        if settings.min_liquidity:
            params["liquidity_num_min"] = settings.min_liquidity
    rows = _get_json(session, "GET", f"{settings.gamma_url}/markets", settings.timeout_s, params=params)
    if not isinstance(rows, list):
        raise SourceError("Gamma /markets did not return a list")
    return [row for row in rows if isinstance(row, Mapping)][: selection.max_markets]


def fetch_quotes(session: requests.Session, settings: PolymarketSettings, token_ids: list[str]) -> dict[str, pm.Quote]:
    quotes: dict[str, pm.Quote] = {}
    for chunk in pm.chunks(token_ids, BOOKS_PER_REQUEST):
        body = [{"token_id": token_id} for token_id in chunk]
        books = _get_json(session, "POST", f"{settings.clob_url}/books", settings.timeout_s, json=body)
        if not isinstance(books, list):
            raise SourceError("CLOB /books did not return a list")
        for book in books:
            if isinstance(book, Mapping) and isinstance(book.get("asset_id"), str):
                quotes[book["asset_id"]] = pm.quote_from_book(book)
    return quotes


def produce_prices(
    session: requests.Session,
    settings: PolymarketSettings,
    selection: Selection,
    send: Send,
    observed_at: str,
) -> tuple[list[SourceResult], dict[str, int]]:
    """Returns a result per API and counts of markets selected and skipped."""
    gamma, clob = f"{settings.gamma_url}/markets", f"{settings.clob_url}/books"
    try:
        rows = list_markets(session, settings, selection)
    except SourceError as error:
        log.error("market listing failed", extra={"reason": str(error)})
        return [SourceResult(gamma, "error", error=str(error))], {"markets": 0, "skipped_markets": 0}
    markets: list[pm.Market] = []
    for row in rows:
        try:
            markets.append(pm.parse_market(row))
        except pm.MarketError as error:
            log.warning("market skipped", extra={"market_id": row.get("id"), "reason": str(error)})
    skipped = len(rows) - len(markets)
    token_ids = [token for market in markets for token in market.token_ids]
    clob_result = SourceResult(clob, "ok", items=len(token_ids))
    try:
        quotes = fetch_quotes(session, settings, token_ids)
    except SourceError as error:  # Gamma's own prices still make a message
        log.warning("CLOB pricing failed; using Gamma prices", extra={"reason": str(error)})
        quotes, clob_result = {}, SourceResult(clob, "error", items=len(token_ids), error=str(error))
    sent = 0
    for market in markets:
        for message in pm.to_messages(market, quotes, observed_at):
            headers = {
                HEADER_SCHEMA: pm.SCHEMA,
                HEADER_SOURCE: settings.clob_url if message["midpoint"] is not None else settings.gamma_url,
            }
            send(OutgoingMessage(message["token_id"], message, headers))
            sent += 1
    gamma_result = SourceResult(gamma, "ok", items=len(rows), new=len(markets))
    clob_result = SourceResult(clob, clob_result.status, clob_result.items, sent, clob_result.error)
    return [gamma_result, clob_result], {"markets": len(markets), "skipped_markets": skipped}
