"""Redirect safety: no feed fetch follows a redirect from a public address to a non-public one."""

from __future__ import annotations

import ipaddress
from urllib.parse import urljoin

import pytest
import rss_fetch
from rss_redirects import RedirectGuard, not_public, resolve

from tests.unit.rss_producer.served import Served

NOT_PUBLIC = {
    "127.0.0.1": "loopback",
    "127.8.9.10": "loopback",
    "10.1.2.3": "private",
    "172.16.0.1": "private",
    "172.31.255.255": "private",
    "192.168.1.1": "private",
    "169.254.169.254": "link-local",  # instance metadata
    "169.254.170.2": "link-local",  # ECS task metadata
    "100.64.0.1": "not globally reachable",  # shared address space (carrier-grade NAT)
    "0.0.0.0": "unspecified",
    "224.0.0.1": "multicast",
    "198.18.0.1": "private",
    "192.0.2.1": "private",
    "240.0.0.1": "private",
    "::1": "loopback",
    "::": "unspecified",
    "fe80::1": "link-local",
    "fec0::1": "site-local",
    "fc00::1": "private",
    "fd00::1": "private",
    "fd00:ec2::254": "private",  # instance metadata over IPv6
    "::ffff:127.0.0.1": "loopback",  # IPv4-mapped
    "::ffff:169.254.169.254": "link-local",
    "::ffff:10.0.0.1": "private",
    "64:ff9b::7f00:1": "loopback",  # NAT64 of 127.0.0.1
    "2002:7f00:1::": "loopback",  # 6to4 of 127.0.0.1
    "::127.0.0.1": "reserved",  # IPv4-compatible, deprecated
    "ff02::1": "multicast",
    "2001:db8::1": "private",  # documentation
}
PUBLIC = ["8.8.8.8", "93.184.216.34", "172.32.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]

DNS = {
    "feeds.example": ["93.184.216.34"],
    "cdn.example": ["2606:4700:4700::1111"],
    "rebound.example": ["::ffff:127.0.0.1"],
    "mixed.example": ["93.184.216.35", "10.0.0.9"],
    "intranet.example": ["10.0.0.5"],
    "xn--bcher-kva.example": ["127.0.0.1"],  # bücher.example as urllib3 encodes it: the name it looks up
    "nowhere.example": [],  # no answer
}


def lookup(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    if host in DNS:
        return [ipaddress.ip_address(a) for a in DNS[host]]
    return resolve(host)


def fetcher(served: Served, allow_private: bool = False) -> rss_fetch.Fetcher:
    return rss_fetch.Fetcher(served, timeout_s=2, redirects=RedirectGuard(allow_private, lookup))


def redirect(served: Served, source: str, target: str) -> None:
    served.get(source, status=302, headers={"Location": target})


@pytest.mark.parametrize("address", [*NOT_PUBLIC, *PUBLIC])
def test_non_public_addresses_are_named_and_public_ones_pass(address: str) -> None:
    assert not_public(ipaddress.ip_address(address)) == NOT_PUBLIC.get(address)


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", r"169\.254\.169\.254, link-local"),  # instance metadata
        ("http://127.0.0.1:9001/2018-06-01/runtime/invocation/next", "loopback"),  # the Lambda Runtime API
        ("http://[::ffff:7f00:1]/", "loopback"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "private"),
        ("http://rebound.example/feed.xml", "loopback"),  # a name that resolves to a mapped loopback
        ("http://mixed.example/feed.xml", "private"),  # one private answer is enough
        # a raw UTF-8 host name (http.client reads header bytes as Latin-1, the fetch re-reads them as UTF-8,
        # urllib3 IDNA-encodes the host): the name urllib3 will connect to is the one looked up
        ("http://bücher.example/feed".encode().decode("latin-1"), r"xn--bcher-kva\.example \(127\.0\.0\.1, loopback"),
    ],
)
def test_every_hop_to_a_private_address_is_refused_and_never_followed(served: Served, target: str, reason: str) -> None:
    # Given a public feed redirecting to the target
    redirect(served, "https://feeds.example/feed.xml", target)
    # When it is fetched, Then the redirect is refused with its reason, and the target never asked
    with pytest.raises(rss_fetch.FeedError, match=rf"redirect from a public address .*{reason}\) refused"):
        fetcher(served).fetch("https://feeds.example/feed.xml")
    assert [call.url for call in served.calls] == ["https://feeds.example/feed.xml"]


def test_a_second_hop_from_public_to_private_is_refused_too(served: Served) -> None:
    redirect(served, "http://intranet.example/feed.xml", "https://cdn.example/feed.xml")  # private -> public: fine
    redirect(served, "https://cdn.example/feed.xml", "http://10.0.0.7/admin")  # public -> private: refused
    with pytest.raises(rss_fetch.FeedError, match=r"to 10\.0\.0\.7 \(10\.0\.0\.7, private\) refused"):
        fetcher(served).fetch("http://intranet.example/feed.xml")


@pytest.mark.parametrize(
    ("source", "target", "allow_private"),
    [
        ("https://feeds.example/old.xml", "https://cdn.example/feed.xml", False),  # public to public
        ("http://127.0.0.1:8080/feed.xml", "http://intranet.example/feed.xml", False),  # private to private
        ("https://feeds.example/feed.xml", "/../../127.0.0.1", False),  # a relative Location stays on the public host
        ("https://feeds.example/feed.xml", "http://10.0.0.7/feed.xml", True),  # the setting allows private targets
    ],
)
def test_public_private_relative_and_allowed_redirects_are_followed(
    served: Served, source: str, target: str, allow_private: bool
) -> None:
    redirect(served, source, target)
    served.get(urljoin(source, target), body=b"<rss/>")
    assert fetcher(served, allow_private).fetch(source).body == b"<rss/>"


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://nowhere.example/feed", r"redirect to nowhere\.example, a name that cannot be resolved, refused"),
        ("http://[::1/feed.xml", r"redirect to a URL that cannot be read"),  # no URL at all
        ("http://a..b\u00e9.example/", r"redirect to a URL that cannot be read"),  # no valid IDNA label
        ("http://\u2615" + "x" * 70 + ".example/", r"redirect to a URL that cannot be read"),  # a label over 63
    ],
)
def test_a_target_that_cannot_be_read_encoded_or_resolved_is_refused(served: Served, target: str, reason: str) -> None:
    # Given a public feed redirecting to no URL, a name with no address, or one urllib3 cannot encode
    redirect(served, "https://feeds.example/feed.xml", target)
    # When it is fetched, Then the guard refuses it (it fails closed)
    with pytest.raises(rss_fetch.FeedError, match=reason):
        fetcher(served).fetch("https://feeds.example/feed.xml")
