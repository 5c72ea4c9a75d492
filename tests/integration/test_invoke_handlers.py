"""`make invoke` for both functions, as a user runs it: the fixture server, the embedded broker,
the template's environment with the caller's variables on top."""

from __future__ import annotations

import re
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.local.invocation import Result, run
from tools.services.broker import EmbeddedBroker, free_port, read_topic
from tools.services.fixture_server import FixtureServer


@pytest.fixture(scope="module")
def sources() -> Iterator[FixtureServer]:
    with FixtureServer() as server:
        yield server


def invoke(function: str, env: dict[str, str]) -> Result:
    """The function run with events/schedule.json, on a fresh SQLite state file of its own."""
    state = {"STATE_PATH": str(Path(tempfile.gettempdir()) / f"test-state-{uuid.uuid4().hex}.sqlite")}
    return run(function, state | env, timeout_s=120)


def test_rss_function_writes_one_message_per_item(broker: EmbeddedBroker, sources: FixtureServer) -> None:
    # Given FEED_URLS and KAFKA_BOOTSTRAP_SERVERS in the caller's environment
    topic = f"invoke-rss-{uuid.uuid4().hex[:6]}"
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
        "FEED_URLS": ",".join(sources.feed_urls()),
        "KAFKA_TOPIC": topic,
    }
    # When the function is invoked with the scheduled event
    done = invoke("RssProducerFunction", env)
    # Then every distinct item of every served feed is on the topic, and stdout's last line is the summary
    # (70 entries in tests/fixtures/feeds, each a different item: atom_duplicates.xml lists incident 41
    # twice, as reported and as resolved, under one id; both are sent, and nothing is a duplicate)
    expected, summary = 70, done.value
    assert done.exit_code == 0, done.log_text[-2000:]
    assert summary["status"] == "ok" and summary["produced"] == expected and summary["failed"] == 0
    assert summary["duplicates"] == 0
    assert len(summary["sources"]) == len(sources.feed_urls())
    assert len(read_topic(broker.bootstrap, topic)) == expected
    assert '"correlation_id":"cdc73f9d-aea9-11e3-9d5a-835b769c0d9c"' in done.log_text  # the event's id


def test_polymarket_function_writes_one_message_per_token(broker: EmbeddedBroker, sources: FixtureServer) -> None:
    topic = f"invoke-pm-{uuid.uuid4().hex[:6]}"
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
        "KAFKA_TOPIC": topic,
        "POLYMARKET_GAMMA_URL": f"{sources.url}/gamma",
        "POLYMARKET_CLOB_URL": f"{sources.url}/clob",
    }
    done = invoke("PolymarketProducerFunction", env)
    open_markets, summary = [m for m in sources.data.markets if m["active"] and not m["closed"]], done.value
    assert done.exit_code == 0, done.log_text[-2000:]
    assert summary["markets"] + summary["skipped_markets"] == len(open_markets)
    assert summary["skipped_markets"] == 1  # Lakers playoffs (token ids cut off); Eiffel Tower's 1.7 costs one fallback
    messages = read_topic(broker.bootstrap, topic)
    assert len(messages) == summary["produced"] > 0
    value = messages[0]["value"]
    assert messages[0]["key"] == value["token_id"] and value["schema"] == "polymarket_price/2"
    assert isinstance(value["price"], float) and isinstance(value["liquidity"], float)


def test_an_invalid_setting_fails_at_start_naming_the_variable(broker: EmbeddedBroker) -> None:
    env = {"KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "FETCH_CONCURRENCY": "lots"}
    done = invoke("RssProducerFunction", env)
    error = done.value
    assert done.exit_code == 1
    assert error["errorType"] == "ConfigurationError" and error["errorMessage"].startswith("FETCH_CONCURRENCY")


@pytest.mark.parametrize("client", ["confluent", "kafka-python"])
def test_a_broker_that_cannot_be_reached_ends_the_run_in_seconds_naming_it(sources: FixtureServer, client: str) -> None:
    # Given feeds that answer, and a bootstrap address where no broker listens
    bootstrap = f"127.0.0.1:{free_port()}"
    env = {"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "KAFKA_CLIENT": client, "FEED_URLS": sources.feed_urls()[0]}

    # When the function is invoked
    done = invoke("RssProducerFunction", env)

    # Then it raises (Lambda retries) within seconds, saying which address could not be reached and why
    error = done.value
    assert done.exit_code == 1, done.log_text[-2000:]
    assert error["errorType"] == "DeliveryError"
    assert re.match(r"(\d+) of \1 messages were not delivered", error["errorMessage"])
    assert f"no Kafka broker reachable at {bootstrap}" in error["errorMessage"]
    assert "refused" in error["errorMessage"].lower() or "ECONNREFUSED" in error["errorMessage"]
    assert done.duration_s < 10, f"{done.duration_s:.1f} s"


def test_a_run_in_which_every_source_failed_is_an_error_naming_each_host(broker: EmbeddedBroker) -> None:
    # Given feeds on two loopback addresses where nothing listens (as with no network at all)
    port = free_port()
    feeds = [f"http://127.0.0.2:{port}/a.xml", f"http://127.0.0.3:{port}/b.xml"]
    env = {"KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "FEED_URLS": ",".join(feeds)}

    # When the function is invoked
    done = invoke("RssProducerFunction", env)

    # Then the run is an error (not partial), and each source says which host refused
    summary = done.value
    assert done.exit_code == 0, done.log_text[-2000:]
    assert (summary["status"], summary["produced"]) == ("error", 0)
    assert [source["error"] for source in summary["sources"]] == [
        "connection refused by 127.0.0.2",
        "connection refused by 127.0.0.3",
    ]
