"""Keep a process on loopback: connections and name look-ups that would leave the machine fail, loudly.

Installed first thing by the LocalStack launcher and the SAM CLI runner (tools/services/localstack.py), so a
local deploy cannot reach AWS, a telemetry endpoint or a DNS server by accident. Each refused attempt
is one line on stderr starting with ``BLOCKED``, which the deploy tests look for in the logs.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from typing import Any

BLOCKED = "BLOCKED non-loopback"
# Names that mean this machine; LocalStack hands out *.localhost.localstack.cloud URLs, which public DNS
# resolves to 127.0.0.1: answered here, so no look-up leaves the machine.
_LOCAL_NAMES = ("localhost", "localhost.localstack.cloud")


def _loopback_name(host: str) -> bool:
    host = host.rstrip(".").lower()
    return any(host == name or host.endswith("." + name) for name in _LOCAL_NAMES)


def _is_loopback(address: Any) -> bool:
    if isinstance(address, str | bytes):  # AF_UNIX path, or an abstract socket name
        return True
    host = address[0]
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return _loopback_name(host)
    return ip.is_loopback or ip.is_unspecified  # 0.0.0.0 as a target means this machine


def _refuse(what: str) -> OSError:
    print(f"{BLOCKED} {what}", file=sys.stderr, flush=True)
    return ConnectionRefusedError(f"{BLOCKED} {what}: only loopback addresses are reachable")


def guard() -> None:
    """Patch socket so that a connection or look-up of anything but loopback raises (idempotent)."""
    if getattr(socket, "_loopback_guard", False):
        return
    real_getaddrinfo, real_connect, real_connect_ex = (
        socket.getaddrinfo,
        socket.socket.connect,
        socket.socket.connect_ex,
    )

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name is None or _is_loopback((name, port)):
            target = "127.0.0.1" if name and _loopback_name(name) else host
            return real_getaddrinfo(target, port, *args, **kwargs)
        try:
            ipaddress.ip_address(name)
        except ValueError:
            raise socket.gaierror(socket.EAI_NONAME, str(_refuse(f"look-up of {name}"))) from None
        return real_getaddrinfo(host, port, *args, **kwargs)  # a literal address: resolving it is local

    def connect(self: socket.socket, address: Any) -> None:
        if not _is_loopback(address):
            raise _refuse(f"connection to {address}")
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if not _is_loopback(address):
            raise _refuse(f"connection to {address}")
        return real_connect_ex(self, address)

    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
    socket.socket.connect = connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
    socket._loopback_guard = True  # type: ignore[attr-defined]
