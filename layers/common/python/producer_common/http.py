"""HTTP for every producer: one pooled session per container, bounded polite retries."""

from __future__ import annotations

import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from .deadline import Deadline

USER_AGENT = "kafka-data-producers/{component} (AWS Lambda; +https://github.com/kafka-data-producers)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_REDIRECTS = 5


def build_session(component: str, pool_size: int = 10) -> requests.Session:
    """A keep-alive session whose User-Agent names the producer, with few redirects allowed; its
    requests honour a ``time_limit`` around them."""
    session = requests.Session()
    adapter = _LimitedAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT.format(component=component)
    session.max_redirects = MAX_REDIRECTS
    return session


@dataclass(frozen=True)
class RetryPolicy:
    """Retries on 429, 5xx and refused connections, waiting what Retry-After asks, within limits."""

    attempts: int = 3
    base_delay_s: float = 0.5
    max_delay_s: float = 10.0


def retry_after_s(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return max(0.0, (moment - (now or datetime.now(timezone.utc))).total_seconds())


def send_with_retries(
    send: Callable[[], requests.Response],
    policy: RetryPolicy | None = None,
    deadline: Deadline | None = None,
    sleep: Callable[[float], None] = time.sleep,
    jitter: Callable[[], float] = random.random,
) -> requests.Response:
    """Call ``send`` until it answers without a retryable status, attempts run out, or the wait
    would pass the deadline; the last response (or connection error) is what the caller gets."""
    policy = policy or RetryPolicy()
    for attempt in range(policy.attempts):
        last = attempt == policy.attempts - 1
        try:
            response = send()
        except requests.ConnectionError:
            if last:
                raise
            wait = policy.base_delay_s * 2**attempt
        else:
            if response.status_code not in RETRY_STATUSES or last:
                return response
            asked = retry_after_s(response.headers.get("Retry-After"))
            wait = asked if asked is not None else policy.base_delay_s * 2**attempt * (0.5 + jitter() / 2)
            if wait > policy.max_delay_s or (deadline is not None and wait >= deadline.remaining_s()):
                return response  # waiting that long would cost more than the answer is worth
            response.close()
        if deadline is not None and wait >= deadline.remaining_s():
            raise requests.ConnectionError("no time left to retry")
        sleep(min(wait, policy.max_delay_s))
    raise AssertionError("unreachable: the last attempt returns or raises")


class RateLimiter:
    """At most ``limit`` calls in any ``per_s`` window, shared by threads; callers wait their turn."""

    def __init__(
        self,
        limit: int,
        per_s: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._interval = per_s / limit
        self._next = 0.0
        self._lock = threading.Lock()
        self._clock, self._sleep = clock, sleep

    def acquire(self) -> None:
        # Calls are spaced evenly: simpler than a burst bucket, and never over the published rate.
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self._interval
        if start > now:
            self._sleep(start - now)


class TimeLimit:
    """A whole-exchange time limit: when it passes, every socket its thread read from is shut down,
    so a read blocked on a server that trickles its status line, headers or body returns at once.

    Socket timeouts cannot do this: they bound one read, and a byte every few seconds resets them.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._over = False

    def watch(self, sock: Any) -> None:
        with self._lock:
            if self.expired:
                _shut(sock)
            elif not self._over:
                self._sockets.append(sock)

    def expire(self) -> None:
        with self._lock:
            if self._over:
                return
            self.expired = True
            for sock in self._sockets:
                _shut(sock)

    def end(self) -> None:
        with self._lock:
            self._over = True
            self._sockets.clear()


_active = threading.local()


@contextmanager
def time_limit(seconds: float) -> Iterator[TimeLimit]:
    """Requests made by this thread inside the block (sessions from ``build_session``) end by
    ``seconds`` from now: reading then fails, and ``TimeLimit.expired`` says why."""
    limit = TimeLimit(seconds)
    timer = threading.Timer(seconds, limit.expire)
    timer.daemon = True
    outer, _active.limit = getattr(_active, "limit", None), limit
    timer.start()
    try:
        yield limit
    finally:
        timer.cancel()
        limit.end()
        _active.limit = outer


def _shut(sock: Any) -> None:
    with suppress(OSError, ValueError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)


class _Limited:
    """Hands a connection's socket to the thread's ``TimeLimit`` before waiting for the response."""

    sock: Any

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        limit = getattr(_active, "limit", None)
        if limit is not None and self.sock is not None:
            limit.watch(self.sock)
        return super().getresponse(*args, **kwargs)  # type: ignore[misc]


class _LimitedHTTPConnection(_Limited, HTTPConnection):
    pass


class _LimitedHTTPSConnection(_Limited, HTTPSConnection):
    pass


class _LimitedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _LimitedHTTPConnection


class _LimitedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _LimitedHTTPSConnection


class _LimitedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _LimitedHTTPPool, "https": _LimitedHTTPSPool}
