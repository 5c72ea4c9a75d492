"""Polymarket-shaped data: Gamma market rows and CLOB order books, deterministic from a seed.

Used to write the recorded fixtures once and, by the fixture server, to add any number of
synthetic markets for load tests.
"""

from __future__ import annotations

import hashlib
import json
import random
from datetime import datetime, timedelta, timezone
from typing import Any

START = datetime(2026, 11, 23, tzinfo=timezone.utc)


def _digits(rnd: random.Random, count: int = 77) -> str:
    return str(rnd.randint(1, 9)) + "".join(str(rnd.randint(0, 9)) for _ in range(count - 1))


def _money(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


def market_row(
    index: int, question: str, outcomes: list[str], rnd: random.Random, active: bool = True, closed: bool = False
) -> dict[str, Any]:
    """A Gamma /markets row: list fields JSON-encoded, numbers both as strings and as numbers."""
    weights = [rnd.random() + 0.05 for _ in outcomes]
    prices = [round(w / sum(weights), 3) for w in weights]
    tokens = [_digits(rnd) for _ in outcomes]
    volume = round(rnd.lognormvariate(11, 1.6), 4)
    liquidity = round(volume * rnd.uniform(0.02, 0.4), 4)
    end = START + timedelta(days=rnd.randint(3, 400), hours=rnd.choice([0, 12, 16]))
    slug = "-".join(question.lower().replace("?", "").replace(",", "").replace("'", "").split())[:80]
    spread = rnd.choice([0.001, 0.01, 0.02])
    return {
        "id": str(500_000 + index),
        "question": question,
        "conditionId": "0x" + hashlib.sha256(f"{index}:{question}".encode()).hexdigest(),
        "slug": slug,
        "endDate": end.isoformat().replace("+00:00", "Z"),
        "startDate": (START - timedelta(days=rnd.randint(10, 300))).isoformat().replace("+00:00", "Z"),
        "liquidity": _money(liquidity),
        "liquidityNum": liquidity,
        "volume": _money(volume),
        "volumeNum": volume,
        "volume24hr": round(volume * rnd.uniform(0.001, 0.08), 4),
        "active": active,
        "closed": closed,
        "archived": False,
        "enableOrderBook": True,
        "outcomes": json.dumps(outcomes),
        "outcomePrices": json.dumps([str(p) for p in prices]),
        "clobTokenIds": json.dumps(tokens),
        "bestBid": round(max(prices[0] - spread / 2, 0.001), 3),
        "bestAsk": round(min(prices[0] + spread / 2, 0.999), 3),
        "lastTradePrice": prices[0],
        "orderPriceMinTickSize": 0.001 if spread < 0.01 else 0.01,
        "orderMinSize": 5,
        "negRisk": len(outcomes) > 2,
    }


def books_for(row: dict[str, Any], rnd: random.Random) -> list[dict[str, Any]]:
    """CLOB /book answers for each token: bids ascending and asks descending, best level last."""
    books = []
    tick = row["orderPriceMinTickSize"]
    for token, price in zip(json.loads(row["clobTokenIds"]), json.loads(row["outcomePrices"]), strict=True):
        mid = float(price)
        best_bid = max(round(mid - tick * rnd.randint(1, 3), 3), tick)
        best_ask = min(round(mid + tick * rnd.randint(1, 3), 3), 1 - tick)
        bids = [
            {"price": _money(round(best_bid - tick * i, 3)), "size": f"{rnd.uniform(5, 5000):.2f}"}
            for i in reversed(range(4))
            if best_bid - tick * i > 0
        ]
        asks = [
            {"price": _money(round(best_ask + tick * i, 3)), "size": f"{rnd.uniform(5, 5000):.2f}"}
            for i in reversed(range(4))
            if best_ask + tick * i < 1
        ]
        books.append(
            {
                "market": row["conditionId"],
                "asset_id": token,
                "timestamp": str(int(START.timestamp() * 1000)),
                "hash": hashlib.sha1(token.encode()).hexdigest(),
                "bids": bids,
                "asks": asks,
                "min_order_size": "5",
                "tick_size": str(tick),
                "neg_risk": row["negRisk"],
                "last_trade_price": str(price),
            }
        )
    return books


def synthetic_markets(count: int, seed: int = 42) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``count`` active markets (a tenth with three outcomes) and their books."""
    rnd = random.Random(seed)
    rows, books = [], []
    for i in range(count):
        outcomes = ["Yes", "No"] if i % 10 else ["Low", "Middle", "High"]
        row = market_row(900_000 + i, f"Synthetic market {i} resolves high?", outcomes, rnd)
        rows.append(row)
        books.extend(books_for(row, rnd))
    return rows, books


def synthetic_feed(index: int, items: int) -> bytes:
    """An RSS 2.0 feed of ``items`` entries, the same bytes every time for the same arguments."""
    start = START - timedelta(hours=index)
    entries = "".join(
        f"<item><title>Feed {index} item {i}: a headline of ordinary length</title>"
        f"<link>https://synthetic.example/{index}/{i}</link><guid>synthetic-{index}-{i}</guid>"
        f"<pubDate>{(start - timedelta(minutes=7 * i)).strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>"
        f"<category>topic-{i % 5}</category>"
        f"<description>Summary of item {i} in feed {index}, long enough to look like a real teaser "
        f"paragraph with &lt;b&gt;some&lt;/b&gt; markup.</description></item>"
        for i in range(items)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Synthetic feed {index}</title><link>https://synthetic.example/{index}</link>"
        f"<description>Generated</description>{entries}</channel></rss>"
    ).encode()
