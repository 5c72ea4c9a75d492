"""Fetching one feed; bad input becomes a ``FeedError``, never a crash (parsing: ``rss_parse``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import requests
from producer_common.deadline import Deadline
from producer_common.http import BodyError, RetryPolicy, describe_request_error, read_capped, send_with_retries
from producer_common.state import FeedValidators
from rss_redirects import RedirectGuard, RedirectRefused

BODY_BUDGET_FACTOR = 2  # a whole fetch may take at most twice the read timeout


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
    """Polite GETs: timeouts, bounded retries honouring Retry-After, a streamed size cap, conditional GET,
    and no redirect from a public address to a private one (``rss_redirects``)."""

    session: requests.Session
    timeout_s: float = 10.0
    max_bytes: int = 5 * 1024 * 1024
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    redirects: RedirectGuard = field(default_factory=RedirectGuard)

    def fetch(self, url: str, known: FeedValidators | None = None, deadline: Deadline | None = None) -> Fetched:
        headers = known.request_headers() if known else {}
        timeout = (min(self.timeout_s, 5.0), self.timeout_s)
        started = time.monotonic()
        try:
            response = send_with_retries(
                lambda: self.session.get(
                    url, headers=headers, timeout=timeout, stream=True, hooks={"response": self.redirects}
                ),
                self.retry,
                deadline,
            )
            with response:
                if response.status_code == 304:
                    return Fetched(None, {}, known or FeedValidators(), time.monotonic() - started)
                if response.status_code >= 400:
                    raise FeedError(f"HTTP {response.status_code}")
                body = self._read(response, started)
                received = {name.lower(): value for name, value in response.headers.items()}
        except RedirectRefused as error:
            raise FeedError(str(error)) from None
        except ValueError:  # urllib.parse on a Location such as http://[::1/feed (the feed URL was checked)
            raise FeedError("redirect to a URL that cannot be read") from None
        except requests.TooManyRedirects:
            raise FeedError("too many redirects") from None
        except requests.RequestException as error:
            raise FeedError(describe_request_error(error, url)) from None
        validators = FeedValidators(received.get("etag"), received.get("last-modified"))
        return Fetched(body, received, validators, time.monotonic() - started)

    def _read(self, response: requests.Response, started: float) -> bytes:
        try:
            return read_capped(response, self.max_bytes, started, self.timeout_s * BODY_BUDGET_FACTOR)
        except BodyError as error:
            raise FeedError(str(error)) from None
