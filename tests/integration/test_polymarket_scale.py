"""The Polymarket producer over 1,000 markets from a local fake of both APIs, on the embedded broker."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from tools.local.handler import LambdaContext, load_event, load_handler
from tools.services.broker import EmbeddedBroker, read_topic
from tools.services.fixture_server import FixtureServer

MARKETS = 1000


@pytest.fixture(scope="module")
def apis() -> Iterator[FixtureServer]:
    with FixtureServer(synthetic_markets=MARKETS) as server:
        yield server


def test_1000_markets_priced_in_few_batched_calls(
    broker: EmbeddedBroker, apis: FixtureServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 1,000 synthetic markets besides the recorded ones (two of which are malformed)
    topic = f"pm-scale-{uuid.uuid4().hex[:6]}"
    for name, value in {
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
        "KAFKA_TOPIC": topic,
        "POLYMARKET_GAMMA_URL": f"{apis.url}/gamma",
        "POLYMARKET_CLOB_URL": f"{apis.url}/clob",
        "MAX_MARKETS": str(MARKETS),
    }.items():
        monkeypatch.setenv(name, value)
    # When the producer runs
    summary = load_handler("polymarket_producer").lambda_handler(load_event("schedule.json"), LambdaContext())
    # Then 1,000 markets were selected and every outcome token produced, with < 1 CLOB request per 50 tokens
    assert summary["markets"] == MARKETS and summary["failed"] == 0
    priced = sum(count for key, count in summary.items() if key.startswith("priced_by_"))
    assert summary["produced"] == summary["tokens"] == priced
    assert summary["requests"]["POST clob/books"] < summary["tokens"] / 50
    assert summary["requests"]["GET gamma/markets/keyset"] == apis.requests["GET /gamma/markets/keyset"]
    messages = read_topic(broker.bootstrap, topic, timeout_s=30)
    assert len(messages) == summary["produced"]
    assert len({m["key"] for m in messages}) == len(messages)
    assert all(isinstance(m["value"]["price"], float) for m in messages)
    print(json.dumps({k: summary[k] for k in ("markets", "tokens", "requests", "duration_ms")}))
