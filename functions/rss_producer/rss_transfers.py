"""Every fetch of a run on one thread: libcurl's multi interface (pycurl) drives all the connections.

With a thread a fetch, each answer was handed from a fetch thread to the main thread under the GIL,
and the 16 threads' wake-ups cost more CPU than the fetching itself (``python -m tools.bench.profiling``:
the fetch pool's threads 21.6 µs an item, bare urllib3 alone 7.4). Here a ``Request`` goes in, an
``Answer`` comes out, and what to do with it (retries, redirects, politeness) stays with the caller
(``rss_fetch``), which never touches a socket.

Connections are kept per host across fetches and runs (a warm container reuses them); a body that
is not wanted (a redirect's, an error page's) is read to ``REUSE_AFTER_BYTES`` at most, so its
connection can serve the next request, and cut beyond that, never read to the end.
"""

from __future__ import annotations

import errno
import io
import os
import time
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

import certifi
import pycurl
from producer_common.http import USER_AGENT

CONNECT_TIMEOUT_S = 5.0
REUSE_AFTER_BYTES = 64 * 1024  # of an unwanted body, read to keep its connection
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
IDLE_POLL_S = 0.05  # the longest wait on libcurl's sockets (it may also need a call for a timer of its own)
# libcurl's errors a retry may mend: the connection failed before any answer came
_RETRYABLE = {
    pycurl.E_COULDNT_RESOLVE_HOST,
    pycurl.E_COULDNT_CONNECT,
    pycurl.E_OPERATION_TIMEDOUT,
    pycurl.E_SSL_CONNECT_ERROR,
    pycurl.E_GOT_NOTHING,
    pycurl.E_RECV_ERROR,
    pycurl.E_SEND_ERROR,
}


@dataclass(frozen=True)
class Request:
    """One GET: ``timeout_s`` for all of it (connect, headers, body); a wanted body over ``max_bytes`` is refused."""

    url: str
    headers: Mapping[str, str]
    timeout_s: float
    max_bytes: int


@dataclass
class Answer:
    """A status and its headers (names in lower case), and the body when it was wanted; or ``error``,
    a reason a summary can show, with ``retry`` when no answer came at all and ``timed_out`` when
    the time ran out."""

    url: str
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str | None = None
    retry: bool = False
    timed_out: bool = False


class Transport(Protocol):
    """What a fetch needs of the network: start requests, and wait for what has been answered."""

    def start(self, key: Hashable, request: Request) -> None: ...

    def wait(self, timeout_s: float) -> list[tuple[Hashable, Answer]]: ...


def wanted(status: int, headers: Mapping[str, str]) -> bool:
    """Whether a response's body is the feed: not an error page, a 304 or a redirect's."""
    return status < 400 and status != 304 and not (status in REDIRECT_STATUSES and "location" in headers)


class _Transfer:
    """One request's headers and body as libcurl hands them over."""

    __slots__ = ("body", "cut", "discarded", "headers", "key", "refused", "request", "status")

    def __init__(self, key: Hashable, request: Request) -> None:
        self.key, self.request = key, request
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body = io.BytesIO()  # getvalue() hands over its buffer: no second copy of the body
        self.discarded = 0
        self.refused: str | None = None  # why the body was refused (too large)
        self.cut = False  # an unwanted body, cut short: the answer is whole without it

    def header(self, line: bytes) -> int | None:
        text = line.decode("latin-1")  # as http.client reads header bytes
        if text.startswith("HTTP/"):  # a new response (after a 100 Continue, say): its headers alone
            parts = text.split(None, 2)
            self.status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
            self.headers = {}
            return None
        name, colon, value = text.partition(":")
        if not colon:
            if text.strip() or self.status in (204, 304) or wanted(self.status, self.headers):
                return None
            # the end of an unwanted answer's headers: its body is read only when it is known to be small
            length = self.headers.get("content-length", "")
            if length.isdigit() and int(length) <= REUSE_AFTER_BYTES:
                return None
            self.cut = True
            return 0
        name, value = name.strip().lower(), value.strip()
        self.headers[name] = f"{self.headers[name]}, {value}" if name in self.headers else value
        too_large = name == "content-length" and value.isdigit() and int(value) > self.request.max_bytes
        if too_large and wanted(self.status, self.headers):
            self.refused = f"body larger than {self.request.max_bytes} bytes"
            return 0  # not the line's length: libcurl aborts the transfer
        return None

    def write(self, data: bytes) -> int | None:
        if wanted(self.status, self.headers):
            self.body.write(data)
            if self.body.tell() > self.request.max_bytes:
                self.refused = f"body larger than {self.request.max_bytes} bytes"
                return 0
            return None
        self.discarded += len(data)
        if self.discarded > REUSE_AFTER_BYTES:
            self.cut = True
            return 0
        return None

    def answer(self, code: int, message: str, connected: bool, os_errno: int = 0) -> Answer:
        url = self.request.url
        if code == pycurl.E_OK or (self.cut and code == pycurl.E_WRITE_ERROR):
            body = self.body.getvalue() if wanted(self.status, self.headers) else b""
            return Answer(url, self.status, self.headers, body)
        if self.refused is not None:
            return Answer(url, self.status, self.headers, error=self.refused)
        reason = describe(code, message, url, connected, answered=self.status > 0, os_errno=os_errno)
        retry = code in _RETRYABLE and self.status == 0
        return Answer(url, error=reason, retry=retry, timed_out=code == pycurl.E_OPERATION_TIMEDOUT)


