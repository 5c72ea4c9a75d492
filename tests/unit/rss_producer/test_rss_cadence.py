"""Runs over feeds that are due: not_due without a request, back-off after failures, schedules kept
only for what was delivered. Stubbed HTTP (``Served``), a real SQLite store, a fake clock (``now``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import rss_cadence
import rss_fetch
from producer_common import OutgoingMessage
from producer_common.deadline import Deadline
from producer_common.http import RetryPolicy
from producer_common.producer import DeliveryReport, FailedMessage
from producer_common.state import FeedSchedule
from producer_common.state.sqlite import SqliteStateStore
from rss_schedule import Cadence

from tests.unit.rss_producer.served import Served

CASES = Path(__file__).parent / "cases"
HOURLY = "https://hourly.test/feed.xml"
DEAD = "https://dead.test/feed.xml"
PLAIN = "https://plain.test/feed.xml"
START = 1_800_000_000.0
CADENCE = Cadence(floor_s=0.0, ceiling_s=86_400.0, backoff_s=900.0)


def run(
    served: Served, urls: list[str], state: SqliteStateStore, now: float, acknowledge: bool = True
) -> dict[str, Any]:
    """One run at ``now``, its delivery reported, then its schedules recorded."""
    sent: list[OutgoingMessage] = []
    fetcher = rss_fetch.Fetcher(served, timeout_s=2, retry=RetryPolicy(attempts=1))
    result, plan = rss_cadence.produce_due_feeds(
        urls, fetcher, state, sent.append, "2027-01-15T08:00:00Z", Deadline(fallback_s=60),
        now=now, cadence=CADENCE, concurrency=4, per_host=2,
    )  # fmt: skip
    keys = tuple(m.key for m in sent)
    report = DeliveryReport(keys) if acknowledge else DeliveryReport((), tuple(FailedMessage(k, "no") for k in keys))
    rss_cadence.record_schedules(plan, result, report, state)
    return {"sources": {feed.url: feed for feed in result.feeds}, "sent": len(sent), "backing_off": plan.backing_off}


@pytest.fixture(autouse=True)
def serve_feeds(served: Served) -> None:
    """Every test's feeds: HOURLY announces 60 minutes (<ttl>), PLAIN says nothing, DEAD answers 500."""
    body = (CASES / "rss2_basic.xml").read_bytes()
    served.get(HOURLY, body=body.replace(b"<channel>", b"<channel><ttl>60</ttl>"))
    served.get(PLAIN, body=body, headers={"Cache-Control": "no-cache"})
    served.get(DEAD, status=500)


def requested(served: Served) -> list[str]:
    return [call.url for call in served.calls]


def test_a_feed_announcing_an_hour_is_not_due_until_then(served: Served, state: SqliteStateStore) -> None:
    # Given a feed whose <ttl> is 60 minutes and one that says nothing
    run(served, [HOURLY, PLAIN], state, START)
    served.calls.clear()
    # When the schedule ticks 15 minutes later, then 60 minutes after the first run
    quarter = run(served, [HOURLY, PLAIN], state, START + 900)
    quarter_requests = requested(served)
    served.calls.clear()
    hour = run(served, [HOURLY, PLAIN], state, START + 3600)
    # Then at 15 minutes the hourly feed is not_due and never asked; at 60 it is fetched again
    assert quarter["sources"][HOURLY].status == "not_due"
    assert "not due before 2027-01-15T09:00:00Z" in quarter["sources"][HOURLY].error
    assert quarter_requests == [PLAIN]
    assert hour["sources"][HOURLY].status == "ok" and sorted(requested(served)) == sorted([HOURLY, PLAIN])
    # and the feed without hints or failures has no schedule written
    assert list(state.schedules([HOURLY, PLAIN])) == [HOURLY]


def test_a_failing_feed_backs_off_and_shows_it(served: Served, state: SqliteStateStore) -> None:
    # Given a feed that answers 500
    # When runs follow every 15 minutes for two hours
    runs = [run(served, [DEAD], state, START + tick * 900) for tick in range(9)]
    # Then it was asked at 0, 15 and 45 minutes and at 1 h 45 (waits 15, 30, 60 min), backing off between
    asked = [tick for tick, r in enumerate(runs) if r["sources"][DEAD].status == "error"]
    assert asked == [0, 1, 3, 7]
    assert runs[2]["sources"][DEAD].status == "not_due" and runs[2]["backing_off"] == 1
    assert runs[8]["sources"][DEAD].error.startswith("backing off after 4 failures in a row; next try at")
    assert state.schedules([DEAD])[DEAD].failures == 4


def test_a_recovered_feed_is_due_every_run_again(served: Served, state: SqliteStateStore) -> None:
    # Given a feed that failed twice
    state.save_schedules({PLAIN: FeedSchedule(START - 1, 2)})
    # When it answers again
    first = run(served, [PLAIN], state, START)
    second = run(served, [PLAIN], state, START + 900)
    # Then the count is reset and it is fetched on the next tick
    assert first["sources"][PLAIN].status == "ok" and state.schedules([PLAIN])[PLAIN].failures == 0
    assert second["sources"][PLAIN].status == "ok"


def test_a_feed_not_delivered_in_full_stays_due(served: Served, state: SqliteStateStore) -> None:
    # Given an hourly feed whose items the broker did not acknowledge
    first = run(served, [HOURLY], state, START, acknowledge=False)
    kept = state.schedules([HOURLY])
    # When the schedule ticks again
    second = run(served, [HOURLY], state, START + 900)
    # Then no schedule was kept, and the feed is fetched again, its items sent again
    assert first["sent"] == 3 and kept == {}
    assert second["sources"][HOURLY].status == "ok" and second["sent"] == 3
