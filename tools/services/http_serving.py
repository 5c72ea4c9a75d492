"""What this repository's small HTTP servers share (the fixture server, the Lambda APIs, the feed
hosts, the tests' misbehaving servers): a loopback server and a kept-alive handler, a whole answer
in one call, and the event a foreground server waits on until SIGTERM or SIGINT."""

from __future__ import annotations

import signal
import ssl
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class LoopbackServer(ThreadingHTTPServer):
    """A threaded server whose request threads never keep the process alive."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that hung up is not news
            super().handle_error(request, client_address)


class KeptAliveHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 (connections kept alive, as real servers keep them) and quiet."""

    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; with Nagle on, the body waits for the client's
    # delayed ACK of the headers (40 ms on Linux), which no real server adds to a response.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serving(handler: Callable[..., BaseHTTPRequestHandler], tls: ssl.SSLContext | None = None) -> Iterator[str]:
    """Serves ``handler`` on a free loopback port until the block ends (over TLS with ``tls``, a
    server context); yields the base URL."""
    server = LoopbackServer(("127.0.0.1", 0), handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def answer(
    request: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    content_type: str,
    headers: Mapping[str, str] | None = None,
) -> None:
    """Status, Content-Type, Content-Length, any other headers, then the body."""
    request.send_response(status)
    request.send_header("Content-Type", content_type)
    request.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        request.send_header(name, value)
    request.end_headers()
    request.wfile.write(body)


def stop_signals() -> threading.Event:
    """An event SIGTERM and SIGINT set, for a server run in the foreground to wait on and then stop cleanly."""
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    return stopping
