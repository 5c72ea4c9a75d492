"""Fetching one feed; bad input becomes a ``FeedError``, never a crash (parsing: ``rss_parse``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import urllib3.exceptions
from producer_common.deadline import Deadline
from producer_common.http import (
    MAX_REDIRECTS,
    URLLIB3_CONNECTION_ERRORS,
    BodyError,
    Opener,
    RetryPolicy,
    TimeLimit,
    describe_request_error,
    read_capped,
    send_with_retries,
    time_limit,
)
from producer_common.state import FeedValidators
from rss_redirects import RedirectGuard, RedirectRefused, redirect_target

CONNECT_TIMEOUT_S = 5.0
# Hosts whose idle connections the pools keep. A run takes feeds round-robin by host
# (``rss_hosts.interleave_hosts``), so with fewer pools than hosts each pool is dropped before its
# host's next feed and every fetch connects afresh (TCP, and TLS: the costliest part of a fetch).
# Each pool holds at most FETCH_PER_HOST connections: 64 x 2 sockets by default, well within
# Lambda's 1,024 file descriptors.
HOST_POOLS = 64
# At most this much of an unwanted body (a redirect's, an error page's) is read to keep its connection.
REUSE_AFTER_BYTES = 64 * 1024


class FeedError(Exception):
    """This feed could not be fetched or is not a feed; the run goes on without it."""


@dataclass(frozen=True)
class Fetched:
    """A 200 with its body, or a 304 (``body`` None); the validators to keep for next time."""

    body: bytes | None
    headers: dict[str, str]
    validators: FeedValidators
    latency_s: float


@dataclass(frozen=True)
class Fetcher:
    """Polite GETs: one time limit for the whole fetch (connect, headers, body, retries), bounded retries
    honouring Retry-After, a streamed size cap, conditional GET, and no redirect from a public
    address to a private one at any of at most ``MAX_REDIRECTS`` hops (``rss_redirects``). It sends
    through urllib3 (``producer_common.http.Pools``): requests' own layer cost as much CPU again."""

    pools: Opener
    timeout_s: float = 10.0
    max_bytes: int = 5 * 1024 * 1024
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    redirects: RedirectGuard = field(default_factory=RedirectGuard)

    def fetch(self, url: str, known: FeedValidators | None = None, deadline: Deadline | None = None) -> Fetched:
        started = time.monotonic()
        seconds = min(self.timeout_s, deadline.remaining_s()) if deadline else self.timeout_s
        with time_limit(seconds) as limit:
            try:
                fetched = self._fetch(url, known, Deadline(fallback_s=seconds), started, limit)
            except FeedError:
                if limit.expired:
                    raise FeedError(f"no complete response within {seconds:.3g} s") from None
                raise
            if limit.expired:  # headers cut short read as complete ones: a 304 of a trickling server, say
                raise FeedError(f"no complete response within {seconds:.3g} s")
            return fetched

    def _fetch(
        self, url: str, known: FeedValidators | None, deadline: Deadline, started: float, limit: TimeLimit
    ) -> Fetched:
        headers = known.request_headers() if known else {}
        timeout = urllib3.Timeout(connect=min(self.timeout_s, CONNECT_TIMEOUT_S), read=self.timeout_s)
        for _ in range(MAX_REDIRECTS + 1):
            response = self._send(url, headers, timeout, deadline)
            try:
                target = redirect_target(url, response)
            except ValueError:  # a Location such as http://[::1/feed (the feed URL was checked)
                response.close()
                raise FeedError("redirect to a URL that cannot be read") from None
            if target is None:
                break
            _finish(response)  # so its connection can serve the next hop
            url = target
        else:
            raise FeedError("too many redirects")
        if response.status == 304 or response.status >= 400:
            _finish(response)
            if response.status >= 400:
                raise FeedError(f"HTTP {response.status}")
            return Fetched(None, {}, known or FeedValidators(), time.monotonic() - started)
        with response:
            body = self._read(response, limit)
            received = {name.lower(): value for name, value in response.headers.items()}
        validators = FeedValidators(received.get("etag"), received.get("last-modified"))
        return Fetched(body, received, validators, time.monotonic() - started)

    def _send(
        self, url: str, headers: dict[str, str], timeout: urllib3.Timeout, deadline: Deadline
    ) -> urllib3.BaseHTTPResponse:
        """One hop, retried as the policy allows; every answer (retries too) passes ``redirects``."""
        try:
            return send_with_retries(
                lambda: self.redirects(
                    url, self.pools.urlopen("GET", url, headers, timeout=timeout, preload_content=False)
                ),
                self.retry,
                deadline,
                retry_on=URLLIB3_CONNECTION_ERRORS,
            )
        except RedirectRefused as error:
            raise FeedError(str(error)) from None
        except urllib3.exceptions.HTTPError as error:
            raise FeedError(describe_request_error(error, url)) from None

    def _read(self, response: urllib3.BaseHTTPResponse, limit: TimeLimit) -> bytes:
        # the time limit shuts the socket when it passes, which ends the read
        try:
            body = read_capped(response, self.max_bytes)
        except BodyError as error:
            raise FeedError(str(error)) from None
        if limit.expired:  # the socket was shut: what came is not the whole body
            raise FeedError("time limit")
        return body


def _finish(response: urllib3.BaseHTTPResponse) -> None:
    """A response whose body is not wanted: its connection goes back to the pool when little is left
    to read (a 304 has no body; a redirect or an error page with a small Content-Length), else it is
    closed, so a hostile answer's endless body is never read."""
    left = response.length_remaining
    if left is not None and left <= REUSE_AFTER_BYTES:
        response.drain_conn()
        response.release_conn()
    else:
        response.close()
