"""What the tests' misbehaving feed and API servers (unit and integration tiers) share: a quiet
HTTP/1.1 handler, and the two slow ways they answer."""

from __future__ import annotations

import time
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler


class QuietHandler(BaseHTTPRequestHandler):
    """Keeps connections alive as real servers do, and logs nothing into the test's output."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def chunked(self, content_type: str, parts: Iterable[bytes]) -> None:
        """A 200 with no Content-Length, one chunk per part: only a streamed size cap can stop it."""
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for part in [*parts, b""]:
                self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
        except OSError:  # the client hung up, as it should
            pass

    def trickle(self, first: bytes, byte: bytes, every_s: float, times: int = 60) -> None:
        """``first``, then one ``byte`` every ``every_s`` seconds: never idle long enough for a read timeout."""
        try:
            self.wfile.write(first)
            for _ in range(times):
                self.wfile.write(byte)
                self.wfile.flush()
                time.sleep(every_s)
        except OSError:
            pass
