"""HTTP for every producer: one pooled session per container, bounded polite retries."""

from __future__ import annotations

import heapq
import io
import itertools
import os
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import urlsplit
from urllib.request import proxy_bypass_environment  # type: ignore[attr-defined]

import certifi
import urllib3.exceptions
from urllib3 import BaseHTTPResponse, PoolManager, ProxyManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util import make_headers

from .deadline import Deadline

if TYPE_CHECKING:  # imported where used: the RSS producer (urllib3 only) is spared its ~18 ms import
    import requests

USER_AGENT = "kafka-data-producers/{component} (AWS Lambda; +https://github.com/kafka-data-producers)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_REDIRECTS = 5
CHUNK_BYTES = 64 * 1024
# What urllib3 raises while a streamed body is read, in words a summary can show.
_TRANSFER_ERRORS = {
    urllib3.exceptions.ReadTimeoutError: "read timed out",
    urllib3.exceptions.ProtocolError: "connection broken while reading the body",
    urllib3.exceptions.DecodeError: "body could not be decoded (Content-Encoding)",
}


class BodyError(Exception):
    """A response body refused: larger than its cap, slower than its budget, or broken in transit."""


def build_session(component: str, pool_size: int = 10) -> requests.Session:
    """A keep-alive session whose User-Agent names the producer, with few redirects allowed; its
    requests honour a ``time_limit`` around them. It keeps up to ``pool_size`` connections to each of
    the ``pool_size`` hosts used last."""
    import requests
    from requests.adapters import HTTPAdapter

    class LimitedAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            _limited(self.poolmanager)

    session = requests.Session()
    # A CA bundle named in the environment, read once here (as requests would on every request)
    session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    session.trust_env = environment_configures_http(os.environ)
    adapter = LimitedAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
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


class Opener(Protocol):
    """What a fetch needs of its pools: urllib3's ``urlopen``."""

    def urlopen(self, method: str, url: str, headers: Mapping[str, str], **kw: Any) -> BaseHTTPResponse: ...


class Pools:
    """urllib3 connection pools that send what ``build_session``'s sessions send (User-Agent, Accept,
    Accept-Encoding, the CA bundle, a proxy the environment names) without requests' per-request layer
    (settings merged, request prepared, cookies, hooks): half the CPU of a feed fetch. Nothing follows
    redirects or retries here: the caller does, so it can check every hop (``rss_redirects``)."""

    def __init__(
        self, component: str, pool_size: int = 10, hosts: int | None = None, environ: Mapping[str, str] = os.environ
    ) -> None:
        self.headers = {
            "User-Agent": USER_AGENT.format(component=component),
            **make_headers(accept_encoding=True),
            "Accept": "*/*",
            "Connection": "keep-alive",
        }
        ca_certs = environ.get("REQUESTS_CA_BUNDLE") or environ.get("CURL_CA_BUNDLE") or certifi.where()
        options: dict[str, Any] = {"num_pools": hosts or pool_size, "maxsize": pool_size, "ca_certs": ca_certs}
        self._proxies = _proxies(environ)
        self._direct = _limited(PoolManager(**options))
        self._proxied = {
            scheme: _limited(ProxyManager(url, **options))
            for scheme, url in self._proxies.items()
            if scheme in ("http", "https", "all")
        }

    def urlopen(self, method: str, url: str, headers: Mapping[str, str], **kw: Any) -> BaseHTTPResponse:
        manager = self.manager_for(url)
        return manager.urlopen(method, url, headers={**self.headers, **headers}, redirect=False, retries=False, **kw)

    def manager_for(self, url: str) -> PoolManager:
        """The proxy's pools when the environment names one for this URL (and NO_PROXY spares it not)."""
        if not self._proxied:
            return self._direct
        parts = urlsplit(url)
        proxied = self._proxied.get(parts.scheme) or self._proxied.get("all")
        if proxied is None or proxy_bypass_environment(parts.hostname or "", self._proxies):
            return self._direct
        return proxied


def _proxies(environ: Mapping[str, str]) -> dict[str, str]:
    """What ``urllib.request.getproxies_environment`` reads, from this mapping (lower case wins)."""
    found = {name[:-6].lower(): value for name, value in environ.items() if name.lower().endswith("_proxy") and value}
    found.update({name[:-6]: value for name, value in environ.items() if name.endswith("_proxy") and value})
    return found


def _limited(manager: PoolManager) -> PoolManager:
    manager.pool_classes_by_scheme = {"http": _LimitedHTTPPool, "https": _LimitedHTTPSPool}
    return manager


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


