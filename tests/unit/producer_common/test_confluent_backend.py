"""ConfluentBackend's accounting: one callback for every message, reports matched to sequence numbers."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from confluent_kafka import KafkaError
from producer_common import KafkaSettings
from producer_common.backends.base import NOT_ACKNOWLEDGED
from producer_common.backends.confluent import ConfluentBackend


def report(key: bytes) -> Any:
    """What librdkafka hands the delivery callback: here only the key matters."""
    return SimpleNamespace(key=lambda: key)


def backend() -> tuple[Any, dict[int, str | None]]:
    """A backend and what it settled, by sequence number; nothing listens on port 9, so messages stay
    queued until the test reports them."""
    settled: dict[int, str | None] = {}
    settings = KafkaSettings.from_env({"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9", "KAFKA_TOPIC": "t"})
    return ConfluentBackend(settings, None, 5.0, settled.setdefault), settled


def test_reports_for_a_repeated_key_settle_its_messages_oldest_first() -> None:
    b, settled = backend()
    for sequence, key in enumerate([b"a", b"b", b"a", b"a"]):
        b.produce("t", key, b"{}", [], sequence)
    b._on_delivery(None, report(b"a"))
    b._on_delivery(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE), report(b"a"))
    b._on_delivery(None, report(b"b"))
    assert settled == {0: None, 2: KafkaError(KafkaError.MSG_SIZE_TOO_LARGE).str(), 1: None}
    b._on_delivery(KafkaError(KafkaError._PURGE_QUEUE), report(b"a"))
    assert settled[3] == NOT_ACKNOWLEDGED
    assert b._waiting == {}  # nothing left waiting once every message has its report
    b._producer.purge()


def test_close_reports_what_is_still_queued_as_not_acknowledged() -> None:
    b, settled = backend()
    for sequence in range(5):
        b.produce("t", f"k{sequence % 2}".encode(), b"{}", [], sequence)
    b.close(1.0)
    assert settled == dict.fromkeys(range(5), NOT_ACKNOWLEDGED)


def test_a_report_for_an_unknown_message_changes_nothing() -> None:
    b, settled = backend()
    b._on_delivery(None, report(b"never-sent"))
    assert settled == {}
