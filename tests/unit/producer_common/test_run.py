"""deliver_run: the summary on success, DeliveryError when the broker did not acknowledge."""

from __future__ import annotations

from typing import Any

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


def deliver(work: Any, backend: FakeBackend | None = None) -> dict[str, Any]:
    metrics = Metrics(namespace="T", service="u")
    return deliver_run("rss", SETTINGS, LambdaContext(), metrics, work, factory(backend or FakeBackend()))


def test_summary_counts_only_acknowledged_messages() -> None:
    sources = [SourceResult("s1", "ok", items=2, new=2), SourceResult("s2", "not_modified")]
    summary = deliver(work_sending(["a", "b"], sources))
    expected = {"function": "rss", "status": "ok", "produced": 2, "failed": 0, "duplicates": 2}
    assert {k: summary[k] for k in expected} == expected
    assert summary["sources"][1] == {"source": "s2", "status": "not_modified", "items": 0, "new": 0, "error": None}
    assert isinstance(summary["duration_ms"], int)
    assert list(summary)[-1] == "duration_ms"


@pytest.mark.parametrize(
    ("keys", "sources", "status"),
    [
        (["a"], [SourceResult("s1", "ok", 1, 1), SourceResult("s2", "error", error="HTTP 500")], "partial"),
        # every source failed and nothing was produced: an error, not partial
        ([], [SourceResult("s1", "error", error="refused"), SourceResult("s2", "error", error="no DNS")], "error"),
    ],
    ids=["one-source-failed", "every-source-failed"],
)
def test_source_errors_set_the_run_status(keys: list[str], sources: list[SourceResult], status: str) -> None:
    # Given sources of which some or all failed; When the run ends
    summary = deliver(work_sending(keys, sources))
    # Then its status says so
    assert (summary["status"], summary["produced"]) == (status, len(keys))


@pytest.mark.parametrize(
    "fail",
    [
        {b"b": "Local: Message timed out"},
        # "a" refused for good beside "b" timed out: a later run may deliver "b"
        {b"a": "Broker: Message size too large", b"b": "Local: Message timed out"},
    ],
    ids=["transient", "transient-beside-permanent"],
)
def test_undelivered_messages_raise_after_the_producer_closed(fail: dict[bytes, str]) -> None:
    backend = FakeBackend(fail=fail)
    with pytest.raises(DeliveryError, match=f"{len(fail)} of 2 messages were not delivered"):
        deliver(work_sending(["a", "b"], []), backend)
    assert backend.closed


def test_work_that_raises_still_closes_the_producer() -> None:
    backend = FakeBackend()

    def work(send, _deadline):  # type: ignore[no-untyped-def]
        send(OutgoingMessage("a", {}))
        raise KeyError("bug")

    with pytest.raises(KeyError):
        deliver(work, backend)
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
    backend = FakeBackend(fail={b"b": reason})
    # When the run ends
    summary = deliver(work_sending(["a", "b"], [SourceResult("s1", "ok", 2, 2)]), backend)
    # Then it returns (Lambda would retry a run that fails the same way forever), counting the failure
    assert (summary["status"], summary["produced"], summary["failed"]) == ("partial", 1, 1)