Response = TypeVar("Response", "requests.Response", BaseHTTPResponse)
# What urllib3 raises (``retries=False``) where requests raises a ConnectionError: worth another try.
URLLIB3_CONNECTION_ERRORS = (
    urllib3.exceptions.ConnectTimeoutError,  # NewConnectionError (refused, DNS) is one
    urllib3.exceptions.ProtocolError,
    urllib3.exceptions.SSLError,
    urllib3.exceptions.ProxyError,
)


def send_with_retries(
    send: Callable[[], Response],
    policy: RetryPolicy | None = None,
    deadline: Deadline | None = None,
    sleep: Callable[[float], None] = time.sleep,
    jitter: Callable[[], float] = random.random,
    retry_on: tuple[type[Exception], ...] | None = None,
) -> Response:
    """Call ``send`` (requests or urllib3: ``retry_on`` names its connection errors) until it answers
    without a retryable status, attempts run out, or the wait would pass the deadline; the last
    response (or connection error) is what the caller gets."""
    policy = policy or RetryPolicy()
    if retry_on is None:
        import requests

        retry_on = (requests.ConnectionError,)
    for attempt in range(policy.attempts):
        last = attempt == policy.attempts - 1
        try:
            response = send()
        except retry_on as error:
            wait = policy.base_delay_s * 2**attempt
            out_of_time = deadline is not None and wait >= deadline.remaining_s()
            if last or (out_of_time and isinstance(error, urllib3.exceptions.HTTPError)):
                raise  # urllib3's own error says more than requests' "no time left" below
        else:
            status = response.status if isinstance(response, BaseHTTPResponse) else response.status_code
            if status not in RETRY_STATUSES or last:
                return response
            asked = retry_after_s(response.headers.get("Retry-After"))
            wait = asked if asked is not None else policy.base_delay_s * 2**attempt * (0.5 + jitter() / 2)
            if wait > policy.max_delay_s or (deadline is not None and wait >= deadline.remaining_s()):
                return response  # waiting that long would cost more than the answer is worth
            response.close()
        if deadline is not None and wait >= deadline.remaining_s():
            import requests  # only requests' errors come here: urllib3's are raised as they are, above

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
    response: requests.Response | BaseHTTPResponse,
    max_bytes: int,
    started: float | None = None,
    budget_s: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> bytes:
    """The body of a streamed response (requests' ``stream=True``, urllib3's ``preload_content=False``):
    at most ``max_bytes`` decoded bytes, all received within ``budget_s`` of ``started`` (a ``clock``
    time); BodyError with a plain reason otherwise."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise BodyError(f"body larger than {max_bytes} bytes")
    body = io.BytesIO()  # getvalue() hands over its buffer: no second copy of the body
    stream = response if isinstance(response, BaseHTTPResponse) else response.raw
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
    reason = next((text for kind, text in _TRANSFER_ERRORS.items() if isinstance(error, kind)), None)
    return reason or f"transfer failed ({type(error).__name__})"


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


class _Watchdog:
    """One daemon thread that expires every ``TimeLimit`` when its time comes.

    A ``threading.Timer`` a fetch started a thread a fetch, about 110 µs of CPU each (3.7 µs an item
    of a 30-item feed), and one more thread contending for the GIL. Limits that end early stay
    queued until their time, then expire as no-ops (``TimeLimit.end``)."""

    def __init__(self) -> None:
        self._due: list[tuple[float, int, TimeLimit]] = []  # a heap: (monotonic time, order, limit)
        self._order = itertools.count()
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, limit: TimeLimit, at: float) -> None:
        with self._changed:
            heapq.heappush(self._due, (at, next(self._order), limit))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="http-time-limits", daemon=True)
                self._thread.start()
            elif self._due[0][2] is limit:  # sooner than what the thread waits for
                self._changed.notify()

    def _run(self) -> None:
        with self._changed:
            while True:
                if not self._due:
                    self._changed.wait()
                    continue
                wait = self._due[0][0] - time.monotonic()
                if wait > 0:
                    self._changed.wait(wait)
                    continue
                heapq.heappop(self._due)[2].expire()


_watchdog = _Watchdog()
_active = threading.local()


@contextmanager
def time_limit(seconds: float) -> Iterator[TimeLimit]:
    """Requests made by this thread inside the block (sessions from ``build_session``) end by
    ``seconds`` from now: reading then fails, and ``TimeLimit.expired`` says why."""
    limit = TimeLimit(seconds)
    outer, _active.limit = getattr(_active, "limit", None), limit
    _watchdog.add(limit, time.monotonic() + seconds)
    try:
        yield limit
    finally:
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
