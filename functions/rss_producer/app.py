"""RssProducerFunction: new feed items to Kafka, one message per item."""

from __future__ import annotations

import functools
from datetime import datetime, timezone
from typing import Any

import requests
import rss_run
from aws_lambda_powertools.logging import correlation_paths
from producer_common import utc_iso
from producer_common.http import build_session
from producer_common.observability import build_logger, build_metrics
from producer_common.run import deliver_run
from rss_settings import RssSettings

logger = build_logger("rss-producer")
metrics = build_metrics("rss-producer")


@functools.cache
def settings() -> RssSettings:
    return RssSettings.from_env()


@functools.cache
def session() -> requests.Session:
    return build_session("rss-producer", pool_size=settings().fetch_concurrency)


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    config = settings()
    feeds = rss_run.select_feeds(event, config.feed_urls)
    fetched_at = utc_iso(datetime.now(timezone.utc))

    def work(send: rss_run.Send, _deadline: Any) -> tuple[list[Any], dict[str, Any]]:
        sources, duplicates = rss_run.produce_feeds(
            feeds, session(), send, fetched_at, config.fetch_concurrency, config.fetch_timeout_s, config.max_feed_bytes
        )
        return sources, {"duplicates": duplicates}

    return deliver_run("rss", config.kafka, context, metrics, work)
