"""Many feed hosts on loopback: one small HTTP server per address (127.0.0.2, 127.0.0.3, ...; all of
127.0.0.0/8 is loopback on Linux), each counting the requests it has in flight.

    with FeedHosts(hosts=40, feeds=10_000, items=2, latency_ms=20) as hosts:
        hosts.urls, hosts.write_opml(path), hosts.peak_in_flight, hosts.requests, hosts.spans

Feed ``i`` lives on host ``i % hosts`` at ``/feeds/<i>.xml``: ``tools.services.fixture_data.synthetic_feed``,
the same bytes every time, with an ETag. ``throttled`` hosts answer 429 (``Retry-After: 1``) to their
first request, as a rate-limited host does.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from tools.services.fixture_data import synthetic_feed
from tools.services.fixture_server import _etag
from tools.services.http_serving import LoopbackServer

FIRST_ADDRESS = 2  # 127.0.0.1 is left to the broker and the other tools


class FeedHosts:
    def __init__(
        self, hosts: int, feeds: int, items: int = 2, latency_ms: float = 0.0, throttled: frozenset[int] = frozenset()
    ) -> None:
        if not 1 <= hosts <= 250:
            raise ValueError("hosts must be between 1 and 250 (127.0.0.2 to 127.0.0.251)")
        self.items, self.latency_s, self.throttled = items, latency_ms / 1000, throttled
        self.requests: Counter[str] = Counter()  # URL -> GETs answered
        self.peak_in_flight: Counter[str] = Counter()  # host address -> most requests in flight at once
        self.spans: dict[str, list[tuple[float, float, int]]] = defaultdict(list)  # host -> (start, end, status)
        self._in_flight: Counter[str] = Counter()
        self._answered: set[str] = set()
        self._lock = threading.Lock()
        self._servers = [LoopbackServer((f"127.0.0.{FIRST_ADDRESS + n}", 0), self._handler()) for n in range(hosts)]
        self.addresses: list[tuple[str, int]] = [s.socket.getsockname()[:2] for s in self._servers]
        self.bases = [f"http://{host}:{port}" for host, port in self.addresses]
        self.urls = [f"{self.bases[i % hosts]}/feeds/{i}.xml" for i in range(feeds)]
        self._threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in self._servers]

    def __enter__(self) -> FeedHosts:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()

    def write_opml(self, path: Path, folders: int = 10) -> Path:
        return write_opml(self.urls, path, folders)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hosts = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host = self.connection.getsockname()[0]
                with hosts._lock:
                    hosts._in_flight[host] += 1
                    hosts.peak_in_flight[host] = max(hosts.peak_in_flight[host], hosts._in_flight[host])
                    first = host not in hosts._answered
                    hosts._answered.add(host)
                started = time.monotonic()
                time.sleep(hosts.latency_s)
                status, headers, body = self._answer(host, first)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                # Out of flight before the first byte leaves: the client cannot have its answer (and
                # start another request) while this one is still counted.
                with hosts._lock:
                    hosts._in_flight[host] -= 1
                    hosts.spans[host].append((started, time.monotonic(), status))
                self.end_headers()
                self.wfile.write(body)

            def _answer(self, host: str, first: bool) -> tuple[int, dict[str, str], bytes]:
                index = self.path.removeprefix("/feeds/").removesuffix(".xml")
                if not index.isdigit() or int(index) >= len(hosts.urls):
                    return 404, {"Content-Length": "0"}, b""
                if first and hosts._servers.index(self.server) in hosts.throttled:  # type: ignore[arg-type]
                    return 429, {"Retry-After": "1", "Content-Length": "0"}, b""
                body = synthetic_feed(int(index), hosts.items)
                etag = _etag(body)
                with hosts._lock:
                    hosts.requests[f"http://{host}:{self.connection.getsockname()[1]}{self.path}"] += 1
                if self.headers.get("If-None-Match") == etag:
                    return 304, {"ETag": etag}, b""
                headers = {"Content-Type": "application/rss+xml", "Content-Length": str(len(body)), "ETag": etag}
                return 200, headers, body

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def write_opml(urls: list[str], path: Path, folders: int = 10) -> Path:
    """``urls`` as a feed reader exports them (OPML 2.0), spread over ``folders`` folders."""
    outlines: dict[int, list[str]] = defaultdict(list)
    for index, url in enumerate(urls):
        outlines[index % folders].append(f'      <outline type="rss" text="Feed {index}" xmlUrl={quoteattr(url)}/>')
    body = "\n".join(
        f'    <outline text="Folder {folder}">\n' + "\n".join(lines) + "\n    </outline>"
        for folder, lines in outlines.items()
    )
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">\n  <head><title>Feeds</title></head>\n'
        f"  <body>\n{body}\n  </body>\n</opml>\n"
    )
    return path
