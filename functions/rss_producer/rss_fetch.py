"""Fetching feeds; bad input becomes a ``FeedError``, never a crash (parsing: ``rss_parse``).

Each fetch is a generator of steps (a ``Request`` to send, or seconds to pause before a retry) that
the answers are sent back into; ``Fetcher.fetch_all`` drives many at once over one ``Transport``
(``rss_transfers``), on the calling thread.
"""

from __future__ import annotations

import heapq
import random
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeAlias
from urllib.parse import urlsplit

from producer_common.deadline import Deadline
from producer_common.http import MAX_REDIRECTS, RETRY_STATUSES, RetryPolicy
from producer_common.state import FeedValidators
from rss_redirects import RedirectGuard, RedirectRefused, redirect_target
from rss_transfers import Answer, Request, Transport

SKIPPED = "skipped: too close to the Lambda deadline to start"
# Hosts whose idle connections are kept. A run takes feeds round-robin by host
# (``rss_hosts.interleave_hosts``), so with fewer than hosts each is dropped before its host's next
# feed and every fetch connects afresh (TCP, and TLS: the costliest part of a fetch).
HOST_POOLS = 64

Step: TypeAlias = Request | float  # a request to send, or seconds to pause
Steps: TypeAlias = Generator[Step, Answer | None, "Fetched"]
Outcome: TypeAlias = tuple[str, "Fetched | FeedError"]


class FeedError(Exception):
    """This feed could not be fetched or is not a feed; the run goes on without it."""


@dataclass(frozen=True)
class Fetched:
    """A 200 with its body, or a 304 (``body`` None); the validators to keep for next time."""

    body: bytes | None
    headers: dict[str, str]
    validators: FeedValidators
    latency_s: float


class Turns(Protocol):
    """When a host may get another request (``rss_hosts.HostLimiter``)."""

    def wait_s(self, host: str) -> float | None:
        """Seconds before a request to ``host`` may start (0: now); None while its slots are all held."""

    def take(self, host: str) -> None: ...

    def give_back(self, host: str) -> None: ...


class Unlimited:
    """Turns for every host at once."""

    def wait_s(self, host: str) -> float | None:
        return 0.0

    def take(self, host: str) -> None:
        pass

    def give_back(self, host: str) -> None:
        pass


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


