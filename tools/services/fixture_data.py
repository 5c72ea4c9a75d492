"""Polymarket-shaped data and generated feeds for the fixture server, deterministic from a seed.

``make_market`` wrote the recorded fixtures once and builds the synthetic markets the server adds on
request; ``PolymarketData`` answers the fake Gamma and CLOB endpoints. Shapes follow the live APIs (see
tests/fixtures/polymarket/README.md): Gamma rows carry list fields as JSON-encoded strings and some
numbers as strings; a CLOB book lists bids ascending and asks descending, so each side's best level
comes last; CLOB prices are decimal strings.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
# Where the repository's feed documents live: recorded feeds, hostile ones, edge cases, parser agreement.
DOCUMENT_FOLDERS = (
    ROOT / "tests" / "fixtures" / "feeds",
    ROOT / "tests" / "integration" / "feeds",
    ROOT / "tests" / "unit" / "rss_producer" / "cases",
    ROOT / "tests" / "unit" / "rss_producer" / "agreement",
)
START = datetime(2026, 11, 23, tzinfo=timezone.utc)
SEED = 42
Row = dict[str, Any]


def decimal_text(value: Decimal | float) -> str:
    """0.530 -> "0.53", 1000 -> "1000": the way the CLOB writes prices."""
    return format(Decimal(str(value)).normalize(), "f")


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def token_id(rnd: random.Random) -> str:
    """An ERC-1155 position id: a 256-bit number in decimal, 77 or 78 digits."""
    return str(rnd.randrange(10**76, 2**256))


def _side(best: Decimal, tick: Decimal, step: int, rnd: random.Random, ghost: bool) -> list[Row]:
    """Levels from the best price outward (step -1 for bids, +1 for asks), listed worst first."""
    levels, price = [], best
    for _ in range(rnd.randint(3, 6)):
        if not tick <= price <= 1 - tick:
            break
        levels.append({"price": decimal_text(price), "size": f"{rnd.lognormvariate(6, 1.3):.2f}"})
        price += step * tick * rnd.randint(1, 3)
    far = tick if step < 0 else 1 - tick
    if ghost and levels and (price - far) * step <= 0:  # the resting 0.01 bid / 0.99 ask many books have
        levels.append({"price": decimal_text(far), "size": f"{rnd.uniform(1e4, 2e5):.2f}"})
    return levels[::-1]


def _book(
    condition: str, token: str, bids: list[Row], asks: list[Row], tick: Decimal, neg_risk: bool, last: str
) -> Row:
    return {
        "market": condition,
        "asset_id": token,
        "timestamp": str(int(START.timestamp() * 1000)),
        "hash": hashlib.sha1(f"{token}{bids}{asks}".encode()).hexdigest(),
        "bids": bids,
        "asks": asks,
        "min_order_size": "5",
        "tick_size": decimal_text(tick),
        "neg_risk": neg_risk,
        "last_trade_price": last,
    }


def _books(
    condition: str, tokens: list[str], prices: list[float], tick: Decimal, rnd: random.Random, neg_risk: bool
) -> list[Row]:
    """One book per token; a binary market's second book mirrors the first, as the CLOB matches them."""
    books: list[Row] = []
    for i, (token, price) in enumerate(zip(tokens, prices, strict=True)):
        if i == 1 and len(tokens) == 2:
            # A bid for No at p is an ask for Yes at 1 - p: mirrored, each side keeps best-last order.
            yes = books[0]
            no_bids = [{"price": decimal_text(1 - Decimal(lv["price"])), "size": lv["size"]} for lv in yes["asks"]]
            no_asks = [{"price": decimal_text(1 - Decimal(lv["price"])), "size": lv["size"]} for lv in yes["bids"]]
            last = decimal_text(1 - Decimal(yes["last_trade_price"]))
            books.append(_book(condition, token, no_bids, no_asks, tick, neg_risk, last))
            continue
        mid = min(max(Decimal(str(price)).quantize(tick), 2 * tick), 1 - 2 * tick)
        bid = max(mid - tick * rnd.randint(0, 2), tick)
        ask = min(max(mid + tick * rnd.randint(1, 2), bid + tick), 1 - tick)
        ghost = rnd.random() < 0.5
        last = decimal_text(rnd.choice([bid, ask]))
        bids, asks = _side(bid, tick, -1, rnd, ghost), _side(ask, tick, 1, rnd, ghost)
        books.append(_book(condition, token, bids, asks, tick, neg_risk, last))
    return books


def best_price(book: Row, side: str) -> Decimal | None:
    """What the live GET /price answers: side=BUY gives the best bid, SELL the best ask."""
    prices = [Decimal(level["price"]) for level in book["bids" if side == "BUY" else "asks"]]
    if not prices:
        return None
    return max(prices) if side == "BUY" else min(prices)


