"""A local stand-in for the producers' sources: recorded feeds and a Polymarket Gamma + CLOB fake.

    python -m tools.fixture_server [--port 0] [--latency-ms N] [--synthetic-markets N]
                                   [--synthetic-feeds N --items M]

prints {"url": "http://127.0.0.1:PORT"} when ready and serves until stopped. Routes:

  GET  /feeds/                 the feed URLs (JSON)
  GET  /feeds/<file>           a recorded feed, with ETag / Last-Modified and 304 answers
  GET  /feeds/synthetic/<i>.xml  generated feeds (--synthetic-feeds N --items M), same validators
  GET  /gamma/markets          list; limit, offset (422 past 2000), active, closed, slug (repeatable),
                               order, ascending, liquidity_num_min, volume_num_min
  GET  /gamma/markets/keyset   {"markets": [...], "next_cursor"}; after_cursor pages, limit <= 100
  GET  /clob/book|price|midpoint?token_id=&side=
  POST /clob/books|prices|midpoints   batch forms, body [{"token_id", "side"?}]

As a library: ``with FixtureServer() as server: server.url, server.feed_urls(), server.requests``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import signal
import sys
import threading
import time
from collections import Counter
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parent.parent
FEEDS = ROOT / "tests" / "fixtures" / "feeds"
POLYMARKET = ROOT / "tests" / "fixtures" / "polymarket"
CONTENT_TYPES = {".xml": "application/rss+xml", ".rdf": "application/rdf+xml", ".atom": "application/atom+xml"}
MAX_OFFSET = 2000
KEYSET_LIMIT = 100
LAST_MODIFIED = formatdate(1795392000, usegmt=True)  # fixed, so validators are stable across runs


class PolymarketData:
    """Markets and books, indexed the way the endpoints look them up."""

    def __init__(self, markets: list[dict[str, Any]], books: list[dict[str, Any]]) -> None:
        self.markets = markets
        self.books = {book["asset_id"]: book for book in books}

    @classmethod
    def load(cls, folder: Path, synthetic: int = 0) -> PolymarketData:
        markets = json.loads((folder / "gamma_markets.json").read_text())
        books = json.loads((folder / "clob_books.json").read_text())
        if synthetic:
            from tools.fixture_data import synthetic_markets

            extra_markets, extra_books = synthetic_markets(synthetic)
            markets, books = markets + extra_markets, books + extra_books
        return cls(markets, books)

    def select(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        rows = self.markets
        for flag in ("active", "closed"):
            if flag in query:
                wanted = query[flag][-1].lower() == "true"
                rows = [row for row in rows if bool(row.get(flag)) == wanted]
        if "slug" in query:
            rows = [row for row in rows if row.get("slug") in set(query["slug"])]
        for param, field in (("liquidity_num_min", "liquidityNum"), ("volume_num_min", "volumeNum")):
            if param in query:
                rows = [row for row in rows if float(row.get(field) or 0) >= float(query[param][-1])]
        if "order" in query:
            field = query["order"][-1]
            descending = query.get("ascending", ["true"])[-1].lower() == "false"
            rows = sorted(rows, key=lambda row: float(row.get(field) or 0), reverse=descending)
        return rows

    def quote(self, token_id: str, side: str) -> float | None:
        book = self.books.get(token_id)
        if not book:
            return None
        # The price a taker pays: BUY at the best ask, SELL at the best bid.
        levels = book["asks"] if side.upper() == "BUY" else book["bids"]
        return float(levels[-1]["price"]) if levels else None

    def midpoint(self, token_id: str) -> float | None:
        bid, ask = self.quote(token_id, "SELL"), self.quote(token_id, "BUY")
        return None if bid is None or ask is None else round((bid + ask) / 2, 6)


class FixtureServer:
    """The server on a free loopback port, in a background thread."""

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
    ) -> None:
        self.feeds_dir = feeds
        self.synthetic_feeds, self.items = synthetic_feeds, items
        self.data = PolymarketData.load(polymarket, synthetic_markets)
        self.latency_s = latency_ms / 1000
        self.verbose = verbose
        self.requests: Counter[str] = Counter()  # "GET /gamma/markets" -> count
        self._lock = threading.Lock()
        self._http = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    def feed_urls(self) -> list[str]:
        return [
            f"{self.url}/feeds/{path.name}" for path in sorted(self.feeds_dir.iterdir()) if path.suffix in CONTENT_TYPES
        ]

    def synthetic_feed_urls(self) -> list[str]:
        return [f"{self.url}/feeds/synthetic/{index}.xml" for index in range(self.synthetic_feeds)]

    def count(self, key: str) -> None:
        with self._lock:
            self.requests[key] += 1

    def start(self) -> FixtureServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    def __enter__(self) -> FixtureServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def _handler_for(server: FixtureServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            if server.verbose:
                sys.stderr.write(f"fixture_server: {format % args}\n")

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

        def _route(self, method: str) -> None:
            parts = urlsplit(self.path)
            server.count(f"{method} {parts.path}")
            if server.latency_s:
                time.sleep(server.latency_s)
            query = parse_qs(parts.query)
            path = parts.path.rstrip("/") or "/"
            if method == "GET" and path == "/feeds":
                return self._json(200, server.feed_urls())
            if method == "GET" and path.startswith("/feeds/"):
                return self._feed(path.removeprefix("/feeds/"))
            if method == "GET" and path == "/gamma/markets":
                return self._markets(query)
            if method == "GET" and path == "/gamma/markets/keyset":
                return self._keyset(query)
            if path.startswith("/clob/"):
                return self._clob(method, path.removeprefix("/clob/"), query)
            return self._json(404, {"error": "not found"})

        def _feed(self, name: str) -> None:
            body = self._feed_body(name)
            if body is None:
                return self._json(404, {"error": "no such feed"})
            etag = '"' + base64.urlsafe_b64encode(hashlib.sha256(body).digest()).decode()[:16] + '"'
            headers = {
                "ETag": etag,
                "Last-Modified": LAST_MODIFIED,
                "Content-Type": CONTENT_TYPES.get(Path(name).suffix, "application/xml"),
            }
            if self.headers.get("If-None-Match") == etag or (
                "If-None-Match" not in self.headers and self.headers.get("If-Modified-Since") == LAST_MODIFIED
            ):
                return self._send(304, b"", headers)
            return self._send(200, body, headers)

        def _feed_body(self, name: str) -> bytes | None:
            if name.startswith("synthetic/"):
                index = name.removeprefix("synthetic/").removesuffix(".xml")
                if not index.isdigit() or int(index) >= server.synthetic_feeds:
                    return None
                from tools.fixture_data import synthetic_feed

                return synthetic_feed(int(index), server.items)
            file = server.feeds_dir / name
            return file.read_bytes() if "/" not in name and file.is_file() else None

        def _markets(self, query: dict[str, list[str]]) -> None:
            offset = int(query.get("offset", ["0"])[-1])
            if offset > MAX_OFFSET:
                return self._json(422, {"error": "offset too large; use /markets/keyset"})
            limit = int(query.get("limit", ["20"])[-1])
            return self._json(200, server.data.select(query)[offset : offset + limit])

        def _keyset(self, query: dict[str, list[str]]) -> None:
            limit = min(int(query.get("limit", ["20"])[-1]), KEYSET_LIMIT)
            start = int(base64.urlsafe_b64decode(query["after_cursor"][-1]).decode()) if "after_cursor" in query else 0
            rows = server.data.select(query)
            page: dict[str, Any] = {"markets": rows[start : start + limit]}
            if start + limit < len(rows):
                page["next_cursor"] = base64.urlsafe_b64encode(str(start + limit).encode()).decode()
            return self._json(200, page)

        def _clob(self, method: str, endpoint: str, query: dict[str, list[str]]) -> None:
            data = server.data
            if method == "GET":
                token = query.get("token_id", [""])[-1]
                if token not in data.books:
                    return self._json(404, {"error": "No orderbook exists for the requested token id"})
                if endpoint == "book":
                    return self._json(200, data.books[token])
                if endpoint == "price":
                    return self._json(200, {"price": str(data.quote(token, query.get("side", ["BUY"])[-1]))})
                if endpoint == "midpoint":
                    return self._json(200, {"mid": str(data.midpoint(token))})
                return self._json(404, {"error": "not found"})
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"[]")
                wanted = [(item["token_id"], item.get("side", "BUY")) for item in body]
            except (ValueError, KeyError, TypeError):
                return self._json(400, {"error": "Invalid payload"})
            known = [(token, side) for token, side in wanted if token in data.books]
            if endpoint == "books":
                return self._json(200, [data.books[token] for token, _ in known])
            if endpoint == "prices":
                prices: dict[str, dict[str, str]] = {}
                for token, side in known:
                    prices.setdefault(token, {})[side.upper()] = str(data.quote(token, side))
                return self._json(200, prices)
            if endpoint == "midpoints":
                return self._json(200, {token: str(data.midpoint(token)) for token, _ in known})
            return self._json(404, {"error": "not found"})

        def _json(self, status: int, payload: Any) -> None:
            self._send(status, json.dumps(payload).encode(), {"Content-Type": "application/json"})

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            if status != 200 and status != 304:
                self.close_connection = True
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--synthetic-markets", type=int, default=0)
    parser.add_argument("--synthetic-feeds", type=int, default=0)
    parser.add_argument("--items", type=int, default=30)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    server = FixtureServer(
        args.port,
        args.latency_ms,
        args.synthetic_markets,
        verbose=args.verbose,
        synthetic_feeds=args.synthetic_feeds,
        items=args.items,
    ).start()
    print(json.dumps({"url": server.url}), flush=True)
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    stopped.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
