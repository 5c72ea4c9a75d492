"""A Polymarket run over stubbed Gamma and CLOB endpoints (``responses``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polymarket_run
import pytest
import requests
import responses
from polymarket_settings import PolymarketSettings
from producer_common import ConfigurationError, OutgoingMessage

MARKETS = Path(__file__).parent / "markets"
GAMMA, CLOB = "https://gamma.test", "https://clob.test"
SETTINGS = PolymarketSettings.from_env(
    {"KAFKA_BOOTSTRAP_SERVERS": "b:9092", "POLYMARKET_GAMMA_URL": GAMMA, "POLYMARKET_CLOB_URL": CLOB + "/"}
)


def rows(*names: str) -> list[dict[str, Any]]:
    return [json.loads((MARKETS / f"{name}.json").read_text()) for name in names]


def book(token_id: str, bid: str, ask: str) -> dict[str, Any]:
    return {
        "market": "0x1",
        "asset_id": token_id,
        "bids": [{"price": bid, "size": "100"}],
        "asks": [{"price": ask, "size": "80"}],
        "hash": "h",
        "timestamp": "1763880000000",
    }


def run(selection: polymarket_run.Selection | None = None) -> tuple[list[OutgoingMessage], Any, dict[str, int]]:
    sent: list[OutgoingMessage] = []
    sources, counts = polymarket_run.produce_prices(
        requests.Session(), SETTINGS, selection or polymarket_run.Selection((), 10), sent.append, "2026-11-23T00:00:00Z"
    )
    return sent, sources, counts


@responses.activate
def test_selected_markets_are_priced_from_clob_books() -> None:
    # Given two good markets and a malformed one on Gamma, and books for some tokens on the CLOB
    good = rows("binary_strings", "multi_outcome_lists", "price_out_of_range")
    gamma = responses.get(f"{GAMMA}/markets", json=good)
    tokens = json.loads(good[0]["clobTokenIds"])
    clob = responses.post(f"{CLOB}/books", json=[book(tokens[0], "0.60", "0.62"), book(tokens[1], "0.37", "0.41")])
    # When the run prices them
    sent, sources, counts = run()
    # Then one message per outcome token of the good markets, keyed by token id, with headers
    assert counts == {"markets": 2, "skipped_markets": 1}
    assert len(sent) == 2 + 3
    first = sent[0]
    assert first.key == tokens[0] and first.value["midpoint"] == 0.61 and first.value["price"] == 0.61
    assert first.headers == {"schema": "polymarket_price/1", "source": CLOB}
    # the multi-outcome tokens had no book: Gamma's price, and Gamma named as the source
    assert sent[2].value["best_bid"] is None and sent[2].value["price"] == 0.5
    assert sent[2].headers["source"] == GAMMA
    # Gamma was asked for open markets by 24 h volume; the CLOB got every token in one batch
    assert gamma.calls[0].request.params["order"] == "volume24hr"
    assert gamma.calls[0].request.params["closed"] == "false"
    assert len(json.loads(clob.calls[0].request.body)) == 5
    assert [s.status for s in sources] == ["ok", "ok"]


@responses.activate
def test_slugs_are_asked_for_by_name() -> None:
    gamma = responses.get(f"{GAMMA}/markets", json=rows("binary_strings"))
    responses.post(f"{CLOB}/books", json=[])
    run(polymarket_run.Selection(("fed-cut-december", "other"), 10))
    assert "slug=fed-cut-december&slug=other" in gamma.calls[0].request.url


@responses.activate
def test_a_clob_failure_falls_back_to_gamma_prices() -> None:
    responses.get(f"{GAMMA}/markets", json=rows("binary_strings"))
    responses.post(f"{CLOB}/books", status=503)
    sent, sources, _ = run()
    assert [m.value["price"] for m in sent] == [0.615, 0.385]
    assert sources[1].status == "error" and sources[1].error == "HTTP 503"


@responses.activate
@pytest.mark.parametrize("answer", [{"status": 500}, {"json": {"error": "shape"}}, {"body": "<html>"}])
def test_a_gamma_failure_is_a_source_error_not_a_crash(answer: dict[str, Any]) -> None:
    responses.get(f"{GAMMA}/markets", **answer)
    sent, sources, counts = run()
    assert sent == [] and sources[0].status == "error" and counts["markets"] == 0


@pytest.mark.parametrize(
    ("detail", "expected"),
    [({}, ((), 50)), ({"slugs": ["a", "b"]}, (("a", "b"), 50)), ({"max_markets": 7}, ((), 7))],
)
def test_event_overrides(detail: dict[str, Any], expected: tuple[tuple[str, ...], int]) -> None:
    selection = polymarket_run.select({"detail": detail}, SETTINGS)
    assert (selection.slugs, selection.max_markets) == expected


@pytest.mark.parametrize("detail", [{"slugs": "a"}, {"max_markets": 0}, {"max_markets": "5"}, {"slugs": [""]}])
def test_bad_overrides_are_configuration_errors(detail: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match="detail"):
        polymarket_run.select({"detail": detail}, SETTINGS)
