"""What ran librdkafka's producer id request, read from its own debug log (issue 12).

librdkafka's idempotent producer asks for its producer id whenever a metadata answer arrives and
otherwise on a fixed 500 ms timer. Since librdkafka 2.10 the first answer comes over a bootstrap
connection being closed, so without a later answer the id, and every message, waits for that
timer. The line librdkafka's main thread writes just before "Acquiring ProducerId" says which.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from producer_common import Deadline, KafkaSettings, OutgoingMessage, open_producer
from producer_common.backends import confluent

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
