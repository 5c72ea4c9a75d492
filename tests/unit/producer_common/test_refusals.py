"""Refusals end a run early: what each backend reads as one, and librdkafka's repeated lines."""

from __future__ import annotations

import logging

import pytest
from producer_common.backends import confluent
from producer_common.backends.kafka_python import _BootstrapRefusal, _listening

LOST = "Connection lost: KafkaConnectionError: socket disconnected"


def record(message: str, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord("kafka.net.manager", level, __file__, 1, message, None, None)


@pytest.mark.parametrize(
    ("lines", "reason"),
    [
        (
            ["<KafkaSSLTransport>: Abort ([Error 58] SaslAuthenticationFailedError: Authentication failed: bad)"],
            "authentication failed: SaslAuthenticationFailedError: Authentication failed: bad",
        ),
        (
            ["Bootstrap connection to b-0 failed: KafkaConnectionError: Handshake failed: [SSL] x (backoff 0.05 secs)"],
            "TLS handshake failed: Handshake failed: [SSL] x",
        ),
        (
            [f"<KafkaConnection broker_version=(4, 1) (disconnected)>: {LOST}"] * 2,
            "authentication failed: the broker closed the connection during SASL authentication",
        ),
    ],
)
def test_kafka_python_refusals_are_read_from_its_bootstrap_log(lines: list[str], reason: str) -> None:
    refusal = _BootstrapRefusal(sasl=True)
    for line in lines:
        refusal.emit(record(line))
    assert refusal.reason == reason and refusal.seen.is_set()


def test_one_disconnect_or_one_before_the_version_exchange_is_no_refusal() -> None:
    refusal = _BootstrapRefusal(sasl=True)
    refusal.emit(record(f"<KafkaConnection broker_version=(4, 1)>: {LOST}"))
    refusal.emit(record(f"<KafkaConnection broker_version=unknown>: {LOST}"))
    assert refusal.reason is None
    without_sasl = _BootstrapRefusal(sasl=False)
    for _ in range(3):
        without_sasl.emit(record(f"<KafkaConnection broker_version=(4, 1)>: {LOST}"))
    assert without_sasl.reason is None


@pytest.mark.parametrize("silenced", ["kafka", ""])  # the library's logger, or the root (ApplicationLogLevel)
def test_a_refusal_is_heard_however_quiet_the_kafka_logger_was_made(
    silenced: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a logger told to pass nothing below CRITICAL, with a handler of its own
    quiet = logging.getLogger(silenced)
    level, handlers = quiet.level, quiet.handlers
    quiet.handlers = [logging.StreamHandler()]
    quiet.setLevel(logging.CRITICAL)
    try:
        # When kafka-python logs a refusal while a producer bootstraps
        refusal = _BootstrapRefusal(sasl=True)
        with _listening(refusal):
            logging.getLogger("kafka.net.connection").error("<KafkaConnection>: SaslAuthenticationFailedError: bad")
        logging.getLogger("kafka.net.connection").error("after the bootstrap")

        # Then the refusal was heard, the quiet logger's handler saw nothing, and the kafka logger is as it was
        assert refusal.reason == "authentication failed: SaslAuthenticationFailedError: bad"
        assert capsys.readouterr().err == ""
        kafka = logging.getLogger("kafka")
        assert (kafka.level, kafka.propagate) == (logging.CRITICAL if silenced else logging.NOTSET, True)
    finally:
        quiet.handlers = handlers
        quiet.setLevel(level)


def test_librdkafka_lines_are_logged_once_per_kind_and_broker(caplog: pytest.LogCaptureFixture) -> None:
    log, line = confluent._OncePerBroker(), "[thrd:ssl://{}:1/bootstrap]: failed (after {}ms)"
    with caplog.at_level(logging.INFO, logger=confluent.log.name):
        for after_ms in (3, 5, 8):
            log.log(logging.ERROR, "%s [%s] %s", "FAIL", "p#1", line.format("a", after_ms))
        log.log(logging.ERROR, "%s [%s] %s", "FAIL", "p#1", line.format("b", 1))
    assert [r.getMessage().split("[thrd:")[1] for r in caplog.records] == [
        "ssl://a:1/bootstrap]: failed (after 3ms)",
        "ssl://b:1/bootstrap]: failed (after 1ms)",
    ]
