"""HostLimiter: never more than its slots to one host, one at a time and spaced once a host is slowed."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from producer_common.deadline import Deadline
from rss_fetch import FeedError
from rss_hosts import HostLimiter, SlowDownHook, interleave_hosts
from rss_run import SKIPPED
from urllib3 import HTTPResponse


def test_threads_never_hold_more_than_the_slots_of_one_host() -> None:
    # Given 16 threads asking for two hosts, two slots each
    limiter = HostLimiter(2)
    held = {"a": 0, "b": 0}
    most = {"a": 0, "b": 0}
    lock = threading.Lock()

    def fetch(host: str) -> None:
        with limiter.slot(host):
            with lock:
                held[host] += 1
                most[host] = max(most[host], held[host])
            time.sleep(0.005)
            with lock:
                held[host] -= 1

    # When 80 fetches run
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(fetch, ["a", "b"] * 40))
    # Then each host had two at once at most, and the limit was reached
    assert most == {"a": 2, "b": 2} and dict(limiter.peak) == {"a": 2, "b": 2}


def test_a_slowed_host_gets_one_request_at_a_time_spaced_by_its_retry_after() -> None:
    # Given a fake clock, and a host that asked for 5 s between requests
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = HostLimiter(4, clock=lambda: now[0], sleep=sleep)
    limiter.slow_down("busy.example", 5.0)
    # When three requests follow one another
    for _ in range(3):
        with limiter.slot("busy.example"):
            pass
    # Then the second and third waited their turn; another host is untouched
    assert slept == [5.0, 5.0]
    with limiter.slot("other.example"):
        assert not limiter.slowed("other.example")


def test_a_turn_that_would_come_too_late_is_skipped_not_failed() -> None:
    # Given a host whose only slot is held, and a deadline with 5 s left
    limiter = HostLimiter(1)
    deadline = Deadline(fallback_s=5.0)
    # When another fetch needs 12 s of reserve for its turn
    with (
        limiter.slot("busy.example"),
        pytest.raises(FeedError) as raised,
        limiter.slot("busy.example", deadline, reserve_s=12.0),
    ):
        pass
    # Then it is skipped as near the deadline (not a failure of the feed), and the slot is free again
    assert str(raised.value) == SKIPPED
    with limiter.slot("busy.example", deadline, reserve_s=1.0):
        assert limiter.peak["busy.example"] == 1


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
    response = HTTPResponse(status=status, headers={"Retry-After": retry_after} if retry_after else {})
    # When the hook sees it
    SlowDownHook(limiter=limiter)("https://busy.example/feed.xml", response)
    # Then a 429 or 503 slows that host down, by its Retry-After when it gives one; a 500 does not
    assert limiter.gap_s("busy.example") == gap
