"""Redirects a feed fetch may follow: never from a public address to one that is not.

A compromised feed host could otherwise send the producer to the Lambda Runtime API on
127.0.0.1, the instance metadata address or a service inside the VPC, and publish the answer.
A feed configured at a private address (a test server, a self-hosted feed) is the operator's
choice and may redirect within private space; a public one may not leave it, at any hop.

The guard fails closed: the target is read by ``redirect_target``, the one reading the fetch follows
(the Location's bytes as UTF-8, the host IDNA-encoded by urllib3's ``parse_url``), so the name checked is
the name connected to, and a name that cannot be encoded or resolved is refused.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urljoin

from rss_transfers import REDIRECT_STATUSES, Answer

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # the well-known prefix: the low 32 bits are an IPv4 address


class RedirectRefused(Exception):
    """A redirect from a public address to a non-public one."""


def not_public(address: Address) -> str | None:
    """Why the address is not a public unicast one (``loopback``, ``private`` ...); None when it is."""
    inner = _embedded_ipv4(address)
    if inner is not None:
        return not_public(inner)
    for reason, flag in (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("site-local", isinstance(address, ipaddress.IPv6Address) and address.is_site_local),
    ):
        if flag:
            return reason
    return None if address.is_global else "not globally reachable"  # 100.64.0.0/10 (shared), for one


def _embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries: IPv4-mapped, NAT64, 6to4 or Teredo (the client's)."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    return address.teredo[1] if address.teredo is not None else None


def resolve(host: str) -> list[Address]:
    """Every address ``host`` stands for: itself when it is a literal, else what DNS answers (none
    when it cannot be resolved)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        answers = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return [ipaddress.ip_address(str(answer[4][0]).split("%")[0]) for answer in answers]


@dataclass(frozen=True)
class RedirectGuard:
    """A check of every response a fetch gets: it refuses a redirect from a public address to a non-public one."""

    allow_private: bool = False
    lookup: Callable[[str], Iterable[Address]] = field(default=resolve)

    def __call__(self, url: str, response: Answer) -> Answer:
        if self.allow_private or response.status not in REDIRECT_STATUSES:
            return response
        from urllib3.util import parse_url  # on a redirect only: urllib3's import is ~40 ms of CPU

        try:
            source = parse_url(url).host or ""
            target = parse_url(redirect_target(url, response) or "").host
            if not target:
                raise ValueError("no host")
        except ValueError as error:  # urllib3's LocationParseError is one
            raise RedirectRefused(f"redirect to a URL that cannot be read ({error})") from None
        if target == source:
            return response  # the same host: no address it did not have already
        addresses = list(self.lookup(target))
        refused = next(((a, reason) for a in addresses if (reason := not_public(a))), None)
        if addresses and refused is None:
            return response
        origin = list(self.lookup(source))
        if origin and all(not_public(address) for address in origin):
            return response  # a private feed may redirect within private space
        if refused is None:
            raise RedirectRefused(f"redirect to {target}, a name that cannot be resolved, refused")
        raise RedirectRefused(f"redirect from a public address to {target} ({refused[0]}, {refused[1]}) refused")


def redirect_target(url: str, response: Answer) -> str | None:
    """The URL a redirect from ``url`` leads to, as it will be fetched (None when ``response`` is no
    redirect): header bytes are read as Latin-1 (as http.client reads them), so a raw UTF-8 Location is re-read as UTF-8
    (as browsers and requests do); urllib3 percent-encodes the rest. Raises ValueError when unreadable."""
    location = response.headers.get("location") if response.status in REDIRECT_STATUSES else None
    if location is None:
        return None
    from urllib3.util import parse_url

    return str(parse_url(urljoin(url, location.encode("latin-1").decode("utf-8"))).url)
