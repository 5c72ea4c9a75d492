"""Polymarket producer settings, validated once per container."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from producer_common import KafkaSettings
from producer_common import env as read

POLYMARKET_GAMMA_URL = "POLYMARKET_GAMMA_URL"
POLYMARKET_CLOB_URL = "POLYMARKET_CLOB_URL"
MARKET_SLUGS = "MARKET_SLUGS"
MARKET_TAG_ID = "MARKET_TAG_ID"
MAX_MARKETS = "MAX_MARKETS"
MIN_LIQUIDITY = "MIN_LIQUIDITY"
FETCH_TIMEOUT_S = "FETCH_TIMEOUT_S"
CLOB_BATCH_SIZE = "CLOB_BATCH_SIZE"
CLOB_CONCURRENCY = "CLOB_CONCURRENCY"
DEFAULT_TOPIC = "polymarket.prices"
DEFAULT_GAMMA_URL = "https://gamma-api.polymarket.com"
DEFAULT_CLOB_URL = "https://clob.polymarket.com"


@dataclass(frozen=True)
class PolymarketSettings:
    kafka: KafkaSettings
    gamma_url: str = DEFAULT_GAMMA_URL
    clob_url: str = DEFAULT_CLOB_URL
    slugs: tuple[str, ...] = ()
    tag_id: int | None = None
    max_markets: int = 50
    min_liquidity: float = 0.0
    timeout_s: float = 10.0
    batch_size: int = 100
    concurrency: int = 4

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PolymarketSettings:
        e = os.environ if environ is None else environ
        tag = read.optional_str(e, MARKET_TAG_ID)
        return cls(
            kafka=KafkaSettings.from_env(e, default_topic=DEFAULT_TOPIC),
            gamma_url=read.url(e, POLYMARKET_GAMMA_URL, DEFAULT_GAMMA_URL),
            clob_url=read.url(e, POLYMARKET_CLOB_URL, DEFAULT_CLOB_URL),
            slugs=read.string_list(e, MARKET_SLUGS),
            tag_id=read.integer(e, MARKET_TAG_ID, 0, 0) if tag is not None else None,
            max_markets=read.integer(e, MAX_MARKETS, 50, 1, 10_000),
            min_liquidity=read.number(e, MIN_LIQUIDITY, 0.0, 0.0),
            timeout_s=read.number(e, FETCH_TIMEOUT_S, 10.0, 0.1, 120),
            batch_size=read.integer(e, CLOB_BATCH_SIZE, 100, 1, 500),
            concurrency=read.integer(e, CLOB_CONCURRENCY, 4, 1, 16),
        )
