"""Politeness per host: at most ``FETCH_PER_HOST`` requests at once to one host, whatever
``FETCH_CONCURRENCY`` is, and one at a time, spaced, to a host that answered 429 or 503.

Feed readers that open many connections to one host (feedburner, openrss.org) get their address
blocked (Miniflux #3289, #2336); a Lambda's outgoing address is shared, so the rule holds per run.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from itertools import chain, zip_longest
from urllib.parse import urlsplit

from producer_common.deadline import Deadline
from producer_common.http import retry_after_s
from producer_common.state import FeedValidators
from rss_fetch import FeedError, Fetched, Fetcher
from rss_redirects import RedirectGuard
from rss_run import SKIPPED
from urllib3 import BaseHTTPResponse

SLOW_STATUSES = frozenset({429, 503})
SLOW_GAP_S = 1.0  # of quiet after each request to a slowed host, unless its Retry-After asks for more
MAX_SLOW_GAP_S = 30.0


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def interleave_hosts(urls: Sequence[str]) -> list[str]:
    """The same URLs taken round-robin by host, so the workers spread over hosts instead of queueing on one."""
    by_host: dict[str, list[str]] = defaultdict(list)
    for url in urls:
        by_host[host_of(url)].append(url)
    return [url for url in chain.from_iterable(zip_longest(*by_host.values())) if url is not None]


class HostLimiter:
    """Slots per host, shared by the fetching threads; ``peak`` keeps the most ever held at once."""

    def __init__(
        self, per_host: int, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.per_host = max(1, per_host)
        self.peak: Counter[str] = Counter()
        self._busy: Counter[str] = Counter()
        self._gap_s: dict[str, float] = {}  # slowed hosts: seconds between request starts
        self._next_start: dict[str, float] = {}
        self._changed = threading.Condition()
        self._clock, self._sleep = clock, sleep

    def slowed(self, host: str) -> bool:
        return host in self._gap_s

    def gap_s(self, host: str) -> float | None:
        """The quiet a slowed host gets between requests; None when it is not slowed."""
        return self._gap_s.get(host)

    def slow_down(self, host: str, gap_s: float = SLOW_GAP_S) -> None:
        """From now on one request at a time to ``host``, ``gap_s`` of quiet between them (never less than before)."""
        with self._changed:
            self._gap_s[host] = min(max(gap_s, self._gap_s.get(host, 0.0), SLOW_GAP_S), MAX_SLOW_GAP_S)

    @contextmanager
    def slot(self, host: str, deadline: Deadline | None = None, reserve_s: float = 0.0) -> Iterator[None]:
        """Hold one of ``host``'s slots. Raises ``FeedError`` (``rss_run.SKIPPED``, not a failure of the feed)
        when the turn would come with less than ``reserve_s`` of the deadline left."""
        with self._changed:
            while self._busy[host] >= (1 if host in self._gap_s else self.per_host):
                if deadline is not None and deadline.remaining_s() <= reserve_s:
                    raise FeedError(SKIPPED)
                self._changed.wait(timeout=None if deadline is None else 0.5)
            self._busy[host] += 1
            self.peak[host] = max(self.peak[host], self._busy[host])
            now = self._clock()
            wait = max(0.0, self._next_start.get(host, now) - now) if host in self._gap_s else 0.0
        try:
            if wait > 0:
                if deadline is not None and wait + reserve_s >= deadline.remaining_s():
                    raise FeedError(SKIPPED)
                self._sleep(wait)
            yield
        finally:
            with self._changed:
                self._busy[host] -= 1
                if host in self._gap_s:  # quiet for the gap after each request (its retries included)
                    self._next_start[host] = max(self._next_start.get(host, 0.0), self._clock() + self._gap_s[host])
                self._changed.notify_all()


@dataclass(frozen=True)
class SlowDownHook(RedirectGuard):
    """The redirect guard, also telling the limiter of every 429 or 503 a host answers (retries included)."""

    limiter: HostLimiter | None = None

    def __call__(self, url: str, response: BaseHTTPResponse) -> BaseHTTPResponse:
        if self.limiter is not None and response.status in SLOW_STATUSES:
            asked = retry_after_s(response.headers.get("Retry-After"))
            self.limiter.slow_down(host_of(url), asked if asked is not None else SLOW_GAP_S)
        return super().__call__(url, response)


@dataclass(frozen=True)
class PoliteFetcher(Fetcher):
    """A ``Fetcher`` that holds a slot of the feed's host for the whole fetch (retries and body included)
    and tells ``observe`` of every feed fetched (for its schedule)."""

    hosts: HostLimiter = field(default_factory=lambda: HostLimiter(2))
    observe: Callable[[str, Fetched], None] | None = None

    @classmethod
    def around(
        cls, fetcher: Fetcher, per_host: int, observe: Callable[[str, Fetched], None] | None = None
    ) -> PoliteFetcher:
        """A polite fetcher for one run, sharing ``fetcher``'s pools and limits."""
        hosts = HostLimiter(per_host)
        guard = SlowDownHook(fetcher.redirects.allow_private, fetcher.redirects.lookup, limiter=hosts)
        shared = {f.name: getattr(fetcher, f.name) for f in fields(Fetcher) if f.name != "redirects"}
        return cls(**shared, redirects=guard, hosts=hosts, observe=observe)

    def fetch(self, url: str, known: FeedValidators | None = None, deadline: Deadline | None = None) -> Fetched:
        # the reserve produce_feeds keeps before starting a fetch: one more fetch and its parsing
        with self.hosts.slot(host_of(url), deadline, reserve_s=self.timeout_s + 2.0):
            fetched = super().fetch(url, known, deadline)
        if self.observe is not None:
            self.observe(url, fetched)
        return fetched
