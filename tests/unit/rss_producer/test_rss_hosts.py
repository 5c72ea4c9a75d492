"""HostLimiter: never more than its slots to one host in a run, one at a time and spaced once a host is slowed."""

from __future__ import annotations

import pytest
from producer_common.deadline import Deadline
from rss_fetch import SKIPPED, Fetched, Fetcher
from rss_hosts import HostLimiter, SlowDownHook, interleave_hosts
from rss_transfers import Answer

from tests.unit.rss_producer.served import Served

FEED = "<rss version='2.0'><channel><title>t</title></channel></rss>"


def test_a_run_never_holds_more_than_the_slots_of_one_host() -> None:
    # Given 80 feeds on two hosts, two slots each, and 16 fetches at once
    served = Served()
    urls = [f"http://{host}/{n}" for n in range(40) for host in ("a", "b")]
    for url in urls:
        served.get(url, FEED)
    limiter = HostLimiter(2)
    # When they are fetched
    outcomes = [o for done in Fetcher(served).fetch_all(urls, {}, concurrency=16, turns=limiter) for o in done]
    # Then each host had two at once at most, and the limit was reached
    assert len(outcomes) == 80 and all(isinstance(fetched, Fetched) for _, fetched in outcomes)
    assert dict(limiter.peak) == {"a": 2, "b": 2}


def test_a_slowed_host_gets_one_request_at_a_time_spaced_by_its_retry_after() -> None:
    # Given a fake clock, and a host that asked for 5 s between requests
    now = [100.0]
    limiter = HostLimiter(4, clock=lambda: now[0])
    limiter.slow_down("busy.example", 5.0)
    # When a request starts, Then no other may until it ends, and then only 5 s later
    assert limiter.wait_s("busy.example") == 0.0
    limiter.take("busy.example")
    assert limiter.wait_s("busy.example") is None
    limiter.give_back("busy.example")
    assert limiter.wait_s("busy.example") == 5.0
    now[0] += 5.0
    assert limiter.wait_s("busy.example") == 0.0
    # And another host is untouched
    assert limiter.wait_s("other.example") == 0.0 and not limiter.slowed("other.example")


def test_a_turn_that_would_come_too_late_is_skipped_not_failed() -> None:
    # Given a host slowed to a request every 10 s, two of its feeds, and a deadline with 5 s left
    served = Served()
    urls = ["http://busy.example/1", "http://busy.example/2"]
    for url in urls:
        served.get(url, FEED)
    limiter = HostLimiter(2)
    limiter.slow_down("busy.example", 10.0)
    # When they are fetched, keeping 1 s in reserve
    done = Fetcher(served).fetch_all(urls, {}, Deadline(fallback_s=5.0), turns=limiter, reserve_s=1.0)
    outcomes = dict(o for batch in done for o in batch)
    # Then the first is fetched, and the second skipped as near the deadline (not a failure of the feed)
    assert isinstance(outcomes[urls[0]], Fetched)
    assert str(outcomes[urls[1]]) == SKIPPED


def test_slow_down_is_bounded() -> None:
    limiter = HostLimiter(2)
    limiter.slow_down("h", 3600.0)
    limiter.slow_down("g", 0.0)
    assert (limiter.gap_s("h"), limiter.gap_s("g")) == (30.0, 1.0)


def test_urls_are_taken_round_robin_by_host() -> None:
    urls = ["http://a/1", "http://a/2", "http://a/3", "http://b/1", "http://c/1", "http://b/2"]
    expected = ["http://a/1", "http://b/1", "http://c/1", "http://a/2", "http://b/2", "http://a/3"]
    assert interleave_hosts(urls) == expected


@pytest.mark.parametrize(("status", "retry_after", "gap"), [(503, "3", 3.0), (429, None, 1.0), (500, "3", None)])
def test_429_and_503_slow_their_host_down(status: int, retry_after: str | None, gap: float | None) -> None:
    # Given a response as the fetch hands it to the hook
    limiter = HostLimiter(2)
    response = Answer("https://busy.example/feed.xml", status, {"retry-after": retry_after} if retry_after else {})
    # When the hook sees it
    SlowDownHook(limiter=limiter)("https://busy.example/feed.xml", response)
    # Then a 429 or 503 slows that host down, by its Retry-After when it gives one; a 500 does not
    assert limiter.gap_s("busy.example") == gap