def make_market(
    index: int,
    question: str,
    outcomes: list[str],
    rnd: random.Random,
    *,
    prices: list[float] | None = None,
    closed: bool = False,
    neg_risk: bool = False,
    tags: tuple[Row, ...] = (),
    **extra: Any,
) -> tuple[Row, list[Row]]:
    """A Gamma /markets row and, unless the market is closed, its tokens' CLOB books."""
    if prices is None:
        weights = [rnd.random() + 0.05 for _ in outcomes]
        prices = [w / sum(weights) for w in weights]
    tick = Decimal("0.001") if min(prices) < 0.04 or max(prices) > 0.96 else Decimal("0.01")
    tokens = [token_id(rnd) for _ in outcomes]
    condition = "0x" + hashlib.sha256(f"{index}:{question}".encode()).hexdigest()
    books = [] if closed else _books(condition, tokens, prices, tick, rnd, neg_risk)
    volume = round(rnd.lognormvariate(11, 1.7), 6)
    liquidity = 0.0 if closed else round(volume * rnd.uniform(0.01, 0.3), 4)
    created = START - timedelta(days=rnd.randint(20, 400), minutes=rnd.randint(0, 1439))
    end = START + timedelta(days=rnd.randint(-30, -1) if closed else rnd.randint(3, 500))
    if books:
        mids = [(best_price(b, "BUY") or Decimal(0)) + (best_price(b, "SELL") or Decimal(1)) for b in books]
        outcome_prices = [decimal_text(round(m / 2, 4)) for m in mids]
    else:
        outcome_prices = (
            ["1" if i == 0 else "0" for i in range(len(outcomes))] if closed else [f"{p:.3f}" for p in prices]
        )
    row: Row = {
        "id": str(index),
        "question": question,
        "conditionId": condition,
        "slug": re.sub(r"[^a-z0-9]+", "-", question.lower()).strip("-")[:90],
        "endDate": _iso(end),
        "liquidity": decimal_text(liquidity),
        "startDate": _iso(created + timedelta(hours=1)),
        "description": f'This market resolves according to the listed outcome for: "{question}" '
        "The resolution source is the official announcement.",
        "outcomes": json.dumps(outcomes),
        "outcomePrices": json.dumps(outcome_prices),
        "volume": decimal_text(volume),
        "active": True,
        "closed": closed,
        "questionID": "0x" + hashlib.sha256(question.encode()).hexdigest(),
        "createdAt": created.isoformat().replace("+00:00", "Z"),
        "updatedAt": _iso(START - timedelta(minutes=rnd.randint(1, 600))),
        "archived": False,
        "enableOrderBook": True,
        "orderPriceMinTickSize": float(tick),
        "orderMinSize": 5,
        "volumeNum": volume,
        "liquidityNum": liquidity,
        "endDateIso": end.date().isoformat(),
        "volume24hr": 0 if closed else round(volume * rnd.uniform(0.0, 0.06), 6),
        "clobTokenIds": json.dumps(tokens),
        "negRisk": neg_risk,
        "acceptingOrders": not closed,
        **extra,
    }
    if books:
        bid, ask = best_price(books[0], "BUY"), best_price(books[0], "SELL")
        row |= {"bestBid": float(bid or 0), "bestAsk": float(ask or 1), "spread": float((ask or 1) - (bid or 0))}
        row["lastTradePrice"] = float(books[0]["last_trade_price"])
    if tags:
        row["tags"] = list(tags)
    return row, books


SYNTHETIC_TAGS = (
    {"id": "21", "label": "Crypto", "slug": "crypto"},
    {"id": "100", "label": "Economy", "slug": "economy"},
)


def synthetic_markets(count: int, seed: int = SEED) -> tuple[list[Row], list[Row]]:
    """``count`` open markets (every tenth with named outcomes) and their books; ids from 900000."""
    rnd = random.Random(seed)
    rows, books = [], []
    for i in range(count):
        outcomes = ["Over", "Under"] if i % 10 == 0 else ["Yes", "No"]
        row, market_books = make_market(
            900_000 + i,
            f"Synthetic index {i} above its threshold on settlement day?",
            outcomes,
            rnd,
            tags=(SYNTHETIC_TAGS[i % 2],),
        )
        rows.append(row)
        books.extend(market_books)
    return rows, books


def synthetic_feed(index: int, items: int) -> bytes:
    """An RSS 2.0 feed of ``items`` entries, the same bytes every time for the same arguments."""
    start = START - timedelta(hours=index)
    entries = "".join(
        f"<item><title>Feed {index} item {i}: a headline of ordinary length</title>"
        f'<link>https://synthetic.example/{index}/{i}</link><guid isPermaLink="false">synthetic-{index}-{i}</guid>'
        f"<pubDate>{(start - timedelta(minutes=7 * i)).strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>"
        f"<category>topic-{i % 5}</category>"
        f"<description>Summary of item {i} in feed {index}, long enough to look like a real teaser "
        f"paragraph with &lt;b&gt;some&lt;/b&gt; markup.</description></item>"
        for i in range(items)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>Synthetic feed {index}</title><link>https://synthetic.example/{index}</link>"
        f"<description>Generated</description>{entries}</channel></rss>"
    ).encode()


