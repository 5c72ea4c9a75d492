"""A local stand-in for the producers' sources: recorded feeds and fakes of Polymarket's Gamma and CLOB APIs.

    python tools/services/fixture_server.py [--port 0] [--feeds DIR] [--polymarket DIR] [--latency-ms N]
        [--synthetic-markets N] [--seed S] [--synthetic-feeds N --items M] [--verbose]

prints {"url": "http://127.0.0.1:PORT"} when ready and serves until SIGTERM or SIGINT. Gamma's base URL
is <url>/gamma, the CLOB's <url>/clob. Routes:

  GET  /feeds/                    every feed URL served (JSON list)
  GET  /feeds/<file>              a recorded feed; ETag / Last-Modified, 304 to If-None-Match / If-Modified-Since
  GET  /feeds/synthetic/<i>.xml   generated feeds (--synthetic-feeds N --items M), same validators
  GET  /gamma/markets             list; limit, offset (422 past 2000), active, closed, archived, id, slug,
                                  condition_ids, clob_token_ids, tag_id, include_tag, order, ascending,
                                  liquidity_num_min/max, volume_num_min/max
  GET  /gamma/markets/keyset      {"markets": [...], "next_cursor"}: same filters, limit <= 100, after_cursor;
                                  next_cursor absent on the last page; offset refused; cursor ignored
  GET  /clob/book|price|midpoint  ?token_id= (&side=BUY|SELL for price)
  POST /clob/books|prices|midpoints   [{"token_id", "side"?}]; unknown tokens are left out

As a library::

    with FixtureServer(latency_ms=50, synthetic_markets=1000) as server:
        server.url, server.feed_urls(), server.synthetic_feed_urls(), server.requests["GET /gamma/markets/keyset"]

http.server, not werkzeug (nor pytest-httpserver, which serves through werkzeug): werkzeug's server closes
the connection after every answer, so the producers' keep-alive sessions would go untested here, and it
spends about 1.7 times the CPU a request (1.67 against 0.95 ms a feed over one session); its routing and
conditional responses would save about 30 of these lines.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[2]
if __package__ in (None, ""):  # run as a script: make `tools` importable
    sys.path.insert(0, str(ROOT))

from tools.services.fixture_data import SEED, PolymarketData, QueryError, synthetic_feed  # noqa: E402
from tools.services.http_serving import KeptAliveHandler, LoopbackServer, stop_signals  # noqa: E402

FEEDS = ROOT / "tests" / "fixtures" / "feeds"
POLYMARKET = ROOT / "tests" / "fixtures" / "polymarket"
FEED_TYPES = {".rss": "application/rss+xml", ".atom": "application/atom+xml", ".rdf": "application/rdf+xml"}
FEED_SUFFIXES = {".xml", *FEED_TYPES}
ROOT_TYPES = {b"rss": "application/rss+xml", b"feed": "application/atom+xml", b"rdf:RDF": "application/rdf+xml"}
MAX_OFFSET, MAX_LIMIT, KEYSET_LIMIT, DEFAULT_LIMIT, CLOB_BATCH = 2000, 1000, 100, 20, 500
# One fixed time for every feed, so validators are the same on every run and every machine.
LAST_MODIFIED = datetime(2026, 11, 22, 18, 0, tzinfo=timezone.utc)
NO_BOOK = {"error": "No orderbook exists for the requested token id"}


def feed_content_type(name: str, body: bytes) -> str:
    """By extension, else by the root element; with the charset the XML declaration names, if any."""
    head = re.sub(rb"<!--.*?-->", b"", body[:2048], flags=re.S)
    root = re.search(rb"<([A-Za-z][\w:.-]*)", head)
    kind = FEED_TYPES.get(Path(name).suffix) or ROOT_TYPES.get(root.group(1) if root else b"", "application/xml")
    declared = re.match(rb"<\?xml[^>]*encoding=[\"']([\w.:-]+)", body)
    return f"{kind}; charset={declared.group(1).decode()}" if declared else kind


def _etag(body: bytes) -> str:
    return '"' + base64.urlsafe_b64encode(hashlib.sha256(body).digest()).decode()[:22] + '"'


def not_modified(headers: Any, etag: str) -> bool:
    """RFC 9110: If-None-Match decides when present; otherwise If-Modified-Since against Last-Modified."""
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or etag in tags
    try:
        since = parsedate_to_datetime(headers.get("If-Modified-Since", ""))
    except (TypeError, ValueError):
        return False
    return since.tzinfo is not None and since >= LAST_MODIFIED


def _cursor(position: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": position}).encode()).decode().rstrip("=")


def _position(cursor: str) -> int:
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))["after"]
    except (ValueError, TypeError, KeyError) as error:
        raise QueryError("invalid after_cursor") from error
    if not isinstance(position, int) or position < 0:
        raise QueryError("invalid after_cursor")
    return position


def _integer(query: dict[str, list[str]], name: str, default: int) -> int:
    value = query.get(name, [str(default)])[-1]
    if not value.isdigit():
        raise QueryError(f"{name} must be a non-negative integer")
    return int(value)


class FixtureServer:
    """The server on a loopback port (free when ``port`` is 0), serving from a background thread."""

    def __init__(
        self,
        port: int = 0,
        latency_ms: float = 0,
        synthetic_markets: int = 0,
        feeds: Path = FEEDS,
        polymarket: Path = POLYMARKET,
        verbose: bool = False,
        synthetic_feeds: int = 0,
        items: int = 30,
        seed: int = SEED,
        host: str = "127.0.0.1",  # any of 127.0.0.0/8: one server a host name, to stand for many hosts
    ) -> None:
        self.feeds_dir = Path(feeds)
        self.synthetic_feeds, self.items = synthetic_feeds, items
        self.data = PolymarketData.load(Path(polymarket), synthetic_markets, seed)
        self.latency_s = latency_ms / 1000
        self.verbose = verbose
        self.requests: Counter[str] = Counter()  # "GET /gamma/markets/keyset" -> count
        self._lock = threading.Lock()
        self._http = LoopbackServer((host, port), _handler_for(self))
        self.url = f"http://{host}:{self._http.server_address[1]}"
        self._thread = threading.Thread(target=self._http.serve_forever, name="fixture-server", daemon=True)

    def feed_urls(self) -> list[str]:
        """The recorded feeds' URLs."""
        names = sorted(p.name for p in self.feeds_dir.iterdir() if p.suffix in FEED_SUFFIXES)
        return [f"{self.url}/feeds/{name}" for name in names]

    def producer_environment(self) -> dict[str, str]:
        """The variables that point both producers at this server instead of their live sources."""
        return {
            "FEED_URLS": ",".join(self.feed_urls()),
            "POLYMARKET_GAMMA_URL": f"{self.url}/gamma",
            "POLYMARKET_CLOB_URL": f"{self.url}/clob",
        }

    def synthetic_feed_urls(self) -> list[str]:
        return [f"{self.url}/feeds/synthetic/{index}.xml" for index in range(self.synthetic_feeds)]

    def count(self, key: str) -> None:
        with self._lock:
            self.requests[key] += 1

    def start(self) -> FixtureServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._http.shutdown()
        self._http.server_close()

    def __enter__(self) -> FixtureServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def _handler_for(server: FixtureServer) -> type[BaseHTTPRequestHandler]:
    class Handler(KeptAliveHandler):
        def log_message(self, format: str, *args: Any) -> None:
            if server.verbose:
                sys.stderr.write(f"fixture_server: {format % args}\n")

        def _route(self) -> None:
            method, parts = self.command, urlsplit(self.path)
            server.count(f"{method} {parts.path}")
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) if method == "POST" else b""
            if server.latency_s:
                time.sleep(server.latency_s)
            query, path = parse_qs(parts.query), parts.path
            reading = method in ("GET", "HEAD")
            try:
                if reading and path.rstrip("/") == "/feeds":
                    return self._json(200, server.feed_urls() + server.synthetic_feed_urls())
                if reading and path.startswith("/feeds/"):
                    return self._feed(path.removeprefix("/feeds/"))
                if reading and path.rstrip("/") in ("/gamma/markets", "/gamma/markets/keyset"):
                    return self._markets(query, keyset=path.rstrip("/").endswith("keyset"))
                if path.startswith("/clob/"):
                    return self._clob(method, path.removeprefix("/clob/").rstrip("/"), query, body)
                return self._json(404, {"error": "not found"})
            except QueryError as error:  # Gamma's answer to a parameter it refuses
                return self._json(422, {"type": "validation error", "error": str(error)})

        do_GET = do_HEAD = do_POST = _route

        def _feed(self, name: str) -> None:
            body = self._feed_body(name)
            if body is None:
                return self._send(404, b"Not Found", {"Content-Type": "text/plain"})
            etag = _etag(body)
            headers = {"ETag": etag, "Last-Modified": format_datetime(LAST_MODIFIED, usegmt=True)}
            if not_modified(self.headers, etag):
                return self._send(304, b"", headers)
            return self._send(200, body, {**headers, "Content-Type": feed_content_type(name, body)})

        def _feed_body(self, name: str) -> bytes | None:
            if name.startswith("synthetic/"):
                index = name.removeprefix("synthetic/").removesuffix(".xml")
                if not index.isdigit() or int(index) >= server.synthetic_feeds:
                    return None
                return synthetic_feed(int(index), server.items)
            file = server.feeds_dir / name
            return file.read_bytes() if "/" not in name and file.suffix in FEED_SUFFIXES and file.is_file() else None

        def _markets(self, query: dict[str, list[str]], keyset: bool) -> None:
            if keyset and "offset" in query:
                raise QueryError("offset is not supported on /markets/keyset; use after_cursor")
            offset = _integer(query, "offset", 0)
            if offset > MAX_OFFSET:
                raise QueryError("offset too large, use /markets/keyset for deeper pagination")
            limit = min(_integer(query, "limit", DEFAULT_LIMIT), KEYSET_LIMIT if keyset else MAX_LIMIT)
            limit = max(limit, 1) if keyset else limit  # an empty page with a cursor would never end
            start = _position(query["after_cursor"][-1]) if keyset and "after_cursor" in query else offset
            rows = server.data.select(query)  # `cursor` is not a parameter: ignored, as live
            page = rows[start : start + limit]
            if query.get("include_tag", ["false"])[-1].lower() != "true":
                page = [{key: value for key, value in row.items() if key != "tags"} for row in page]
            if not keyset:
                return self._json(200, page)
            answer: dict[str, Any] = {"markets": page}
            if start + limit < len(rows):
                answer["next_cursor"] = _cursor(start + limit)
            return self._json(200, answer)

        def _clob(self, method: str, endpoint: str, query: dict[str, list[str]], body: bytes) -> None:
            data = server.data
            if method in ("GET", "HEAD") and endpoint in ("book", "price", "midpoint"):
                token, side = query.get("token_id", [""])[-1], query.get("side", [""])[-1].upper()
                if not token.isdigit():
                    return self._json(400, {"error": "Invalid token id"})
                if endpoint == "price" and side not in ("BUY", "SELL"):
                    return self._json(400, {"error": "Invalid side"})
                if endpoint == "book":
                    answer = data.books.get(token)
                elif endpoint == "price":
                    price = data.best(token, side)
                    answer = {"price": price} if price else None
                else:
                    mid = data.midpoint(token)
                    answer = {"mid": mid} if mid else None
                return self._json(200, answer) if answer else self._json(404, NO_BOOK)
            if method == "POST" and endpoint in ("books", "prices", "midpoints"):
                try:
                    wanted = [(str(item["token_id"]), str(item.get("side", "")).upper()) for item in json.loads(body)]
                except (ValueError, TypeError, KeyError, AttributeError):
                    return self._json(400, {"error": "Invalid payload"})
                if len(wanted) > CLOB_BATCH:
                    return self._json(400, {"error": "Payload exceeds the limit"})
                if endpoint == "prices" and any(side not in ("BUY", "SELL") for _, side in wanted):
                    return self._json(400, {"error": "Invalid side"})
                if endpoint == "books":
                    return self._json(200, [data.books[token] for token, _ in wanted if token in data.books])
                if endpoint == "midpoints":
                    mids = {token: data.midpoint(token) for token, _ in wanted}
                    return self._json(200, {token: mid for token, mid in mids.items() if mid is not None})
                prices: dict[str, dict[str, str]] = {}
                for token, side in wanted:
                    if (price := data.best(token, side)) is not None:
                        prices.setdefault(token, {})[side] = price
                return self._json(200, prices)
            return self._json(404, {"error": "not found"})

        def _json(self, status: int, payload: Any) -> None:
            self._send(status, json.dumps(payload).encode(), {"Content-Type": "application/json"})

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if status != 304:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD" and status != 304:
                self.wfile.write(body)

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--feeds", type=Path, default=FEEDS, help="folder of recorded feeds")
    parser.add_argument(
        "--polymarket", type=Path, default=POLYMARKET, help="folder with gamma_markets.json, clob_books.json"
    )
    parser.add_argument("--latency-ms", type=float, default=0, help="delay before every answer")
    parser.add_argument("--synthetic-markets", type=int, default=0, help="generated markets (with books) to add")
    parser.add_argument("--seed", type=int, default=SEED, help="seed for the synthetic markets")
    parser.add_argument("--synthetic-feeds", type=int, default=0, help="generated feeds under /feeds/synthetic/")
    parser.add_argument("--items", type=int, default=30, help="items per synthetic feed")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    server = FixtureServer(**vars(parser.parse_args(argv)))  # the options are the constructor's arguments
    stopping = stop_signals()
    server.start()
    print(json.dumps({"url": server.url}), flush=True)
    stopping.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
