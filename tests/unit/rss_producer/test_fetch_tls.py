"""A feed over HTTPS: its certificate checked against the CA bundle the environment names
(REQUESTS_CA_BUNDLE, as for requests), else certifi's; a certificate nothing vouches for is a plain
source error naming TLS. A real TLS server on loopback, with a throwaway CA (trustme); and a port
nothing listens on, whose refusal is named as requests' would be."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import rss_fetch
import trustme
from rss_redirects import RedirectGuard
from rss_transfers import Transfers

from tests.support.http import QuietHandler
from tools.services.http_serving import answer, serving
from tools.services.supervisor import free_port

FEED = b"<rss version='2.0'><channel><title>t</title></channel></rss>"


class Feed(QuietHandler):
    def do_GET(self) -> None:
        answer(self, 200, FEED, "application/rss+xml")


@pytest.fixture
def https(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A feed's URL over TLS, and the CA file that vouches for its certificate."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    with serving(Feed, tls=context) as base:
        yield f"{base}/feed.xml", str(tmp_path / "ca.pem")


def fetcher(environ: dict[str, str]) -> rss_fetch.Fetcher:
    transfers = Transfers("test", environ=environ)
    return rss_fetch.Fetcher(transfers, timeout_s=5, redirects=RedirectGuard(allow_private=True))


def test_a_certificate_the_named_bundle_vouches_for_is_trusted(https: tuple[str, str]) -> None:
    url, ca_file = https
    assert fetcher({"REQUESTS_CA_BUNDLE": ca_file}).fetch(url).body == FEED


def test_a_certificate_nothing_vouches_for_is_a_tls_error(https: tuple[str, str]) -> None:
    url, _ = https
    with pytest.raises(rss_fetch.FeedError, match=r"^TLS with 127\.0\.0\.1 failed: .*certificate"):
        fetcher({}).fetch(url)


def test_a_port_nothing_listens_on_is_a_refused_connection_naming_the_host() -> None:
    # libcurl says only "Could not connect to server"; the socket's errno says it was refused
    url = f"http://127.0.0.2:{free_port()}/feed.xml"
    with pytest.raises(rss_fetch.FeedError, match=r"^connection refused by 127\.0\.0\.2$"):
        fetcher({}).fetch(url)
