"""kafka-python backend: pure Python, for environments without librdkafka."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaTimeoutError

from ..config import KafkaSettings
from ..credentials import Refresh, SaslCredentials
from ..exceptions import ProducerError
from ..msk_iam import kafka_python_token_provider
from .base import (
    AUTHENTICATION_FAILED,
    UNREACHABLE_AFTER_S,
    SaslKeys,
    Settle,
    fresher_credentials,
    sasl_config,
    unreachable,
)

log = logging.getLogger(__name__)

FLUSH_SLACK_S = 1.0

SASL_KEYS = SaslKeys("sasl_mechanism", "sasl_plain_username", "sasl_plain_password", "sasl_oauth_token_provider")


def producer_config(
    settings: KafkaSettings, credentials: SaslCredentials | None, delivery_timeout_s: float
) -> dict[str, Any]:
    timeout_ms = int(delivery_timeout_s * 1000)
    config: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers.split(","),
        "client_id": settings.client_id,
        "enable_idempotence": True,
        "acks": "all",
        "compression_type": None if settings.compression == "none" else settings.compression,
        "linger_ms": settings.linger_ms,
        "delivery_timeout_ms": timeout_ms,
        # kafka-python insists on delivery_timeout_ms > linger_ms + request_timeout_ms.
        "request_timeout_ms": max(500, min(30_000, (timeout_ms - settings.linger_ms) // 2)),
        # send() blocks for metadata at most this long, and the first connection too.
        "max_block_ms": min(10_000, timeout_ms),
        "bootstrap_timeout_ms": min(10_000, timeout_ms),
        "security_protocol": settings.security_protocol,
    }
    if settings.ssl_ca_location:
        config["ssl_cafile"] = settings.ssl_ca_location
    config.update(sasl_config(settings, credentials, SASL_KEYS, kafka_python_token_provider))
    return config


class KafkaPythonBackend:
    name = "kafka-python"

    def __init__(
        self,
        settings: KafkaSettings,
        credentials: SaslCredentials | None,
        delivery_timeout_s: float,
        settle: Settle,
        refresh: Refresh | None = None,
    ) -> None:
        self._settle = settle
        self._unsettled = 0  # sent, no callback yet: a batch the broker found too large is split and resent
        self._lock = threading.Lock()
        # Every message sent so far has expired once the delivery timeout has passed since the flush
        # began, so waiting longer gains nothing; kafka-python 3.0 does not expire batches whose broker
        # died mid-run, and would otherwise hold the flush until the Lambda's deadline.
        self._flush_limit_s = delivery_timeout_s + FLUSH_SLACK_S
        try:
            self._producer = _start(settings, credentials, delivery_timeout_s)
        except ProducerError as refusal:
            # The secret may have been rotated since it was read: one more start with what it holds now.
            refused_credentials = str(refusal).startswith(AUTHENTICATION_FAILED)
            fresh = fresher_credentials(refresh, credentials) if refused_credentials else None
            if fresh is None:
                raise
            self._producer = _start(settings, fresh, delivery_timeout_s)

    def produce(
        self,
        topic: str,
        key: bytes,
        value: bytes,
        headers: list[tuple[str, bytes]],
        sequence: int,
    ) -> None:
        future = self._producer.send(topic, value=value, key=key, headers=headers)
        with self._lock:
            self._unsettled += 1
        # Callbacks run on kafka-python's sender thread; settle is thread-safe.
        future.add_callback(lambda _metadata: self._settled(sequence, None))
        future.add_errback(lambda error: self._settled(sequence, f"{type(error).__name__}: {error}"))

    def _settled(self, sequence: int, reason: str | None) -> None:
        with self._lock:
            self._unsettled -= 1
        self._settle(sequence, reason)

    def poll(self) -> None:
        """kafka-python settles futures on its own thread; nothing to serve here."""

    def flush(self, timeout_s: float) -> None:
        # kafka-python's flush returns (or raises "Future not done") once the batches it found are
        # over; a batch the broker refused as too large is split and queued again after that, its
        # records' futures still open. So flush until nothing is unsettled, or the time is up.
        end = time.monotonic() + max(0.0, min(timeout_s, self._flush_limit_s))
        while True:
            failure: str | None = None
            try:
                self._producer.flush(timeout=max(0.0, end - time.monotonic()))
            except Exception as error:  # KafkaTimeoutError, UnknownError: what is unsettled is reported
                failure = type(error).__name__
            if not self._unsettled:
                return
            if time.monotonic() >= end:
                log.warning("Kafka flush did not complete: %s", failure or f"{self._unsettled} unsettled")
                return
            time.sleep(0.05)  # the sender thread queues the split batches

    def close(self, timeout_s: float) -> None:
        self._producer.close(timeout=max(0.0, timeout_s))


def _start(settings: KafkaSettings, credentials: SaslCredentials | None, delivery_timeout_s: float) -> KafkaProducer:
    config = producer_config(settings, credentials, delivery_timeout_s)
    config["kafka_client"] = _client_tracking(settings.topic)
    return _start_within(config, config["bootstrap_timeout_ms"] / 1000 + 2)


def _client_tracking(topic: str) -> Callable[..., Any]:
    """kafka-python's own client, told the producer's topic before it bootstraps.

    KafkaProducer's constructor bootstraps with a metadata request for the topics its client
    tracks, none by default; the first send() then asks for its topic's metadata, and the client
    holds any refresh back until retry_backoff_ms (100 ms) after the last one: the bootstrap's.
    A topic tracked from the start comes with the bootstrap's answer.
    """
    build_client = KafkaProducer.DEFAULT_CONFIG["kafka_client"]

    def build(**config: Any) -> Any:
        client = build_client(**config)
        client.cluster.add_topic(topic)
        return client

    return build


# How kafka-python says, in the log line of a failed bootstrap connection, that the configuration is
# wrong (a password, a CA, a host name); the constructor itself only ever says "Unable to bootstrap".
_REFUSALS = {"SaslAuthenticationFailedError": AUTHENTICATION_FAILED, "Handshake failed": "TLS handshake failed"}
# kafka-python 3.0 drops the broker's last response when the connection's close arrives in the same
# read, which is how a broker answers a wrong password: then all it logs is a disconnect after the
# version exchange, that is, during SASL. Twice, that is a refusal too.
_SASL_CLOSES_FOR_REFUSAL = 2
_CLOSED_IN_SASL = f"{AUTHENTICATION_FAILED}: the broker closed the connection during SASL authentication"


class _BootstrapRefusal(logging.Handler):
    """Catches the first refusal kafka-python logs while a producer bootstraps."""

    def __init__(self, sasl: bool) -> None:
        super().__init__(logging.WARNING)
        self.reason: str | None = None
        self.first_problem: str | None = None  # the first thing it logged going wrong, refusal or not
        self.seen = threading.Event()
        self._sasl = sasl
        self._sasl_closes = 0

    def emit(self, record: logging.LogRecord) -> None:
        if self.reason is not None:
            return
        text = record.getMessage()
        if self.first_problem is None:
            self.first_problem = text
        for marker, meaning in _REFUSALS.items():
            if marker in text:
                detail = text[text.index(marker) :].split(" (backoff ")[0]
                if detail.count(")") > detail.count("("):  # cut out of "Abort (...)"
                    detail = detail[: detail.rindex(")")]
                self._refuse(f"{meaning}: {detail}")
                return
        # "<KafkaConnection ... broker_version=(4, 1) (disconnected)>: Connection lost: ... socket disconnected"
        after_versions = "broker_version=unknown" not in text
        if self._sasl and after_versions and "Connection lost" in text and "socket disconnected" in text:
            self._sasl_closes += 1
            if self._sasl_closes >= _SASL_CLOSES_FOR_REFUSAL:
                self._refuse(_CLOSED_IN_SASL)

    def _refuse(self, reason: str) -> None:
        self.reason = reason
        self.seen.set()


@contextmanager
def _listening(refusal: _BootstrapRefusal) -> Iterator[None]:
    """``refusal`` hears kafka-python's warnings and errors while a producer bootstraps, whatever
    level the ``kafka`` logger was given (Lambda's ApplicationLogLevel=ERROR sets the root logger's,
    a caller may silence it): when it would not pass them, it does so for the bootstrap's length,
    and keeps them from its other handlers and from the root logger's, which were told to be quiet."""
    kafka_log = logging.getLogger("kafka")
    level, propagate = kafka_log.level, kafka_log.propagate
    silenced = not kafka_log.isEnabledFor(logging.WARNING)
    kept = kafka_log.handlers[:] if silenced else []
    if silenced:
        kafka_log.setLevel(logging.WARNING)
        kafka_log.propagate = False
        kafka_log.handlers = []
    kafka_log.addHandler(refusal)
    try:
        yield
    finally:
        kafka_log.removeHandler(refusal)
        if silenced:
            kafka_log.handlers = kept
            kafka_log.setLevel(level)
            kafka_log.propagate = propagate


