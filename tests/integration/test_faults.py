"""Failures that must stay visible and recoverable: secrets never leak, credentials errors are clear,
a run near its timeout stops in time, and a broker lost mid-run advances state only for what it acknowledged."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import rss_fetch
import rss_run
from moto import mock_aws
from producer_common import CredentialsError, Deadline, DeliveryError, KafkaSettings, open_producer
from producer_common.credentials import clear_cache
from producer_common.state.sqlite import SqliteStateStore
from rss_outcome import RssRun
from rss_transfers import Transfers

from tools.local.handler import LambdaContext, load_event, load_handler
from tools.services.broker import EmbeddedBroker
from tools.services.fixture_server import FixtureServer

USERNAME, PASSWORD = "svc-producer-7f3a", "pa55-Zq81-never-log-me"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    clear_cache()
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="us-east-1")
    clear_cache()


@pytest.mark.parametrize("client", ["confluent", "kafka-python"])
def test_credentials_never_reach_any_output(
    broker: EmbeddedBroker,
    feed_server: str,
    aws: object,
    client: str,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    # Given SASL/SCRAM credentials in Secrets Manager, DEBUG logging everywhere (as Lambda's root
    # handler at DEBUG would give), and a broker that cannot complete the SASL_SSL handshake
    arn = aws.create_secret(Name="kafka", SecretString=json.dumps({"username": USERNAME, "password": PASSWORD}))["ARN"]  # type: ignore[attr-defined]
    for name, value in {
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
        "KAFKA_CLIENT": client,
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_SECRET_ID": arn,
        "LOG_LEVEL": "DEBUG",
        "KAFKA_DELIVERY_TIMEOUT_S": "3",
        "FEED_URLS": f"{feed_server}/world.xml",
    }.items():
        monkeypatch.setenv(name, value)
    logging.basicConfig(level=logging.DEBUG, force=True)
    try:
        # When a run fails to deliver
        with pytest.raises(DeliveryError) as failure:
            load_handler("rss_producer").lambda_handler(load_event("schedule.json"), LambdaContext())
    finally:
        # kafka-python may leave its stuck connection attempt running: keep its later lines off the
        # captured stream that closes with this test
        logging.root.handlers.clear()
        logging.root.setLevel(logging.WARNING)
    # Then neither the username nor the password is in any output, nor in the error
    out, err = capfd.readouterr()
    everything = out + err + str(failure.value) + repr(failure.value)
    assert "messages were not delivered" in everything
    assert PASSWORD not in everything and USERNAME not in everything


def test_a_missing_secret_is_a_clear_error_without_a_retry_storm(
    aws: object, feed_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    for name, value in {
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": "PLAIN",
        "KAFKA_SECRET_ID": "prod/kafka/missing",
        "FEED_URLS": f"{feed_server}/world.xml",
    }.items():
        monkeypatch.setenv(name, value)
    original = boto3.client

    def counting_client(*args: object, **kwargs: object) -> object:
        made = original(*args, **kwargs)  # type: ignore[call-overload]
        made.meta.events.register("before-call.secrets-manager.GetSecretValue", lambda **_: calls.append("call"))
        return made

    monkeypatch.setattr(boto3, "client", counting_client)
    started = time.monotonic()
    with pytest.raises(CredentialsError, match="'prod/kafka/missing'.*ResourceNotFoundException"):
        load_handler("rss_producer").lambda_handler(load_event("schedule.json"), LambdaContext())
    assert calls == ["call"] and time.monotonic() - started < 5


def test_a_run_near_its_timeout_stops_starting_work_and_returns_in_time(
    broker: EmbeddedBroker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given 40 feeds answering after a second each, 4 at a time, and a 12 s Lambda with a 3 s flush margin
    with FixtureServer(latency_ms=1000, synthetic_feeds=40, items=5) as slow:
        for name, value in {
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
            "KAFKA_TOPIC": f"late-{uuid.uuid4().hex[:6]}",
            "FEED_URLS": ",".join(slow.synthetic_feed_urls()),
            "FETCH_CONCURRENCY": "4",
            "FETCH_TIMEOUT_S": "2",
            "KAFKA_FLUSH_MARGIN_S": "3",
            "STATE_PATH": str(tmp_path / "s.sqlite"),
        }.items():
            monkeypatch.setenv(name, value)
        context = LambdaContext(timeout_s=12)
        summary = load_handler("rss_producer").lambda_handler(load_event("schedule.json"), context)
    # Then it returned with time to spare, reporting the feeds it did not start, delivering the rest
    assert context.get_remaining_time_in_millis() > 2000
    skipped = [s for s in summary["sources"] if s["error"] == rss_run.SKIPPED]
    fetched = [s for s in summary["sources"] if s["status"] == "ok"]
    assert skipped and fetched and len(skipped) + len(fetched) == 40
    assert summary["status"] == "partial" and summary["produced"] == 5 * len(fetched) and summary["failed"] == 0


def test_a_broker_lost_mid_run_advances_state_only_for_what_it_acknowledged(tmp_path: Path) -> None:
    # Given a broker of our own, two feeds, and a real state store
    with FixtureServer(synthetic_feeds=2, items=10) as feeds:
        own = EmbeddedBroker(log_path=tmp_path / "tansu.log").start()
        first, second = feeds.synthetic_feed_urls()
        state = SqliteStateStore(str(tmp_path / "state.sqlite"), ttl_s=86_400)
        settings = KafkaSettings.from_env(
            {"KAFKA_BOOTSTRAP_SERVERS": own.bootstrap, "KAFKA_TOPIC": "midrun", "KAFKA_DELIVERY_TIMEOUT_S": "3"}
        )
        fetcher = rss_fetch.Fetcher(Transfers("test"), timeout_s=2)
        try:
            with open_producer(settings, Deadline(fallback_s=30)) as producer:
                # When the first feed's items are acknowledged, then the broker goes away
                one = rss_run.produce_feeds([first], fetcher, state, producer.send, "t", Deadline(fallback_s=30))
                producer.flush()
                own.stop()
                two = rss_run.produce_feeds([second], fetcher, state, producer.send, "t", Deadline(fallback_s=30))
        finally:
            own.stop()
        run = RssRun(one.feeds + two.feeds)
        rss_run.record_delivery(run, producer.report, state)
    # Then exactly the first feed's items were acknowledged and the second feed's failed, none lost from the account
    report = producer.report
    assert len(report.acknowledged) == 10 and set(report.acknowledged) == set(one.feeds[0].sent_ids)
    assert len(report.failed) == 10 and {f.ref for f in report.failed} == set(two.feeds[0].sent_ids)
    # and the first feed's items and validators are recorded, the second feed's are not
    assert set(state.seen(one.feeds[0].sent_ids)) == set(one.feeds[0].sent_ids)
    assert state.seen(two.feeds[0].sent_ids) == {}
    assert set(state.validators([first, second])) == {first}