def describe(code: int, message: str, url: str, connected: bool, answered: bool, os_errno: int = 0) -> str:
    """What went wrong, in the words ``producer_common.http.describe_request_error`` uses for requests."""
    host, lowered = urlsplit(url).hostname or url, message.lower()
    if code == pycurl.E_OPERATION_TIMEDOUT:
        return f"{host} did not answer in time" if connected else f"connection to {host} timed out"
    if code == pycurl.E_COULDNT_RESOLVE_HOST:
        return f"DNS look-up of {host} failed"
    if code == pycurl.E_COULDNT_CONNECT:
        refused = os_errno == errno.ECONNREFUSED or "refused" in lowered
        return f"connection refused by {host}" if refused else f"could not connect to {host}"
    if code in (pycurl.E_SSL_CONNECT_ERROR, pycurl.E_PEER_FAILED_VERIFICATION, pycurl.E_SSL_CACERT_BADFILE):
        return f"TLS with {host} failed: {message}"
    if code == pycurl.E_BAD_CONTENT_ENCODING:
        return "body could not be decoded (Content-Encoding)"
    if answered and code in (pycurl.E_PARTIAL_FILE, pycurl.E_RECV_ERROR):
        return "connection broken while reading the body"
    if "reset" in lowered:
        return f"connection reset by {host}"
    if code in (pycurl.E_GOT_NOTHING, pycurl.E_RECV_ERROR, pycurl.E_WEIRD_SERVER_REPLY, pycurl.E_PARTIAL_FILE):
        return f"{host} broke off or garbled its answer"
    if code == pycurl.E_UNSUPPORTED_PROTOCOL:
        return f"{urlsplit(url).scheme or 'that'} URL scheme is not fetched (http and https only)"
    return f"{message or f'libcurl error {code}'} ({host})"


class Transfers:
    """libcurl's multi handle, used from one thread at a time: GETs with the User-Agent, Accept and
    Accept-Encoding (every encoding libcurl decodes; ``max_bytes`` counts decoded bytes) that
    ``producer_common.http``'s sessions send, the CA bundle they trust (REQUESTS_CA_BUNDLE or
    CURL_CA_BUNDLE, else certifi's), and the proxy the environment names (libcurl reads http_proxy,
    HTTPS_PROXY, NO_PROXY itself; never an upper-case HTTP_PROXY). Nothing follows redirects or
    retries here: the caller does, so it can check every hop (``rss_redirects``)."""

    def __init__(
        self, component: str, per_host: int = 2, hosts: int = 64, environ: Mapping[str, str] = os.environ
    ) -> None:
        self._multi = pycurl.CurlMulti()
        self._multi.setopt(pycurl.M_MAXCONNECTS, max(1, hosts * per_host))  # idle connections kept
        ca = environ.get("REQUESTS_CA_BUNDLE") or environ.get("CURL_CA_BUNDLE") or certifi.where()
        self._options = (
            (pycurl.USERAGENT, USER_AGENT.format(component=component)),
            (pycurl.ACCEPT_ENCODING, ""),
            (pycurl.CAINFO, ca),
            (pycurl.NOSIGNAL, 1),
            (pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS),
            (pycurl.FOLLOWLOCATION, 0),
        )
        self._idle: list[pycurl.Curl] = []
        self._running: dict[pycurl.Curl, _Transfer] = {}

    def start(self, key: Hashable, request: Request) -> None:
        curl = self._idle.pop() if self._idle else pycurl.Curl()
        transfer = _Transfer(key, request)
        timeout_ms = max(1, int(request.timeout_s * 1000))
        for option, value in self._options:
            curl.setopt(option, value)
        curl.setopt(pycurl.URL, request.url)
        curl.setopt(pycurl.HTTPHEADER, ["Accept: */*", *(f"{k}: {v}" for k, v in request.headers.items())])
        curl.setopt(pycurl.TIMEOUT_MS, timeout_ms)
        curl.setopt(pycurl.CONNECTTIMEOUT_MS, min(timeout_ms, int(CONNECT_TIMEOUT_S * 1000)))
        curl.setopt(pycurl.HEADERFUNCTION, transfer.header)
        curl.setopt(pycurl.WRITEFUNCTION, transfer.write)
        self._running[curl] = transfer
        self._multi.add_handle(curl)

    def wait(self, timeout_s: float) -> list[tuple[Hashable, Answer]]:
        """The answers complete by now, waiting up to ``timeout_s`` for the first (none: an empty list)."""
        if not self._running:
            time.sleep(max(0.0, timeout_s))
            return []
        done = self._perform()
        if not done and timeout_s > 0:
            asked_ms = self._multi.timeout()
            limit = min(timeout_s, IDLE_POLL_S, asked_ms / 1000 if asked_ms >= 0 else IDLE_POLL_S)
            if limit > 0:
                self._multi.select(limit)
            done = self._perform()
        return done

    def _perform(self) -> list[tuple[Hashable, Answer]]:
        while self._multi.perform()[0] == pycurl.E_CALL_MULTI_PERFORM:
            pass
        done: list[tuple[Hashable, Answer]] = []
        while True:
            queued, succeeded, failed = self._multi.info_read()
            for curl in succeeded:
                done.append(self._end(curl, pycurl.E_OK, ""))
            for curl, code, message in failed:
                done.append(self._end(curl, code, message))
            if not queued:
                return done

    def _end(self, curl: pycurl.Curl, code: int, message: str) -> tuple[Hashable, Answer]:
        transfer = self._running.pop(curl)
        connected, os_errno = curl.getinfo(pycurl.CONNECT_TIME) > 0, curl.getinfo(pycurl.OS_ERRNO)
        self._multi.remove_handle(curl)
        curl.setopt(pycurl.HEADERFUNCTION, _ignore)  # the transfer's buffers go with it
        curl.setopt(pycurl.WRITEFUNCTION, _ignore)
        self._idle.append(curl)
        return transfer.key, transfer.answer(code, message, connected, os_errno)


def _ignore(data: bytes) -> None:
    return None