def _start_within(config: dict[str, Any], timeout_s: float) -> KafkaProducer:
    """KafkaProducer's constructor connects to the cluster, and kafka-python 3.0 can wait there
    forever (a TLS handshake the server never answers ignores bootstrap_timeout_ms). Build it on
    a daemon thread and give up after ``timeout_s``, or at once when the broker refused the
    credentials or the client refused the broker's certificate; a stuck attempt is left behind."""
    outcome: dict[str, Any] = {}
    refusal = _BootstrapRefusal(sasl=config.get("sasl_mechanism") in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"))

    def build() -> None:
        try:
            outcome["producer"] = KafkaProducer(**config)
        except Exception as error:
            outcome["error"] = error
        refusal.seen.set()

    with _listening(refusal):
        builder = threading.Thread(target=build, name="kafka-python-bootstrap", daemon=True)
        builder.start()
        # A connection that failed outright (refused, not resolved) and nothing better for
        # UNREACHABLE_AFTER_S means no broker is there; a slow but working TLS/SASL bootstrap logs no
        # failure and gets the whole ``timeout_s``.
        started = time.monotonic()
        while not refusal.seen.wait(0.1):
            waited = time.monotonic() - started
            if waited >= timeout_s or (waited >= UNREACHABLE_AFTER_S and refusal.first_problem is not None):
                break
    if "producer" in outcome:
        return outcome["producer"]  # type: ignore[no-any-return]
    if refusal.reason is not None:
        log.error("Kafka refused the connection, giving up: %s", refusal.reason)
        raise ProducerError(refusal.reason)
    servers = ",".join(config["bootstrap_servers"])
    if isinstance(outcome.get("error"), KafkaTimeoutError):  # "Unable to bootstrap from [...]"
        raise ProducerError(unreachable(servers, refusal.first_problem or "no answer"))
    if "error" in outcome:
        raise outcome["error"]
    raise ProducerError(unreachable(servers, refusal.first_problem or f"no answer within {timeout_s:g} s"))
