"""RssProducerFunction: new feed items to Kafka, one message per item."""

from __future__ import annotations

import functools
import time
from datetime import datetime, timezone
from typing import Any

import rss_cadence
import rss_fetch
import rss_items
import rss_parse
import rss_run
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from producer_common import utc_iso
from producer_common.deadline import Deadline
from producer_common.observability import build_logger, build_metrics
from producer_common.producer import DeliveryReport, MessageProducer
from producer_common.run import deliver_run
from producer_common.state import StateStore, open_state_store
from rss_feed_list import FeedListReader
from rss_outcome import RssRun
from rss_redirects import RedirectGuard
from rss_settings import RssSettings
from rss_transfers import Transfers

logger = build_logger("rss-producer")
metrics = build_metrics("rss-producer")


@functools.cache
def settings() -> RssSettings:
    return RssSettings.from_env()


@functools.cache
def fetcher() -> rss_fetch.Fetcher:
    config = settings()
    transfers = Transfers("rss-producer", per_host=config.fetch_per_host, hosts=rss_fetch.HOST_POOLS)
    redirects = RedirectGuard(allow_private=config.allow_private_addresses)
    return rss_fetch.Fetcher(transfers, config.fetch_timeout_s, config.max_feed_bytes, redirects=redirects)


@functools.cache
def parser() -> rss_parse.FeedParser:
    return rss_parse.FeedParser(settings().feed_parser)


@functools.cache
def state() -> StateStore | None:
    return open_state_store()


@functools.cache
def feed_list() -> FeedListReader | None:
    config = settings()
    if not config.feed_list_uri:
        return None
    if config.feed_urls:
        logger.info("FEED_URLS ignored: FEED_LIST_URI names the feed list", extra={"feed_list": config.feed_list_uri})
    return FeedListReader(config.feed_list_uri, fetcher())


def configured_feeds() -> tuple[str, ...]:
    """FEED_LIST_URI's list, read again (conditionally) on every invocation; else FEED_URLS."""
    reader = feed_list()
    return reader.read().urls if reader else settings().feed_urls


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    config = settings()
    feeds = rss_run.select_feeds(event, configured_feeds())
    fetched_at = utc_iso(datetime.now(timezone.utc))
    outcome: list[RssRun] = []  # filled by work, read once the broker has answered
    plans: list[rss_cadence.Plan] = []

    def work(producer: MessageProducer, deadline: Deadline) -> tuple[list[Any], dict[str, Any]]:
        run, plan = rss_cadence.produce_due_feeds(
            feeds, fetcher(), state(), producer.send, fetched_at, deadline, now=time.time(), cadence=config.cadence,
            concurrency=config.fetch_concurrency, per_host=config.fetch_per_host, parse=parser(),
            max_items=config.max_items, settled=producer.take_settled,
        )  # fmt: skip
        outcome.append(run)
        plans.append(plan)
        record_metrics(run)
        metrics.add_metric(name="FeedsBackingOff", unit=MetricUnit.Count, value=plan.backing_off)
        return run.sources, {"duplicates": run.duplicates, "backing_off": plan.backing_off}

    def advance_state(report: DeliveryReport) -> None:
        if outcome:
            rss_run.record_delivery(outcome[0], report, state())
            rss_cadence.record_schedules(plans[0], outcome[0], report, state())

    return deliver_run(
        "rss", config.kafka, context, metrics, work, after_delivery=advance_state, value_schema=rss_items.SCHEMA
    )


def record_metrics(run: RssRun) -> None:
    metrics.add_metric(name="FeedItems", unit=MetricUnit.Count, value=sum(feed.items for feed in run.feeds))
    metrics.add_metric(name="NewItems", unit=MetricUnit.Count, value=sum(feed.new for feed in run.feeds))
    metrics.add_metric(name="DuplicateItems", unit=MetricUnit.Count, value=run.duplicates)
    metrics.add_metric(name="FeedItemsDropped", unit=MetricUnit.Count, value=run.dropped)
    metrics.add_metric(name="FeedErrors", unit=MetricUnit.Count, value=run.count("error"))
    metrics.add_metric(name="FeedsNotModified", unit=MetricUnit.Count, value=run.count("not_modified"))
    metrics.add_metric(name="FeedsNotDue", unit=MetricUnit.Count, value=run.count("not_due"))
    metrics.add_metric(name="FeedsParsedByReference", unit=MetricUnit.Count, value=run.reference_parsed)
    latencies = [feed.latency_s for feed in run.feeds if feed.latency_s is not None][:100]  # EMF holds 100 values
    for latency in latencies:
        metrics.add_metric(name="FetchLatency", unit=MetricUnit.Milliseconds, value=round(latency * 1000, 1))
