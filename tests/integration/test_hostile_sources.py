"""Hostile sources among good ones: the run completes as `partial`, the good sources are produced,
each bad one is reported, and memory stays well under the function's 256 MB."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.http import QuietHandler
from tools.local.invocation import Result, run
from tools.services.broker import EmbeddedBroker, read_topic
from tools.services.fixture_server import FixtureServer
from tools.services.http_serving import answer, serving

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "tests" / "unit" / "rss_producer" / "cases"
RSS_HEAD = b'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>'


class Hostile(QuietHandler):
    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == "/huge":  # 50 MB
            block = b"<item><title>" + b"x" * 65_000 + b"</title></item>"
            self.chunked("application/rss+xml", [RSS_HEAD, *[block] * 800])
            return
        if path == "/trickle":  # one byte a second of a declared 100,000
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.trickle(b"", b"<", every_s=1)
            return
        if path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        status, body, kind = {
            "/html": (200, (CASES / "html_error_page.html").read_bytes(), "text/html"),
            "/missing": (404, b"not here", "text/plain"),
            "/wrong/markets/keyset": (200, b'{"data": [{"id": 1}], "count": 1}', "application/json"),
            "/broken": (500, b"oops", "text/plain"),
            "/bomb": (200, (CASES / "entity_bomb_deep.xml").read_bytes(), "application/rss+xml"),
            "/wide-bomb": (200, (CASES / "entity_bomb_wide.xml").read_bytes(), "application/rss+xml"),
            "/bad-utf8": (
                200,
                RSS_HEAD + b"<item><title>caf\xe9 \xff\xfe</title><guid>u1</guid></item></channel></rss>",
                "application/rss+xml; charset=utf-8",
            ),
        }.get(path, (404, b"", "text/plain"))
        answer(self, status, body, kind)


@pytest.fixture(scope="module")
def hostile() -> Iterator[str]:
    with serving(Hostile) as url:
        yield url


def invoke(function: str, env: dict[str, str]) -> Result:
    """One run on a state of its own, which must end by itself in seconds and well under the function's 256 MB."""
    state = str(Path(tempfile.gettempdir()) / f"hostile-{uuid.uuid4().hex}.sqlite")
    done = run(function, {"STATE_PATH": state, **env}, timeout_s=240)
    assert done.exit_code == 0, done.log_text[-3000:]
    memory_mb = done.max_memory_mb
    assert done.duration_s < 30 and memory_mb is not None and memory_mb < 160, (done.duration_s, memory_mb)
    return done


def test_hostile_feeds_among_good_ones(broker: EmbeddedBroker, hostile: str) -> None:
    # Given the recorded feeds and nine hostile ones
    with FixtureServer() as good:
        names = ("huge", "trickle", "html", "missing", "broken", "loop", "bomb", "wide-bomb")
        bad = {name: f"{hostile}/{name}" for name in names}
        topic = f"hostile-{uuid.uuid4().hex[:6]}"
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
            "KAFKA_TOPIC": topic,
            "FETCH_TIMEOUT_S": "3",
            "FEED_URLS": ",".join([*good.feed_urls(), *bad.values(), f"{hostile}/bad-utf8"]),
        }
        # When the RSS function runs (and ends in seconds, well under 256 MB)
        summary = invoke("RssProducerFunction", env).value
    # Then it completes as partial, every good item (and the readable bad-UTF-8 one) is delivered,
    # and each hostile source is reported with its reason
    assert summary["status"] == "partial" and summary["failed"] == 0
    good_items = 70  # the entries of tests/fixtures/feeds, each a different item (README there)
    assert summary["produced"] == good_items + 1
    assert len(read_topic(broker.bootstrap, topic)) == good_items + 1
    errors = {s["source"]: s["error"] for s in summary["sources"] if s["status"] == "error"}
    assert errors == {
        bad["huge"]: "body larger than 5242880 bytes",
        bad["trickle"]: "no complete response within 3 s",
        bad["html"]: "not a feed (NonXMLContentType)",
        bad["missing"]: "HTTP 404",
        bad["broken"]: "HTTP 500",
        bad["loop"]: "too many redirects",
        bad["bomb"]: "XML entities expand beyond 1000000 bytes (refused)",
        bad["wide-bomb"]: "XML entities expand beyond 1000000 bytes (refused)",
    }


def test_a_polymarket_api_with_the_wrong_shape(broker: EmbeddedBroker, hostile: str) -> None:
    # Gamma answers 200 with JSON of another shape: reported, the run completes as an error (its only source failed)
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
        "POLYMARKET_GAMMA_URL": f"{hostile}/wrong",
        "POLYMARKET_CLOB_URL": f"{hostile}/broken",
    }
    summary = invoke("PolymarketProducerFunction", env).value
    assert summary["status"] == "error" and summary["produced"] == 0
    assert summary["sources"][0]["error"] == "gamma /markets/keyset: no 'markets' list in the answer"
