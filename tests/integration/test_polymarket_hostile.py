"""Hostile Polymarket answers among good ones (issue 22's Polymarket rows, issue 23's endless cursor),
served on loopback, the function run as Lambda runs it (tools/local/invoke.py): each run ends by itself,
stays well under 256 MB (test_hostile_sources.invoke checks both), and produces every good token."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.test_hostile_sources import invoke
from tests.support.http import QuietHandler
from tools.local.invocation import Result
from tools.services.broker import EmbeddedBroker, read_topic
from tools.services.fixture_server import FixtureServer
from tools.services.http_serving import answer, serving

HOSTILE_BOOKS = {  # the first open market's first token gets this book
    "overflow": (["1e308"], ["1e308"]),
    "out_of_range": (["-5"], ["7"]),
    "crossed": (["0.9"], ["0.1"]),
}


def good_rows(server: FixtureServer) -> list[dict[str, Any]]:
    return [row for row in server.data.markets if row["active"] and not row["closed"]]


def first_token(row: dict[str, Any]) -> str:
    return str(json.loads(row["clobTokenIds"])[0])


@pytest.fixture
def good() -> Iterator[FixtureServer]:
    with FixtureServer() as server:
        yield server


class HostileGamma(QuietHandler):
    """Gamma's keyset listing gone wrong: /repeat/... the same cursor on every page, /huge/... 50 MB."""

    rows: list[dict[str, Any]] = []
    requests = 0

    def do_GET(self) -> None:
        type(self).requests += 1
        if self.path.startswith("/huge/"):
            self.chunked("application/json", [b'{"markets": [', *[b" " * 65_536] * 800, b"]}"])
            return
        body = json.dumps({"markets": self.rows, "next_cursor": "MTAw"}).encode()
        answer(self, 200, body, "application/json")


@pytest.fixture
def gamma(good: FixtureServer) -> Iterator[str]:
    HostileGamma.rows, HostileGamma.requests = good_rows(good)[:20], 0
    with serving(HostileGamma) as url:
        yield url


def run(broker: EmbeddedBroker, gamma_url: str, clob_url: str) -> tuple[Result, str]:
    topic = f"pm-hostile-{uuid.uuid4().hex[:6]}"
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
        "KAFKA_TOPIC": topic,
        "POLYMARKET_GAMMA_URL": gamma_url,
        "POLYMARKET_CLOB_URL": clob_url,
        "FETCH_TIMEOUT_S": "3",
    }
    return invoke("PolymarketProducerFunction", env), topic


def assert_in_range(messages: list[dict[str, Any]]) -> None:
    for message in messages:
        value = message["value"]
        for name in ("price", "best_bid", "best_ask", "midpoint", "last_trade_price", "spread"):
            assert value[name] is None or (math.isfinite(value[name]) and 0 <= value[name] <= 1), (name, value)


@pytest.mark.parametrize("case", sorted(HOSTILE_BOOKS))
def test_a_hostile_book_costs_only_its_token(case: str, broker: EmbeddedBroker, good: FixtureServer) -> None:
    # Given the recorded markets, one token's book replaced by a hostile one
    bad = first_token(good_rows(good)[0])
    bids, asks = HOSTILE_BOOKS[case]
    good.data.books[bad] = {
        **good.data.books[bad],
        "bids": [{"price": p, "size": "10"} for p in bids],
        "asks": [{"price": p, "size": "10"} for p in asks],
    }
    # When the function runs
    done, topic = run(broker, f"{good.url}/gamma", f"{good.url}/clob")
    # Then that token alone is skipped and counted; every other token is produced, in range
    summary = done.value
    assert summary["status"] == "ok" and summary["failed"] == 0 and summary["skipped_books"] == 1
    assert summary["produced"] == summary["tokens"] - 1 - summary["unpriced_tokens"]
    messages = read_topic(broker.bootstrap, topic)
    assert len(messages) == summary["produced"] and bad not in {m["key"] for m in messages}
    assert_in_range(messages)
    assert "book skipped" in done.log_text and bad in done.log_text


def test_a_repeated_cursor_ends_the_listing_and_the_first_page_is_priced(
    broker: EmbeddedBroker, good: FixtureServer, gamma: str
) -> None:
    # Given Gamma answering every page with the same 20 markets and the same next_cursor
    done, topic = run(broker, f"{gamma}/repeat", f"{good.url}/clob")
    # Then the run ends in seconds after two pages, with a warning, and the first page's markets priced
    summary = done.value
    assert HostileGamma.requests == 2 and summary["requests"]["GET gamma/markets/keyset"] == 2
    assert "repeated the cursor 'MTAw'" in summary["sources"][0]["error"]
    valid = summary["markets"] + summary["skipped_markets"]
    assert valid == 20 and summary["produced"] == summary["tokens"] - summary["unpriced_tokens"] > 0
    assert_in_range(read_topic(broker.bootstrap, topic))


def test_a_50_mb_gamma_answer_is_refused_by_the_cap(broker: EmbeddedBroker, good: FixtureServer, gamma: str) -> None:
    summary = run(broker, f"{gamma}/huge", f"{good.url}/clob")[0].value
    assert summary["status"] == "error" and summary["produced"] == 0
    assert summary["sources"][0]["error"] == "gamma /markets/keyset: body larger than 8388608 bytes"
