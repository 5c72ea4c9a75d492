"""A fetch hands its connection back to the pool when the answer has no body worth reading (a 304, a
redirect, a small error page), so the next fetch from that host does not connect afresh (on the
internet: a TCP and TLS handshake); an error page with an endless body is closed, never read.

A real server on loopback: the client's source port tells one connection from another."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import rss_fetch
from producer_common.state import FeedValidators
from rss_redirects import RedirectGuard
from rss_transfers import Transfers

from tests.support.http import QuietHandler
from tools.services.http_serving import answer, serving

FEED = b"<rss version='2.0'><channel><title>t</title><item><guid>1</guid></item></channel></rss>"
ANSWERS = {  # path: status, body, headers
    "/feed": (200, FEED, {"ETag": '"1"'}),
    "/unchanged": (304, b"", {"ETag": '"1"'}),
    "/moved": (302, b"moved", {"Location": "/feed"}),
    "/missing": (404, b"not here", {}),
}


class Handler(QuietHandler):
    ports: list[int]

    def do_GET(self) -> None:
        self.ports.append(self.client_address[1])
        if self.path != "/endless-404":
            status, body, headers = ANSWERS[self.path]
            answer(self, status, body, "text/plain", headers)
            return
        self.send_response(404)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.write(b"10000\r\n" + b"x" * 0x10000 + b"\r\n")  # and never the last chunk


@pytest.fixture
def served() -> Iterator[tuple[str, list[int], Any]]:
    """The server's address, the client port of each request it answered, and a fetch with one pooled connection."""
    ports: list[int] = []
    with serving(type("Counted", (Handler,), {"ports": ports})) as base:
        fetcher = rss_fetch.Fetcher(
            Transfers("test", per_host=1), timeout_s=5, redirects=RedirectGuard(allow_private=True)
        )
        yield base, ports, fetcher.fetch


def test_answers_without_a_wanted_body_keep_the_connection(served: Any) -> None:
    # Given one pooled connection to a host
    base, ports, fetch = served

    # When it answers a 304, a redirect (then the feed), an error page and the feed
    assert fetch(f"{base}/unchanged", FeedValidators('"1"', None)).body is None
    assert fetch(f"{base}/moved").body == FEED
    with pytest.raises(rss_fetch.FeedError, match="HTTP 404"):
        fetch(f"{base}/missing")
    assert fetch(f"{base}/feed").body == FEED

    # Then all five requests came over one connection
    assert len(ports) == 5 and len(set(ports)) == 1


def test_an_error_page_with_an_endless_body_is_closed_not_read(served: Any) -> None:
    # Given a host whose error page never ends
    base, ports, fetch = served

    # When it is fetched, then the feed
    with pytest.raises(rss_fetch.FeedError, match="HTTP 404"):
        fetch(f"{base}/endless-404")
    assert fetch(f"{base}/feed").body == FEED

    # Then the error page's connection was dropped, not drained: the feed came over a new one
    assert len(set(ports)) == 2
