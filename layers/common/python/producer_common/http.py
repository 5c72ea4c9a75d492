"""HTTP for every producer: one pooled session per container, bounded polite retries."""

from __future__ import annotations

import io
import os
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .deadline import Deadline

if TYPE_CHECKING:  # imported where used: the RSS producer (libcurl) is spared their imports
    import requests  # ~18 ms of CPU
    import urllib3  # ~38 ms on Python 3.11, ~52 on 3.12 (urllib3 2's HTTP/2 probe reads package metadata)

USER_AGENT = "kafka-data-producers/{component} (AWS Lambda; +https://github.com/kafka-data-producers)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_REDIRECTS = 5
CHUNK_BYTES = 64 * 1024
# What urllib3 raises while a streamed body is read, in words a summary can show (by class name).
_TRANSFER_ERRORS = {
    "ReadTimeoutError": "read timed out",
    "ProtocolError": "connection broken while reading the body",
    "DecodeError": "body could not be decoded (Content-Encoding)",
}


class BodyError(Exception):
    """A response body refused: larger than its cap, slower than its budget, or broken in transit."""


def build_session(component: str, pool_size: int = 10) -> requests.Session:
    """A keep-alive session whose User-Agent names the producer, with few redirects allowed. It keeps
    up to ``pool_size`` connections to each of the ``pool_size`` hosts used last."""
    import requests
    from requests.adapters import HTTPAdapter

    session = requests.Session()
    # A CA bundle named in the environment, read once here (as requests would on every request)
    session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    session.trust_env = environment_configures_http(os.environ)
    adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT.format(component=component)
    session.max_redirects = MAX_REDIRECTS
    return session


def environment_configures_http(environ: Mapping[str, str], home: Path | None = None) -> bool:
    """Whether the environment names a proxy or a netrc file, which requests reads from it on every
    request (``Session.trust_env``: every variable scanned, the netrc paths tried). Without either,
    those look-ups find nothing at a fifth of a feed fetch's CPU; Lambda fixes the environment at
    start, so asking once is enough (``build_session`` takes a CA bundle from it once, too)."""
    if environ.get("NETRC") or any(name.lower().endswith("_proxy") and value for name, value in environ.items()):
        return True
    try:
        home = home or Path.home()
    except RuntimeError:  # no home directory: no netrc either
        return False
    return any((home / name).exists() for name in (".netrc", "_netrc"))


@dataclass(frozen=True)
class RetryPolicy:
    """Retries on 429, 5xx and refused connections, waiting what Retry-After asks, within limits."""

    attempts: int = 3
    base_delay_s: float = 0.5
    max_delay_s: float = 10.0

    def wait_after_status(self, attempt: int, retry_after: str | None, jitter: Callable[[], float]) -> float:
        """Before the next try after a retryable status: what Retry-After asks, else a jittered back-off."""
        asked = retry_after_s(retry_after)
        return asked if asked is not None else self.base_delay_s * 2**attempt * (0.5 + jitter() / 2)

    def wait_after_failure(self, attempt: int) -> float:
        """Before the next try after a connection that failed."""
        return self.base_delay_s * 2**attempt


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
    """Call ``send`` until it answers without a retryable status, attempts run out, or the wait would
    pass the deadline; the last response (or connection error) is what the caller gets."""
    import requests

    policy = policy or RetryPolicy()
    for attempt in range(policy.attempts):
        last = attempt == policy.attempts - 1
        try:
            response = send()
        except requests.ConnectionError:
            if last:
                raise
            wait = policy.wait_after_failure(attempt)
        else:
            if response.status_code not in RETRY_STATUSES or last:
                return response
            wait = policy.wait_after_status(attempt, response.headers.get("Retry-After"), jitter)
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


