"""PolymarketProducerFunction: one price message per outcome token of the selected markets."""

from __future__ import annotations

import functools
from datetime import datetime, timezone
from typing import Any

import polymarket_markets
import polymarket_run
import requests
from aws_lambda_powertools.logging import correlation_paths
from polymarket_api import PolymarketApi
from polymarket_settings import PolymarketSettings
from producer_common import utc_iso
from producer_common.deadline import Deadline
from producer_common.http import build_session
from producer_common.observability import build_logger, build_metrics
from producer_common.run import deliver_run

logger = build_logger("polymarket-producer")
metrics = build_metrics("polymarket-producer")


@functools.cache
def settings() -> PolymarketSettings:
    return PolymarketSettings.from_env()


@functools.cache
def session() -> requests.Session:
    return build_session("polymarket-producer", pool_size=settings().concurrency + 2)


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    config = settings()
    selection = polymarket_run.select(event, config)
    observed_at = utc_iso(datetime.now(timezone.utc))

    def work(send: polymarket_run.Send, deadline: Deadline) -> tuple[list[Any], dict[str, Any]]:
        api = PolymarketApi(session(), config.gamma_url, config.clob_url, config.timeout_s, deadline)
        return polymarket_run.produce_prices(api, selection, send, observed_at, config.batch_size, config.concurrency)

    return deliver_run("polymarket", config.kafka, context, metrics, work, value_schema=polymarket_markets.SCHEMA)
