"""A run over the feeds that are due, politely: ``rss_schedule``'s rules and ``rss_hosts``'s limits
around ``rss_run.produce_feeds``, with each feed's ``FeedSchedule`` read from and written to the state store.

A feed that is not due is reported ``not_due`` without a request; its ``error`` field says why (its
own interval, or backing off after failures). Schedules are written after the broker has answered:
a fetched feed's only when every item sent from it was acknowledged (else it stays due, and the
next run fetches it in full), a failed feed's whatever the broker said.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

import rss_parse
import rss_run
from producer_common import utc_iso
from producer_common.deadline import Deadline
from producer_common.producer import DeliveryReport
from producer_common.state import FeedSchedule, StateStore
from rss_fetch import Fetched, Fetcher
from rss_hosts import interleave_hosts, polite
from rss_outcome import FeedRun, RssRun
from rss_schedule import Cadence, after_failure, after_success, freshness_s, is_due, worth_saving

log = logging.getLogger("rss_producer")


@dataclass
class Plan:
    """One run's feeds by whether they are due, and what each fetched one said of itself."""

    now: float
    cadence: Cadence
    due: list[str]
    waiting: list[FeedRun]
    previous: dict[str, FeedSchedule]
    hints: dict[str, float | None] = field(default_factory=dict)

    @property
    def backing_off(self) -> int:
        return sum(self.previous[feed.url].failures > 0 for feed in self.waiting)

    def observe(self, url: str, fetched: Fetched) -> None:
        self.hints[url] = freshness_s(fetched.headers, fetched.body, self.now)


def plan_run(urls: Sequence[str], state: StateStore | None, now: float, cadence: Cadence) -> Plan:
    previous = state.schedules(list(urls)) if state else {}
    due, waiting = [], []
    for url in urls:
        schedule = previous.get(url)
        if is_due(schedule, now, cadence):
            due.append(url)
        else:
            assert schedule is not None
            waiting.append(FeedRun(url, status="not_due", error=_why_waiting(schedule)))
    return Plan(now, cadence, interleave_hosts(due), waiting, previous)


def _why_waiting(schedule: FeedSchedule) -> str:
    due = utc_iso(datetime.fromtimestamp(schedule.due_at, timezone.utc))
    if schedule.failures:
        return f"backing off after {schedule.failures} failures in a row; next try at {due}"
    return f"not due before {due} (its own interval)"


def produce_due_feeds(
    urls: Sequence[str],
    fetcher: Fetcher,
    state: StateStore | None,
    send: rss_run.Send,
    fetched_at: str,
    deadline: Deadline,
    *,
    now: float,
    cadence: Cadence,
    concurrency: int,
    per_host: int,
    parse: rss_parse.FeedParser = rss_parse.DEFAULT,
    max_items: int = rss_run.DEFAULT_MAX_ITEMS,
    settled: rss_run.Settled | None = None,
) -> tuple[RssRun, Plan]:
    """``rss_run.produce_feeds`` over the feeds that are due, interleaved by host, at most ``per_host``
    at once to one host; the others join the run as ``not_due``."""
    plan = plan_run(urls, state, now, cadence)
    fetcher, hosts = polite(fetcher, per_host)
    run = rss_run.produce_feeds(
        plan.due,
        fetcher,
        state,
        send,
        fetched_at,
        deadline,
        concurrency,
        parse,
        max_items,
        settled,
        hosts,
        plan.observe,
    )
    run.feeds += plan.waiting
    slowed = sorted(host for host in hosts.peak if hosts.slowed(host))
    if slowed:
        log.warning("hosts answered 429 or 503 and were slowed down", extra={"hosts": slowed[:50]})
    if plan.waiting:
        log.info("feeds not due", extra={"not_due": len(plan.waiting), "backing_off": plan.backing_off})
    return run, plan


def record_schedules(plan: Plan, run: RssRun, report: DeliveryReport, state: StateStore | None) -> None:
    """Each fetched feed's next due time: back-off for a failure, its interval for a feed delivered in full."""
    if state is None:
        return
    acknowledged = set(report.acknowledged)
    changed: dict[str, FeedSchedule] = {}
    for feed in run.feeds:
        previous = plan.previous.get(feed.url)
        if feed.status == "error" and feed.error != rss_run.SKIPPED:
            schedule = after_failure(plan.now, previous, plan.cadence)
        elif feed.status in ("ok", "not_modified") and acknowledged.issuperset(feed.sent_ids):
            schedule = after_success(plan.now, plan.hints.get(feed.url), previous, plan.cadence)
        else:
            continue  # not due, skipped near the deadline, or not delivered in full: as it was
        if worth_saving(schedule, previous, plan.now, plan.cadence):
            changed[feed.url] = schedule
    if changed:
        state.save_schedules(changed)
