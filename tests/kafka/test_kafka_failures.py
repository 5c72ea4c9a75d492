"""Failure paths on a real Apache Kafka broker, through tools/local/invoke.py: a wrong password, a
certificate the client must refuse, the broker killed (SIGKILL) in the middle of a run and
restarted on its data, the broker stopped between runs. Each ends in a clear error, leaks no
secret, marks nothing seen that was not acknowledged, and the next run delivers what is missing."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition
from kafka_runs import SecretsManager, assert_delivers_everything, invoke_rss, kafka_env, read_back

from tools.local.invocation import Result
from tools.services.fixture_server import FixtureServer
from tools.services.kafka import ApacheKafka

CLIENTS = ["confluent", "kafka-python"]
REFUSAL_BOUND_S = 20  # seconds for a whole refused run, interpreter start included; delivery times out at 60


def fresh_topic(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:8]}"


def assert_refused(run: Result, meaning: str, secrets: list[str], within_s: float = REFUSAL_BOUND_S) -> None:
    assert run.exit_code == 1 and run.value["errorType"] == "DeliveryError", run.log_text[-3000:]
    assert meaning in run.value["errorMessage"], run.log_text[-6000:]
    assert run.duration_s < within_s
    assert run.logged("run finished")["produced"] == 0
    for secret in secrets:
        assert secret not in run.text


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("mechanism,source", [("PLAIN", "env"), ("SCRAM-SHA-512", "secret")])
def test_a_wrong_password_fails_in_seconds_and_the_next_run_delivers(
    apache_kafka: ApacheKafka,
    feeds: FixtureServer,
    secrets_manager: SecretsManager,
    tmp_path: Path,
    client: str,
    mechanism: str,
    source: str,
) -> None:
    # Given the right user with a wrong password, from the environment or from Secrets Manager
    user = apache_kafka.users[mechanism]
    wrong = f"wrong-{uuid.uuid4().hex}"
    base = kafka_env(apache_kafka, "SASL_SSL", mechanism, client)
    feed_urls, topic, state = feeds.feed_urls(), fresh_topic("wrong-password"), tmp_path / "state.sqlite"
    if source == "secret":
        secret = {"username": user.username, "password": wrong}
        arn = secrets_manager.client.create_secret(Name=fresh_topic("bad"), SecretString=json.dumps(secret))["ARN"]  # type: ignore[attr-defined]
        bad, good = secrets_manager.env(arn), secrets_manager.env(secrets_manager.secret_ids[mechanism])
    else:
        bad = {"KAFKA_USERNAME": user.username, "KAFKA_PASSWORD": wrong}
        good = {"KAFKA_USERNAME": user.username, "KAFKA_PASSWORD": user.password}
    # When the handler runs with it
    run = invoke_rss(base | bad | {"FEED_URLS": ",".join(feed_urls), "KAFKA_TOPIC": topic}, state)
    # Then it fails within seconds, saying authentication failed, and neither password is in any output
    assert_refused(run, "authentication failed", [wrong, user.password])
    # And nothing was marked seen: the next run, with the right password, delivers every item
    assert_delivers_everything(apache_kafka, base | good | {"KAFKA_TOPIC": topic}, state, feed_urls)


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("case", ["an unrelated CA", "the system trust store", "another host name"])
def test_a_certificate_the_client_must_refuse_is_a_clear_tls_error(
    apache_kafka: ApacheKafka, feeds: FixtureServer, tmp_path: Path, client: str, case: str
) -> None:
    # Given the SSL listener with a CA that did not sign the broker's certificate, or a certificate
    # (from the right CA) for another host name
    good = kafka_env(apache_kafka, "SSL", None, client)
    bad = dict(good)
    if case == "an unrelated CA":
        bad["KAFKA_SSL_CA_LOCATION"] = apache_kafka.other_ca_file
    elif case == "the system trust store":
        del bad["KAFKA_SSL_CA_LOCATION"]
    else:
        bad["KAFKA_BOOTSTRAP_SERVERS"] = apache_kafka.wrong_host_ssl
    feed_urls, topic, state = feeds.feed_urls(), fresh_topic("tls"), tmp_path / "state.sqlite"
    # When the handler runs
    run = invoke_rss(bad | {"FEED_URLS": ",".join(feed_urls), "KAFKA_TOPIC": topic}, state)
    # Then it fails within seconds with a TLS error, and the next, right run delivers every item
    assert_refused(run, "TLS handshake failed", [])
    assert "certificate verify failed" in run.value["errorMessage"]
    assert_delivers_everything(apache_kafka, good | {"KAFKA_TOPIC": topic}, state, feed_urls)


# -- the broker goes away ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def many_feeds() -> Iterator[FixtureServer]:
    """Enough feeds, answering slowly enough, for a run that lasts several seconds."""
    with FixtureServer(latency_ms=150, synthetic_feeds=60, items=40) as server:
        yield server


def high_watermark(kafka: ApacheKafka, topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": kafka.plaintext, "group.id": "watermarks"})
    try:
        if topic not in consumer.list_topics(topic, timeout=2).topics:
            return 0
        return int(consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=2, cached=False)[1])
    except Exception:  # the topic is not created yet, or the broker is restarting
        return 0
    finally:
        consumer.close()


def kill_once_messages_land(kafka: ApacheKafka, topic: str, started: threading.Thread, at_least: int) -> int:
    """SIGKILL the broker once the topic holds at least `at_least` messages; returns how many it held.

    Not at the first message: the broker answers a connection's produce requests one at a time, so
    the first batch's acknowledgement may still be on its way when the kill comes, and a run could
    then have nothing acknowledged at all. Several batches later the first answers have been read."""
    end = time.monotonic() + 60
    while time.monotonic() < end and started.is_alive():
        landed = high_watermark(kafka, topic)
        if landed >= at_least:
            kafka.kill()
            return landed
        time.sleep(0.05)
    raise AssertionError(f"the run ended before {at_least} messages reached the broker")


def in_background(env: dict[str, str], state: Path) -> tuple[threading.Thread, dict[str, Result]]:
    outcome: dict[str, Result] = {}
    thread = threading.Thread(target=lambda: outcome.setdefault("run", invoke_rss(env, state, timeout_s=180)))
    thread.start()
    return thread, outcome


def per_run_counts(messages: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    """How often each key appears within each run (a run's messages share one fetched_at)."""
    return Counter((m["key"], m["value"]["fetched_at"]) for m in messages)


@pytest.mark.parametrize("client", CLIENTS)
def test_sigkill_mid_run_then_restart_while_the_producer_retries_duplicates_nothing(
    apache_kafka: ApacheKafka, many_feeds: FixtureServer, tmp_path: Path, client: str
) -> None:
    # Given a run of 2,400 messages under way
    topic = fresh_topic("sigkill-retry")
    feed_urls = many_feeds.synthetic_feed_urls()
    env = kafka_env(apache_kafka, "PLAINTEXT", None, client) | {"FEED_URLS": ",".join(feed_urls)}
    env |= {"KAFKA_TOPIC": topic, "FETCH_CONCURRENCY": "4"}
    run_thread, outcome = in_background(env, tmp_path / "state.sqlite")
    # When the broker is killed once messages land, and started again on its data while the run retries
    try:
        kill_once_messages_land(apache_kafka, topic, run_thread, at_least=1)
        time.sleep(1)
    finally:
        apache_kafka.restart()
    run_thread.join(180)
    run = outcome["run"]
    # Then the run delivered everything, and the log holds each message exactly once: the producer's
    # retries of batches the dead broker had written were recognised (idempotence on a real broker)
    expected = len(feed_urls) * many_feeds.items
    assert run.exit_code == 0, run.log_text[-3000:]
    assert run.value["produced"] == expected and run.value["failed"] == 0
    messages = read_back(apache_kafka, topic)
    counts = Counter(m["key"] for m in messages)
    assert len(counts) == expected and max(counts.values()) == 1, counts.most_common(3)


@pytest.mark.parametrize("client", CLIENTS)
def test_sigkill_mid_run_counts_only_acknowledged_and_the_rerun_completes(
    apache_kafka: ApacheKafka, many_feeds: FixtureServer, tmp_path: Path, client: str
) -> None:
    # Given a run under way that may wait at most 4 s for an acknowledgement
    topic, state = fresh_topic("sigkill"), tmp_path / "state.sqlite"
    feed_urls = many_feeds.synthetic_feed_urls()
    env = kafka_env(apache_kafka, "PLAINTEXT", None, client) | {"FEED_URLS": ",".join(feed_urls)}
    env |= {"KAFKA_TOPIC": topic, "FETCH_CONCURRENCY": "4", "KAFKA_DELIVERY_TIMEOUT_S": "4"}
    expected = len(feed_urls) * many_feeds.items
    run_thread, outcome = in_background(env, state)
    # When the broker is killed once a tenth of the messages landed, and comes back only after the run ended
    try:
        kill_once_messages_land(apache_kafka, topic, run_thread, at_least=expected // 10)
        run_thread.join(180)
    finally:
        apache_kafka.restart()
    first = outcome["run"]
    # Then the run raised DeliveryError, and its summary counts only what the broker acknowledged
    assert first.exit_code == 1 and first.value["errorType"] == "DeliveryError", first.log_text[-3000:]
    summary = first.logged("run finished")
    assert 0 < summary["produced"] < expected and summary["produced"] + summary["failed"] == expected
    on_topic = read_back(apache_kafka, topic)
    assert len(on_topic) >= summary["produced"]  # what was acknowledged survived the crash
    # When the function runs again on the same state
    second = invoke_rss(env | {"KAFKA_DELIVERY_TIMEOUT_S": "60"}, state, timeout_s=180)
    # Then it sends exactly what the first run did not get acknowledged (state advanced only for
    # that), every item is on the topic, and no run wrote any message twice
    assert second.exit_code == 0, second.log_text[-3000:]
    assert second.value["produced"] == expected - summary["produced"]
    messages = read_back(apache_kafka, topic)
    assert len({m["key"] for m in messages}) == expected
    assert max(per_run_counts(messages).values()) == 1


@pytest.mark.parametrize("client", CLIENTS)
def test_a_broker_stopped_between_runs_is_a_delivery_error_and_loses_nothing(
    apache_kafka: ApacheKafka, feeds: FixtureServer, tmp_path: Path, client: str
) -> None:
    # Given the broker stopped
    env = kafka_env(apache_kafka, "SASL_SSL", "SCRAM-SHA-256", client)
    user = apache_kafka.users["SCRAM-SHA-256"]
    env |= {"KAFKA_USERNAME": user.username, "KAFKA_PASSWORD": user.password, "KAFKA_DELIVERY_TIMEOUT_S": "5"}
    feed_urls, topic, state = feeds.feed_urls(), fresh_topic("stopped"), tmp_path / "state.sqlite"
    apache_kafka.stop()
    try:
        # When the handler runs
        run = invoke_rss(env | {"FEED_URLS": ",".join(feed_urls), "KAFKA_TOPIC": topic}, state)
    finally:
        apache_kafka.restart()
    # Then it raises DeliveryError within the delivery timeout, and the next run delivers every item
    assert_refused(run, "messages were not delivered", [user.password], within_s=30)
    assert_delivers_everything(apache_kafka, env | {"KAFKA_TOPIC": topic}, state, feed_urls)
