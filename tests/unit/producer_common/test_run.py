"""deliver_run: the summary on success, DeliveryError when the broker did not acknowledge."""

from __future__ import annotations

import pytest
from aws_lambda_powertools import Metrics
from producer_common import DeliveryError, KafkaSettings, OutgoingMessage, SourceResult
from producer_common.run import deliver_run

from tests.unit.producer_common.fakes import FakeBackend, factory
from tools.local.handler import LambdaContext

SETTINGS = KafkaSettings.from_env({"KAFKA_BOOTSTRAP_SERVERS": "b:9092", "KAFKA_FLUSH_MARGIN_S": "1"}, "t")


def work_sending(keys: list[str], sources: list[SourceResult]):  # type: ignore[no-untyped-def]
    def work(send, _deadline):  # type: ignore[no-untyped-def]
        for key in keys:
            send(OutgoingMessage(key, {"k": key}))
        return sources, {"duplicates": 2}

    return work


def test_summary_counts_only_acknowledged_messages(capsys: pytest.CaptureFixture[str]) -> None:
    backend = FakeBackend()
    metrics = Metrics(namespace="Test", service="unit")
    sources = [SourceResult("s1", "ok", items=2, new=2), SourceResult("s2", "not_modified")]
    summary = deliver_run(
        "rss",
        SETTINGS,
        LambdaContext(),
        metrics,
        work_sending(["a", "b"], sources),
        backend_factory=factory(backend),
    )
    assert {k: summary[k] for k in ("function", "status", "produced", "failed", "duplicates")} == {
        "function": "rss",
        "status": "ok",
        "produced": 2,
        "failed": 0,
        "duplicates": 2,
    }
    assert summary["sources"][1] == {"source": "s2", "status": "not_modified", "items": 0, "new": 0, "error": None}
    assert isinstance(summary["duration_ms"], int)
    assert list(summary)[-1] == "duration_ms"


def test_a_source_error_makes_the_run_partial() -> None:
    sources = [SourceResult("s1", "ok", 1, 1), SourceResult("s2", "error", error="HTTP 500")]
    summary = deliver_run(
        "rss",
        SETTINGS,
        LambdaContext(),
        Metrics(namespace="T", service="u"),
        work_sending(["a"], sources),
        backend_factory=factory(FakeBackend()),
    )
    assert summary["status"] == "partial"


def test_a_run_whose_every_source_failed_is_an_error() -> None:
    # Given two sources that both failed (no network: every fetch a connection error)
    sources = [
        SourceResult("s1", "error", error="connection refused by example.org"),
        SourceResult("s2", "error", error="DNS look-up failed for example.net"),
    ]

    # When the run ends
    summary = deliver_run(
        "rss",
        SETTINGS,
        LambdaContext(),
        Metrics(namespace="T", service="u"),
        work_sending([], sources),
        backend_factory=factory(FakeBackend()),
    )

    # Then it says error, not partial (nothing was produced from any source)
    assert (summary["status"], summary["produced"]) == ("error", 0)


def test_undelivered_messages_raise_after_the_producer_closed() -> None:
    backend = FakeBackend(fail_keys={b"b"})
    with pytest.raises(DeliveryError, match="1 of 2 messages were not delivered"):
        deliver_run(
            "rss",
            SETTINGS,
            LambdaContext(),
            Metrics(namespace="T", service="u"),
            work_sending(["a", "b"], []),
            backend_factory=factory(backend),
        )
    assert backend.closed


def test_work_that_raises_still_closes_the_producer() -> None:
    backend = FakeBackend()

    def work(send, _deadline):  # type: ignore[no-untyped-def]
        send(OutgoingMessage("a", {}))
        raise KeyError("bug")

    with pytest.raises(KeyError):
        deliver_run(
            "rss",
            SETTINGS,
            LambdaContext(),
            Metrics(namespace="T", service="u"),
            work,
            backend_factory=factory(backend),
        )
    assert backend.closed and backend.pending == []


@pytest.mark.parametrize(
    "reason",
    [
        "Broker: Message size too large",  # librdkafka, the broker's MSG_SIZE_TOO_LARGE
        'KafkaException: KafkaError{code=MSG_SIZE_TOO_LARGE,val=10,str="Message size too large"}',  # before sending
        "MessageSizeTooLargeError: [Error 10] MessageSizeTooLargeError",  # kafka-python
        "Broker: Broker failed to validate record",  # INVALID_RECORD
    ],
)
def test_a_run_whose_only_failures_are_permanent_returns_and_reports_them(reason: str) -> None:
    # Given a broker that refuses one message for good (too large), and acknowledges the other
    backend = FakeBackend(fail_keys={b"b"}, fail_reason=reason)
    # When the run ends
    summary = deliver_run(
        "rss",
        SETTINGS,
        LambdaContext(),
        Metrics(namespace="T", service="u"),
        work_sending(["a", "b"], [SourceResult("s1", "ok", 2, 2)]),
        backend_factory=factory(backend),
    )
    # Then it returns (Lambda would retry a run that fails the same way forever), counting the failure
    assert (summary["status"], summary["produced"], summary["failed"]) == ("partial", 1, 1)


def test_a_transient_failure_beside_a_permanent_one_still_raises() -> None:
    # Given a broker that refuses "a" for good and times "b" out
    backend = FakeBackend(fail_keys={b"a", b"b"}, fail_reason="Local: Message timed out")

    def work(send, _deadline):  # type: ignore[no-untyped-def]
        send(OutgoingMessage("a", {}))
        send(OutgoingMessage("b", {}))
        return [], {}

    def both(settle):  # type: ignore[no-untyped-def]
        def mixed(sequence: int, reason: str | None) -> None:  # the fake fails both with one reason
            settle(sequence, "Broker: Message size too large" if sequence == 0 else reason)

        backend.settle = mixed
        return backend

    # When the run ends, Then it raises: a later run may deliver "b"
    with pytest.raises(DeliveryError, match="2 of 2 messages were not delivered"):
        deliver_run("rss", SETTINGS, LambdaContext(), Metrics(namespace="T", service="u"), work, both)
    assert backend.closed
