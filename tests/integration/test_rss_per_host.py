"""Politeness per host, counted by the hosts themselves: loopback servers on 127.0.0.2, 127.0.0.3, ...
(tools/services/feed_hosts.py) count the requests they have in flight while the handler runs on the embedded broker."""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path
from typing import Any

import pytest

from tools.local.handler import LambdaContext, load_event, load_handler
from tools.services.broker import EmbeddedBroker
from tools.services.feed_hosts import FeedHosts


def invoke(monkeypatch: pytest.MonkeyPatch, broker: EmbeddedBroker, urls: list[str], state: Path, **env: str) -> Any:
    for name, value in {
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
        "KAFKA_TOPIC": f"per-host-{uuid.uuid4().hex[:6]}",
        "FEED_URLS": ",".join(urls),
        "STATE_PATH": str(state),
        "FETCH_CONCURRENCY": "16",
        **env,
    }.items():
        monkeypatch.setenv(name, value)
    return load_handler("rss_producer").lambda_handler(load_event("schedule.json"), LambdaContext())


@pytest.mark.parametrize("per_host", [1, 2, 4])
def test_no_host_ever_has_more_than_fetch_per_host_requests_in_flight(
    broker: EmbeddedBroker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, per_host: int
) -> None:
    # Given 3 hosts of 24 feeds each, answering in 40 ms, and 16 fetches at once
    with FeedHosts(hosts=3, feeds=72, items=2, latency_ms=40) as hosts:
        # When the producer runs with FETCH_PER_HOST
        summary = invoke(monkeypatch, broker, hosts.urls, tmp_path / "s.sqlite", FETCH_PER_HOST=str(per_host))
    # Then every feed was delivered, and each host saw exactly that many at once at most (and reached it)
    assert (summary["status"], summary["produced"]) == ("ok", 72 * 2)
    assert set(hosts.peak_in_flight.values()) == {per_host}


def test_a_host_answering_429_gets_one_request_at_a_time_with_quiet_between(
    broker: EmbeddedBroker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two hosts of 4 feeds, the first answering 429 (Retry-After: 1) to its first request
    with FeedHosts(hosts=2, feeds=8, items=2, throttled=frozenset({0})) as hosts:
        # When the producer runs with two requests per host allowed
        summary = invoke(monkeypatch, broker, hosts.urls, tmp_path / "s.sqlite", FETCH_PER_HOST="2")
    # Then every feed was delivered (the 429 was retried)
    assert (summary["status"], summary["produced"]) == ("ok", 8 * 2)
    throttled = sorted(hosts.spans[hosts.addresses[0][0]])
    answered_429 = next(end for _, end, status in throttled if status == 429)
    after = [span for span in throttled if span[0] >= answered_429]
    # and after its 429 that host never had two requests at once, each following a quiet gap (one
    # request may have started beside the 429, before the host had said anything)
    assert [status for _, _, status in throttled].count(200) == 4 and len(after) >= 3
    for (_, earlier_end, _), (later_start, _, _) in itertools.pairwise(after):
        assert later_start - earlier_end >= 0.5
