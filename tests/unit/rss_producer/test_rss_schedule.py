"""The not-due and back-off rules, over a fake clock (``now`` is an argument: no real time passes)."""

from __future__ import annotations

import itertools

import pytest
from producer_common.state import FeedSchedule
from rss_schedule import (
    DAY_S,
    Cadence,
    after_failure,
    after_success,
    document_interval_s,
    freshness_s,
    http_freshness_s,
    is_due,
    worth_saving,
)

NOW = 1_800_000_000.0  # Fri, 15 Jan 2027 08:00:00 GMT
CADENCE = Cadence(floor_s=0.0, ceiling_s=DAY_S, backoff_s=900.0, early_s=60.0)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"cache-control": "public, max-age=1800"}, 1800.0),
        ({"cache-control": "max-age=1800", "age": "300"}, 1500.0),
        ({"cache-control": "max-age=60", "age": "600"}, 0.0),
        ({"cache-control": "no-cache", "expires": "Fri, 15 Jan 2027 20:00:00 GMT"}, 0.0),
        ({"expires": "Fri, 15 Jan 2027 09:00:00 GMT"}, 3600.0),  # against the clock: no Date
        ({"expires": "Fri, 15 Jan 2027 09:00:00 GMT", "date": "Fri, 15 Jan 2027 08:30:00 GMT"}, 1800.0),
        ({"cache-control": "max-age=120", "expires": "Fri, 15 Jan 2027 20:00:00 GMT"}, 120.0),  # max-age wins
        ({"expires": "0"}, 0.0),  # unreadable: already expired (RFC 9111 5.3)
        ({"content-type": "application/rss+xml"}, None),
    ],
)
def test_http_freshness(headers: dict[str, str], expected: float | None) -> None:
    assert http_freshness_s(headers, NOW) == expected


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (b"<rss><channel><ttl>60</ttl></channel></rss>", 3600.0),
        (
            b"<rdf:RDF><sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>2</sy:updateFrequency></rdf:RDF>",
            1800.0,
        ),
        (b"<rss><channel><syn:updatePeriod> daily </syn:updatePeriod></channel></rss>", DAY_S),
        (b"<rss><channel><sy:updatePeriod>fortnightly</sy:updatePeriod></channel></rss>", None),
        (b"<rss><channel><ttl>30</ttl><sy:updatePeriod>hourly</sy:updatePeriod></channel></rss>", 3600.0),
        (b"<rss><channel><title>no hint</title></channel></rss>", None),
        # named in text first, then as an element in another case: the element still counts
        (
            b"<rss><channel><title>on updatePeriod</title><SY:UPDATEPERIOD>weekly</SY:UPDATEPERIOD></channel></rss>",
            7 * DAY_S,
        ),
        (b"<rss><channel><title>updateperiod>daily<</title></channel></rss>", None),
        (None, None),
    ],
)
def test_document_interval(document: bytes | None, expected: float | None) -> None:
    assert document_interval_s(document) == expected


def test_the_longest_hint_wins() -> None:
    # Given a CDN's short max-age and a feed announcing two hours
    headers, body = {"cache-control": "max-age=300"}, b"<rss><channel><ttl>120</ttl></channel></rss>"
    # Then the feed's own interval holds
    assert freshness_s(headers, body, NOW) == 7200.0


def test_a_fetched_feed_is_not_due_until_its_interval_has_passed() -> None:
    # Given a feed fetched now that announces an hour
    schedule = after_success(NOW, 3600.0, None, CADENCE)
    # Then it is not due 30 minutes later, due a minute before the hour (schedule ticks drift), and after
    assert not is_due(schedule, NOW + 1800, CADENCE)
    assert is_due(schedule, NOW + 3540, CADENCE)
    assert is_due(schedule, NOW + 3601, CADENCE)


def test_the_interval_is_clamped_to_the_floor_and_the_ceiling() -> None:
    cadence = Cadence(floor_s=600.0, ceiling_s=7200.0)
    assert after_success(NOW, 60.0, None, cadence).due_at == NOW + 600.0
    assert after_success(NOW, 30 * DAY_S, None, cadence).due_at == NOW + 7200.0
    assert after_success(NOW, None, None, cadence).due_at == NOW + 600.0


def test_a_feed_without_a_hint_is_due_every_run_and_needs_no_record() -> None:
    schedule = after_success(NOW, None, None, CADENCE)
    assert is_due(schedule, NOW, CADENCE)
    assert not worth_saving(schedule, None, NOW, CADENCE)


def test_a_304_keeps_the_interval_announced_before() -> None:
    # Given a feed that announced an hour last time, and answers 304 now (no document, no hint)
    previous = FeedSchedule(NOW - 10, 0, 3600.0)
    # Then it is not due for another hour
    assert after_success(NOW, None, previous, CADENCE) == FeedSchedule(NOW + 3600.0, 0, 3600.0)


def test_failures_back_off_exponentially_up_to_the_ceiling() -> None:
    # Given a feed that fails run after run, each run at the time it became due
    clock, schedule, waits = NOW, None, []
    for _ in range(10):
        schedule = after_failure(clock, schedule, CADENCE)
        waits.append(schedule.due_at - clock)
        clock = schedule.due_at
    # Then it waits 15 min, 30, 1 h, ... and never more than a day
    assert waits[:7] == [900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 57600.0]
    assert waits[7:] == [DAY_S] * 3
    assert schedule is not None and schedule.failures == 10


def test_a_dead_feed_costs_about_one_request_a_day() -> None:
    # Given a schedule ticking every 15 minutes for a week and a feed that never answers
    schedule, asked, tick = None, [], NOW
    while tick < NOW + 7 * DAY_S:
        if is_due(schedule, tick, CADENCE):
            asked.append(tick)
            schedule = after_failure(tick, schedule, CADENCE)
        tick += 900
    # Then it is asked 8 times in its first 32 hours, then once a day: 13 requests in a week, not 672
    gaps = [later - earlier for earlier, later in itertools.pairwise(asked)]
    assert len(asked) == 13
    assert gaps[7:] == [DAY_S] * 5


def test_a_success_after_failures_resets_the_count_and_is_saved() -> None:
    previous = FeedSchedule(NOW - 5, 4)
    recovered = after_success(NOW, None, previous, CADENCE)
    assert recovered.failures == 0
    assert worth_saving(recovered, previous, NOW, CADENCE)
