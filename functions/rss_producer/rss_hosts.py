"""Politeness per host: at most ``FETCH_PER_HOST`` requests at once to one host, whatever
``FETCH_CONCURRENCY`` is, and one at a time, spaced, to a host that answered 429 or 503.

Feed readers that open many connections to one host (feedburner, openrss.org) get their address
blocked (Miniflux #3289, #2336); a Lambda's outgoing address is shared, so the rule holds per run.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from itertools import chain, zip_longest

from producer_common.http import retry_after_s
from rss_fetch import Fetcher, host_of
from rss_redirects import RedirectGuard
from rss_transfers import Answer

SLOW_STATUSES = frozenset({429, 503})
SLOW_GAP_S = 1.0  # of quiet after each request to a slowed host, unless its Retry-After asks for more
MAX_SLOW_GAP_S = 30.0


def interleave_hosts(urls: Sequence[str]) -> list[str]:
    """The same URLs taken round-robin by host, so the workers spread over hosts instead of queueing on one."""
    by_host: dict[str, list[str]] = defaultdict(list)
    for url in urls:
        by_host[host_of(url)].append(url)
    return [url for url in chain.from_iterable(zip_longest(*by_host.values())) if url is not None]


class HostLimiter:
    """Turns per host for ``rss_fetch.Fetcher.fetch_all``; ``peak`` keeps the most ever held at once."""

    def __init__(self, per_host: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_host = max(1, per_host)
        self.peak: Counter[str] = Counter()
        self._busy: Counter[str] = Counter()
        self._gap_s: dict[str, float] = {}  # slowed hosts: seconds between request starts
        self._next_start: dict[str, float] = {}
        self._clock = clock

    def slowed(self, host: str) -> bool:
        return host in self._gap_s

    def gap_s(self, host: str) -> float | None:
        """The quiet a slowed host gets between requests; None when it is not slowed."""
        return self._gap_s.get(host)

    def slow_down(self, host: str, gap_s: float = SLOW_GAP_S) -> None:
        """From now on one request at a time to ``host``, ``gap_s`` of quiet between them (never less than before)."""
        self._gap_s[host] = min(max(gap_s, self._gap_s.get(host, 0.0), SLOW_GAP_S), MAX_SLOW_GAP_S)

    def wait_s(self, host: str) -> float | None:
        """Seconds before ``host`` may get another request (0: now); None while its slots are all held."""
        if self._busy[host] >= (1 if host in self._gap_s else self.per_host):
            return None
        if host not in self._gap_s:
            return 0.0
        return max(0.0, self._next_start.get(host, 0.0) - self._clock())

    def take(self, host: str) -> None:
        self._busy[host] += 1
        self.peak[host] = max(self.peak[host], self._busy[host])

    def give_back(self, host: str) -> None:
        self._busy[host] -= 1
        if host in self._gap_s:  # quiet for the gap after each request (its retries included)
            self._next_start[host] = max(self._next_start.get(host, 0.0), self._clock() + self._gap_s[host])


@dataclass(frozen=True)
class SlowDownHook(RedirectGuard):
    """The redirect guard, also telling the limiter of every 429 or 503 a host answers (retries included)."""

    limiter: HostLimiter | None = None

    def __call__(self, url: str, response: Answer) -> Answer:
        if self.limiter is not None and response.status in SLOW_STATUSES:
            asked = retry_after_s(response.headers.get("retry-after"))
            self.limiter.slow_down(host_of(url), asked if asked is not None else SLOW_GAP_S)
        return super().__call__(url, response)


def polite(fetcher: Fetcher, per_host: int) -> tuple[Fetcher, HostLimiter]:
    """A fetcher for one run, sharing ``fetcher``'s transport and limits, whose 429s and 503s slow
    their host down in the limiter that comes with it."""
    hosts = HostLimiter(per_host)
    guard = SlowDownHook(fetcher.redirects.allow_private, fetcher.redirects.lookup, limiter=hosts)
    return replace(fetcher, redirects=guard), hosts