@dataclass(frozen=True)
class Fetcher:
    """Polite GETs: one time limit for the whole fetch (connect, headers, body, retries), bounded retries
    honouring Retry-After, a size cap on the decoded body, conditional GET, and no redirect from a
    public address to a private one at any of at most ``MAX_REDIRECTS`` hops (``rss_redirects``)."""

    transport: Transport
    timeout_s: float = 10.0
    max_bytes: int = 5 * 1024 * 1024
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    redirects: RedirectGuard = field(default_factory=RedirectGuard)

    def fetch(self, url: str, known: FeedValidators | None = None, deadline: Deadline | None = None) -> Fetched:
        """One feed, waited for."""
        [(_, outcome)] = [
            done for batch in self.fetch_all([url], {url: known} if known else {}, deadline) for done in batch
        ]
        if isinstance(outcome, FeedError):
            raise outcome
        return outcome

    def fetch_all(
        self,
        urls: Sequence[str],
        known: Mapping[str, FeedValidators],
        deadline: Deadline | None = None,
        concurrency: int = 16,
        turns: Turns | None = None,
        reserve_s: float = 0.0,
        tick_s: float = 1.0,
    ) -> Iterator[list[Outcome]]:
        """Up to ``concurrency`` fetches at once, each starting when ``turns`` gives its host a turn;
        yields what ended (a ``Fetched`` or a ``FeedError`` by URL) at least every ``tick_s``.
        A fetch starts only while ``deadline`` leaves ``reserve_s``: the rest end as ``SKIPPED``."""
        deadline = deadline or Deadline(fallback_s=self.timeout_s + reserve_s + 60.0)  # the fetch limit alone
        turns = turns or Unlimited()
        queues: dict[str, deque[str]] = {}  # by host, in the order hosts first appear
        for url in dict.fromkeys(urls):  # a URL fetched once, however often it is listed
            queues.setdefault(host_of(url), deque()).append(url)
        running: dict[str, Steps] = {}
        paused: list[tuple[float, str]] = []

        def advance(url: str, answer: Answer | None, done: list[Outcome]) -> None:
            try:
                step = running[url].send(answer)
            except StopIteration as end:
                outcome: Fetched | FeedError = end.value
            except FeedError as error:
                outcome = error
            else:
                if isinstance(step, Request):
                    self.transport.start(url, step)
                else:
                    heapq.heappush(paused, (time.monotonic() + step, url))
                return
            del running[url]
            turns.give_back(host_of(url))
            done.append((url, outcome))

        while queues or running:
            done: list[Outcome] = []
            next_turn = tick_s
            started = True
            while started and queues and len(running) < concurrency:  # a round over the hosts, a fetch each
                started = False
                for host in list(queues):
                    if len(running) >= concurrency:
                        break
                    wait = turns.wait_s(host)
                    if wait is None:
                        continue
                    if wait + reserve_s >= deadline.remaining_s():  # its turn would come too late
                        done += [(url, FeedError(SKIPPED)) for url in queues.pop(host)]
                    elif wait > 0:
                        next_turn = min(next_turn, wait)
                    else:
                        url = queues[host].popleft()
                        if not queues[host]:
                            del queues[host]
                        turns.take(host)
                        running[url] = self._steps(url, known.get(url), deadline)
                        advance(url, None, done)
                        started = True
            now = time.monotonic()
            while paused and paused[0][0] <= now:
                advance(heapq.heappop(paused)[1], None, done)
            if not done:
                timeout = min(next_turn, paused[0][0] - now if paused else tick_s)
                for url, answer in self.transport.wait(timeout):
                    advance(str(url), answer, done)
            yield done

    def _steps(self, url: str, known: FeedValidators | None, deadline: Deadline) -> Steps:
        started = time.monotonic()
        seconds = min(self.timeout_s, deadline.remaining_s())
        ends = started + seconds
        headers = known.request_headers() if known else {}
        for _ in range(MAX_REDIRECTS + 1):
            answer = yield from self._send(url, headers, ends, seconds)
            try:
                target = redirect_target(url, answer)
            except ValueError:  # a Location such as http://[::1/feed (the feed URL was checked)
                raise FeedError("redirect to a URL that cannot be read") from None
            if target is None:
                break
            url = target
        else:
            raise FeedError("too many redirects")
        if answer.status >= 400:
            raise FeedError(f"HTTP {answer.status}")
        if answer.status == 304:
            return Fetched(None, {}, known or FeedValidators(), time.monotonic() - started)
        validators = FeedValidators(answer.headers.get("etag"), answer.headers.get("last-modified"))
        return Fetched(answer.body, answer.headers, validators, time.monotonic() - started)

    def _send(
        self,
        url: str,
        headers: Mapping[str, str],
        ends: float,
        seconds: float,
        jitter: Callable[[], float] = random.random,
    ) -> Generator[Step, Answer | None, Answer]:
        """One hop, retried as the policy allows (the same rules as ``producer_common.http.send_with_retries``);
        every answer (retries too) passes ``redirects``."""
        policy = self.retry
        for attempt in range(policy.attempts):
            last = attempt == policy.attempts - 1
            answer = yield Request(url, headers, max(0.001, ends - time.monotonic()), self.max_bytes)
            assert answer is not None
            left = ends - time.monotonic()
            if answer.error is not None:
                if answer.timed_out and left <= 0.01:
                    raise FeedError(f"no complete response within {seconds:.3g} s")
                wait = policy.wait_after_failure(attempt)
                if last or not answer.retry or wait >= left:
                    raise FeedError(answer.error)
            else:
                try:
                    self.redirects(url, answer)
                except RedirectRefused as error:
                    raise FeedError(str(error)) from None
                if answer.status not in RETRY_STATUSES or last:
                    return answer
                wait = policy.wait_after_status(attempt, answer.headers.get("retry-after"), jitter)
                if wait > policy.max_delay_s or wait >= left:
                    return answer  # waiting that long would cost more than the answer is worth
            yield min(wait, policy.max_delay_s)
        raise AssertionError("unreachable: the last attempt returns or raises")