def describe_request_error(error: requests.RequestException | urllib3.exceptions.HTTPError, url: str) -> str:
    """What went wrong, in words a reader of the summary can act on: the host, and the kind of failure
    (DNS, refused, timeout, TLS, a broken answer) rather than only the exception's class. A urllib3
    error (unwrapped: ``retries=False``) is read as requests reads it when it wraps one."""
    request_url = getattr(getattr(error, "request", None), "url", None) or url  # after a redirect: the host that failed
    host = urlsplit(request_url).hostname or request_url
    causes = _causes(error)
    kinds = {kind.__name__ for kind in type(error).__mro__}  # requests' class or urllib3's, by name
    if kinds & {"ConnectTimeout", "ConnectTimeoutError"} and "NewConnectionError" not in kinds:
        return f"connection to {host} timed out"
    if kinds & {"ReadTimeout", "ReadTimeoutError"}:
        return f"{host} did not answer in time"
    if "SSLError" in kinds or any(isinstance(c, ssl.SSLError) for c in causes):
        reason = next((c for c in causes if isinstance(c, ssl.SSLError)), error)
        return f"TLS with {host} failed: {getattr(reason, 'reason', None) or type(reason).__name__}"
    if any(isinstance(c, socket.gaierror) for c in causes) or "NameResolutionError" in _names(causes):
        return f"DNS look-up of {host} failed"
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return f"connection refused by {host}"
    if any(isinstance(c, ConnectionResetError) for c in causes):
        return f"connection reset by {host}"
    if kinds & {"ContentDecodingError", "DecodeError"}:
        return f"the body from {host} could not be decoded"
    if "ChunkedEncodingError" in kinds or "ProtocolError" in _names(causes):
        return f"{host} broke off or garbled its answer"
    return f"{type(error).__name__} from {host}"


def _causes(error: BaseException) -> list[BaseException]:
    """The exception, what it wraps (args, __cause__, __context__, urllib3's .reason), to a few levels."""
    seen: list[BaseException] = []
    todo: list[BaseException] = [error]
    while todo and len(seen) < 12:
        current = todo.pop()
        if any(current is known for known in seen):
            continue
        seen.append(current)
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None), *current.args]
        todo.extend(item for item in linked if isinstance(item, BaseException))
    return seen


def _names(causes: list[BaseException]) -> set[str]:
    return {type(cause).__name__ for cause in causes}


def read_capped(
    response: requests.Response | urllib3.BaseHTTPResponse,
    max_bytes: int,
    started: float | None = None,
    budget_s: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> bytes:
    """The body of a streamed response (requests' ``stream=True``, urllib3's ``preload_content=False``):
    at most ``max_bytes`` decoded bytes, all received within ``budget_s`` of ``started`` (a ``clock``
    time); BodyError with a plain reason otherwise."""
    import urllib3  # loaded already by whoever made the response

    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise BodyError(f"body larger than {max_bytes} bytes")
    body = io.BytesIO()  # getvalue() hands over its buffer: no second copy of the body
    stream = response if isinstance(response, urllib3.BaseHTTPResponse) else response.raw
    try:
        # read1 returns what one socket read brings, so a server trickling a byte a second (which
        # never trips the per-read timeout) still meets the whole-body budget.
        while chunk := stream.read1(CHUNK_BYTES, decode_content=True):
            if body.write(chunk) and body.tell() > max_bytes:
                raise BodyError(f"body larger than {max_bytes} bytes")
            if started is not None and budget_s is not None and clock() - started > budget_s:
                raise BodyError(f"body not received within {budget_s:g} s")
    except urllib3.exceptions.HTTPError as error:
        raise BodyError(transfer_reason(error)) from None
    return body.getvalue()


def transfer_reason(error: urllib3.exceptions.HTTPError) -> str:
    """A plain reason for what urllib3 raised underneath requests (not wrapped when a body is read raw)."""
    kinds = [kind.__name__ for kind in type(error).__mro__ if kind.__module__.startswith("urllib3")]
    reason = next((_TRANSFER_ERRORS[kind] for kind in kinds if kind in _TRANSFER_ERRORS), None)
    return reason or f"transfer failed ({type(error).__name__})"
