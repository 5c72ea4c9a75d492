"""One message through the confluent backend on the embedded broker waits on no librdkafka timer.

librdkafka's idempotent producer asks for its producer id whenever a metadata answer arrives and
otherwise on a fixed 500 ms timer. Since librdkafka 2.10 the first answer comes over a bootstrap
connection being closed, so without a later answer the id, and every message, waits for that timer
(issue 12). These tests read librdkafka's own debug log rather than a clock: the line librdkafka's
main thread writes just before "Acquiring ProducerId" says what ran the request.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from producer_common import Deadline, KafkaSettings, OutgoingMessage, open_producer
from producer_common.backends import confluent

from tools.broker import EmbeddedBroker

MAIN_THREAD = "[thrd:main]"
ACQUIRING = "Acquiring ProducerId"


def what_ran_the_producer_id_request(lines: list[str]) -> str:
    """The main thread's line before "Acquiring ProducerId": a metadata answer's, or the timer's."""
    main = [line for line in lines if MAIN_THREAD in line]
    acquiring = [i for i, line in enumerate(main) if ACQUIRING in line]
    assert len(acquiring) == 1, "expected one producer id request:\n" + "\n".join(main)
    before = main[acquiring[0] - 1]
    # Each metadata answer runs the request; a run that finds no broker up starts the timer and
    # logs so, and the next run, by the timer, then follows that line.
    if before.startswith("METADATA "):
        return "metadata answer"
    if "Starting PID FSM timer" in before:
        return "timer"
    raise AssertionError(f"unexpected line before {ACQUIRING!r}: {before}")


def send_one(
    bootstrap: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[str], Any]:
    """Open the producer, send one message, flush and close it, with librdkafka's eos and metadata
    debug contexts routed to the backend's logger."""
    real_config = confluent.producer_config

    def with_debug(*args: Any) -> dict[str, Any]:
        return {**real_config(*args), "debug": "eos,metadata"}

    monkeypatch.setattr(confluent, "producer_config", with_debug)
    topic = f"no-timer-{uuid.uuid4().hex[:8]}"
    settings = KafkaSettings.from_env({"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "KAFKA_TOPIC": topic})
    with caplog.at_level(logging.DEBUG, logger=confluent.log.name):
        # The topic exists first: on a new topic, the leader's metadata comes late and hides the wait.
        with open_producer(settings, Deadline(fallback_s=30)) as producer:
            producer.send(OutgoingMessage("create", {"n": 0}))
        caplog.clear()
        with open_producer(settings, Deadline(fallback_s=30)) as producer:
            producer.send(OutgoingMessage("key", {"n": 1}))
    lines = [record.getMessage() for record in caplog.records if record.name == confluent.log.name]
    return lines, producer.report


def test_one_message_gets_its_producer_id_from_a_metadata_answer(
    broker: EmbeddedBroker, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # When one message is sent, flushed and closed
    lines, report = send_one(broker.bootstrap, caplog, monkeypatch)
    # Then it was delivered, and the producer id came with a metadata answer, not after a timer
    assert report.ok and report.acknowledged == ("key",)
    assert what_ran_the_producer_id_request(lines) == "metadata answer"


def test_without_asking_for_metadata_librdkafka_waits_for_its_timer(
    broker: EmbeddedBroker, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Why the backend asks: the same run without it waits for the timer. When a librdkafka
    release asks again by itself once the new connection is up, this fails: the backend's
    metadata request (ConfluentBackend._meet_producer_id_broker) may then go."""
    # Given a backend that does not ask for metadata before it flushes
    monkeypatch.setattr(confluent.ConfluentBackend, "_meet_producer_id_broker", lambda self, end: None)
    # When one message is sent, flushed and closed
    lines, report = send_one(broker.bootstrap, caplog, monkeypatch)
    # Then it was delivered, but only once the timer had run the producer id request
    assert report.ok
    assert what_ran_the_producer_id_request(lines) == "timer"
