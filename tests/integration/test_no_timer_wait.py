"""One message through the confluent backend on the embedded broker waits on no librdkafka timer (issue 12).

Why a timer could run the producer id request, and how its debug log tells: tests/support/timer_waits.py.
"""

from __future__ import annotations

import pytest
from producer_common.backends import confluent

from tests.support.timer_waits import send_one, what_ran_the_producer_id_request
from tools.services.broker import EmbeddedBroker


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
