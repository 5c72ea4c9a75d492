"""MessageProducer: every message ends acknowledged or failed, and the client is always closed."""

from __future__ import annotations

import json
import time

import pytest
from producer_common import Deadline, OutgoingMessage, ProducerError
from producer_common.producer import NOT_ACKNOWLEDGED, MessageProducer, is_permanent

from tests.unit.producer_common.fakes import FakeBackend, factory


def message(key: str, **value: object) -> OutgoingMessage:
    return OutgoingMessage(key, {"id": key, **value}, {"schema": "test/1", "source": "unit"})


def test_messages_are_reported_acknowledged_in_order_or_failed_with_their_reason_and_sent_as_json() -> None:
    # Given a backend that fails "b" and acknowledges the others
    backend = FakeBackend(fail={b"b": "Broker: simulated failure"})
    # When three messages are sent and the producer closes
    with MessageProducer(factory(backend), "topic-a", Deadline(fallback_s=30)) as producer:
        for key in ("a", "b", "c"):
            producer.send(message(key, n=1))
    # Then "a" and "c" are acknowledged, "b" named with its reason
    assert producer.report.acknowledged == ("a", "c") and not producer.report.ok
    assert [(f.ref, f.reason) for f in producer.report.failed] == [("b", "Broker: simulated failure")]
    # and the wire format is JSON with string headers
    first = backend.produced[0]
    assert (first.topic, first.key) == ("topic-a", b"a")
    assert json.loads(first.value) == {"id": "a", "n": 1}
    assert first.headers == [("schema", b"test/1"), ("source", b"unit")]
    assert backend.closed


def test_unsettled_messages_fail_at_the_deadline_and_flush_is_bounded() -> None:
    # Given a broker that never answers and 2 s left, 1.5 s of which is safety margin
    backend = FakeBackend(hold=True)
    deadline = Deadline(remaining_ms=lambda: 2000, margin_s=1.5)
    # When messages are sent
    with MessageProducer(factory(backend), "t", deadline) as producer:
        producer.send(message("a"))
        producer.send(message("b"))
    # Then flush waited no longer than the time left less the margin, and both failed
    assert backend.flush_timeouts == [pytest.approx(0.5)]
    assert [f.reason for f in producer.report.failed] == [NOT_ACKNOWLEDGED, NOT_ACKNOWLEDGED]
    assert backend.closed


def test_producer_is_closed_and_accounted_when_the_caller_raises() -> None:
    backend = FakeBackend()
    producer = MessageProducer(factory(backend), "t", Deadline(fallback_s=30))
    with pytest.raises(RuntimeError, match="boom"), producer:
        producer.send(message("a"))
        raise RuntimeError("boom")
    assert backend.closed
    assert producer.report.acknowledged == ("a",)


def test_a_client_that_cannot_start_fails_every_message_without_raising() -> None:
    def broken(_settle: object) -> FakeBackend:
        raise ConnectionError("no brokers")

    with MessageProducer(broken, "t", Deadline(fallback_s=30)) as producer:
        producer.send(message("a"))
        producer.send(message("b"))
    assert producer.report.acknowledged == ()
    assert all("no brokers" in f.reason for f in producer.report.failed)
    assert len(producer.report.failed) == 2


def test_a_produce_timeout_stops_further_attempts() -> None:
    class KafkaTimeoutError(Exception):
        pass

    backend = FakeBackend(raise_on_produce=KafkaTimeoutError("metadata not available"))
    with MessageProducer(factory(backend), "t", Deadline(fallback_s=30)) as producer:
        started = time.monotonic()
        for key in "abcde":
            producer.send(message(key))
    assert len(producer.report.failed) == 5
    assert time.monotonic() - started < 1


def test_messages_sent_after_the_deadline_fail_immediately() -> None:
    backend = FakeBackend()
    with MessageProducer(factory(backend), "t", Deadline(remaining_ms=lambda: 0)) as producer:
        producer.send(message("late"))
    assert backend.produced == []
    assert producer.report.failed[0].reason == NOT_ACKNOWLEDGED


def test_report_before_close_and_send_after_close_are_errors() -> None:
    producer = MessageProducer(factory(FakeBackend()), "t", Deadline(fallback_s=30))
    with pytest.raises(ProducerError):
        _ = producer.report
    producer.close()
    producer.close()  # twice is harmless
    with pytest.raises(ProducerError):
        producer.send(message("a"))


def test_values_that_are_not_json_are_refused_before_queueing() -> None:
    backend = FakeBackend()
    with MessageProducer(factory(backend), "t", Deadline(fallback_s=30)) as producer, pytest.raises(ValueError):
        producer.send(message("nan", price=float("nan")))
    assert backend.produced == [] and producer.report.acknowledged == ()


def test_late_callbacks_after_close_change_nothing() -> None:
    backend = FakeBackend(hold=True)
    with MessageProducer(factory(backend), "t", Deadline(remaining_ms=lambda: 100)) as producer:
        producer.send(message("a"))
    assert backend.settle is not None
    backend.settle(backend.pending[0][1], None)  # the broker answers after the account was closed
    assert producer.report.failed[0].ref == "a"


def test_what_settles_is_handed_out_once_as_the_run_goes() -> None:
    # Given a producer with three messages sent, two of them settled by a flush
    backend = FakeBackend(fail={b"b": "Broker: simulated failure"})
    with MessageProducer(factory(backend), "t", Deadline(fallback_s=30)) as producer:
        producer.send(message("a"))
        producer.send(message("b"))
        assert producer.take_settled() == []  # nothing settled yet (the fake settles on flush)
        producer.flush()
        producer(message("c"))  # a producer is a Send
        # When what settled is taken, twice
        first, second = producer.take_settled(), producer.take_settled()
    # Then each settled message comes once, with its outcome; the report stays the final word
    assert first == [("a", None), ("b", "Broker: simulated failure")] and second == []
    assert producer.report.acknowledged == ("a", "c")


@pytest.mark.parametrize(
    ("reason", "permanent"),
    [
        ("Broker: Message size too large", True),
        ('KafkaError{code=MSG_SIZE_TOO_LARGE,val=10,str="Broker: Message size too large"}', True),
        ("MessageSizeTooLargeError: The message is 1200000 bytes when serialized", True),
        ("RecordListTooLargeError: [Error 18]", True),
        ("Broker: Broker failed to validate record", True),
        ("Local: Message timed out", False),
        (NOT_ACKNOWLEDGED, False),
        ("Kafka client could not start: KafkaException: ...", False),
        ("Broker: Topic authorization failed", False),
    ],
)
def test_permanent_failures_are_the_ones_no_retry_mends(reason: str, permanent: bool) -> None:
    assert is_permanent(reason) is permanent