class QueryError(ValueError):
    """A query parameter Gamma would refuse (its 422 validation error)."""


def _boolean(value: str, name: str) -> bool:
    if value.lower() not in ("true", "false"):
        raise QueryError(f"{name} must be true or false")
    return value.lower() == "true"


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _token_ids(row: Row) -> list[str]:
    try:
        ids = json.loads(row.get("clobTokenIds") or "[]")
    except ValueError:
        return []
    return [str(i) for i in ids] if isinstance(ids, list) else []


def _sort_key(value: Any) -> tuple[int, Any]:
    number = None if isinstance(value, bool) else _number(value)
    if number is not None:
        return (1, number)
    return (0, "") if value is None else (2, str(value))


def _ordered(rows: list[Row], field: str, descending: bool) -> list[Row]:
    return sorted(rows, key=lambda row: _sort_key(row.get(field)), reverse=descending)


# Gamma's list filters: repeat the parameter (or separate with commas) to ask for several values.
LIST_FILTERS = {
    "id": lambda row: [str(row.get("id"))],
    "slug": lambda row: [row.get("slug")],
    "condition_ids": lambda row: [row.get("conditionId")],
    "clob_token_ids": _token_ids,
    "tag_id": lambda row: [str(tag.get("id")) for tag in row.get("tags") or ()],
}
RANGE_FILTERS = {
    "liquidity_num_min": ("liquidityNum", 1),
    "liquidity_num_max": ("liquidityNum", -1),
    "volume_num_min": ("volumeNum", 1),
    "volume_num_max": ("volumeNum", -1),
}


class PolymarketData:
    """Markets and books, indexed the way the fake endpoints look them up."""

    def __init__(self, markets: list[Row], books: list[Row]) -> None:
        self.markets = markets
        self.books = {book["asset_id"]: book for book in books}

    @classmethod
    def load(cls, folder: Path, synthetic: int = 0, seed: int = SEED) -> PolymarketData:
        markets = json.loads((folder / "gamma_markets.json").read_text(encoding="utf-8"))
        books = json.loads((folder / "clob_books.json").read_text(encoding="utf-8"))
        extra_markets, extra_books = synthetic_markets(synthetic, seed) if synthetic else ([], [])
        return cls(markets + extra_markets, books + extra_books)

    def select(self, query: dict[str, list[str]]) -> list[Row]:
        """The rows Gamma's filters and ``order``/``ascending`` give, before paging."""
        rows = self.markets
        for flag in ("active", "closed", "archived"):
            if flag in query:
                wanted = _boolean(query[flag][-1], flag)
                rows = [row for row in rows if bool(row.get(flag)) is wanted]
        for param, values_of in LIST_FILTERS.items():
            if param in query:
                wanted_values = {part for value in query[param] for part in value.split(",") if part}
                rows = [row for row in rows if wanted_values.intersection(values_of(row))]
        for param, (field, direction) in RANGE_FILTERS.items():
            if param in query:
                bound = _number(query[param][-1])
                if bound is None:
                    raise QueryError(f"{param} must be a number")
                rows = [row for row in rows if ((_number(row.get(field)) or 0) - bound) * direction >= 0]
        if "order" in query:
            descending = not _boolean(query.get("ascending", ["true"])[-1], "ascending")
            for field in reversed(query["order"][-1].split(",")):
                rows = _ordered(rows, field.strip(), descending)
        return rows

    def best(self, token: str, side: str) -> str | None:
        book = self.books.get(token)
        price = best_price(book, side) if book else None
        return None if price is None else decimal_text(price)

    def midpoint(self, token: str) -> str | None:
        bid, ask = self.best(token, "BUY"), self.best(token, "SELL")
        return None if bid is None or ask is None else decimal_text((Decimal(bid) + Decimal(ask)) / 2)


@functools.cache
def feed_documents(folders: tuple[Path, ...] = DOCUMENT_FOLDERS, synthetic: int = 5) -> dict[str, bytes]:
    """Every feed document in ``folders`` and ``synthetic`` generated feeds of 30 items, by
    "<folder>/<file>" (README files left out)."""
    return {
        f"{path.parent.name}/{path.name}": path.read_bytes()
        for folder in folders
        for path in sorted(folder.iterdir())
        if path.is_file() and path.suffix != ".md"
    } | {f"synthetic/{index}.xml": synthetic_feed(index, 30) for index in range(synthetic)}
