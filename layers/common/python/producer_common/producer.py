"""Delivery with an exact account: every message is acknowledged or reported failed.

``open_producer`` is a context manager. Inside it, ``send`` queues messages;
leaving it, on every path including an exception, flushes within the time the
Lambda has left (less a margin), abandons what the broker has not acknowledged
by then, closes the client, and freezes ``report``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from types import TracebackType
from typing import Any

from .backends import Backend, create_backend
from .backends.base import NOT_ACKNOWLEDGED
from .config import KafkaSettings
from .credentials import resolve_credentials
from .deadline import Deadline
from .exceptions import ProducerError
from .serialization import encode_headers, encode_key, encode_value

log = logging.getLogger(__name__)

CLOSE_TIMEOUT_S = 2.0
DEADLINE_CHECK_EVERY = 256


@dataclass(frozen=True)
class OutgoingMessage:
    """One record: a JSON value under a string key, with string headers."""

    key: str
    value: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)
    ref: str | None = None  # how the report names it; the key unless given
    topic: str | None = None  # the producer's topic unless given


@dataclass(frozen=True)
class FailedMessage:
    ref: str
    reason: str


@dataclass(frozen=True)
class DeliveryReport:
    """What the broker acknowledged and what it did not, in the order sent."""

    acknowledged: tuple[str, ...] = ()
    failed: tuple[FailedMessage, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failed

    def reasons(self, limit: int = 3) -> list[str]:
        return sorted({failure.reason for failure in self.failed})[:limit]


class MessageProducer:
    """Tracks every message from ``send`` to its broker acknowledgement or failure."""

    def __init__(self, backend_factory: Callable[[], Backend], topic: str, deadline: Deadline) -> None:
        self._topic = topic
        self._deadline = deadline
        self._lock = threading.Lock()
        self._refs: list[str] = []
        self._outcomes: dict[int, str | None] = {}  # sequence number -> None (acked) or reason
        self._closed = False
        self._unavailable: str | None = None
        self._past_deadline = False
        self._report: DeliveryReport | None = None
        self._backend: Backend | None = None
        try:
            self._backend = backend_factory()
        except Exception as error:  # e.g. no broker reachable: every message will be reported failed
            self._unavailable = f"Kafka client could not start: {type(error).__name__}: {error}"
            log.error(self._unavailable)

    def __enter__(self) -> MessageProducer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def report(self) -> DeliveryReport:
        """The final account; available once the producer is closed."""
        if self._report is None:
            raise ProducerError("the delivery report is final only after the producer is closed")
        return self._report

    @property
    def sent(self) -> int:
        return len(self._refs)

    def send(self, message: OutgoingMessage) -> None:
        """Queue a message. Raises ValueError for a value that is not valid JSON (NaN, say)."""
        if self._closed:
            raise ProducerError("send() after the producer was closed")
        value = encode_value(message.value)
        with self._lock:
            sequence = len(self._refs)
            self._refs.append(message.ref or message.key)
        if self._unavailable is not None or self._backend is None:
            self._settle(sequence, self._unavailable or "Kafka client unavailable")
            return
        # Reading the clock for every message costs more than it tells; every 256th is enough.
        if sequence % DEADLINE_CHECK_EVERY == 0 and self._deadline.expired:
            self._past_deadline = True
        if self._past_deadline:
            self._settle(sequence, NOT_ACKNOWLEDGED)
            return
        try:
            self._backend.produce(
                message.topic or self._topic,
                encode_key(message.key),
                value,
                encode_headers(message.headers),
                partial(self._settle, sequence),
            )
        except Exception as error:
            reason = f"{type(error).__name__}: {error}"
            self._settle(sequence, reason)
            if "Timeout" in type(error).__name__:  # no metadata in time: don't block on every message
                self._unavailable = reason
            return
        self._backend.poll()

    def flush(self) -> None:
        """Wait, within the deadline, for what was sent so far to be settled."""
        if self._backend is not None and not self._closed:
            self._backend.flush(self._deadline.remaining_s())

    @property
    def settled(self) -> int:
        with self._lock:
            return len(self._outcomes)

    def close(self) -> None:
        """Flush within the deadline, abandon the rest, close the client; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        backend = self._backend
        if backend is not None:
            try:
                backend.flush(self._deadline.remaining_s())
            except Exception:
                log.exception("Kafka flush failed")
            try:
                backend.close(min(CLOSE_TIMEOUT_S, self._deadline.remaining_s() + self._deadline.margin_s / 2))
            except Exception:
                log.exception("Kafka close failed")
        self._report = self._finalise()
        if self._report.failed:
            log.error(
                "Kafka delivery incomplete",
                extra={
                    "acknowledged": len(self._report.acknowledged),
                    "failed": len(self._report.failed),
                    "reasons": self._report.reasons(),
                },
            )

    def _settle(self, sequence: int, reason: str | None) -> None:
        with self._lock:
            if self._report is None:  # late callbacks after the account is closed change nothing
                self._outcomes.setdefault(sequence, reason)

    def _finalise(self) -> DeliveryReport:
        with self._lock:
            acknowledged: list[str] = []
            failed: list[FailedMessage] = []
            for sequence, ref in enumerate(self._refs):
                outcome = self._outcomes.get(sequence, NOT_ACKNOWLEDGED)
                if outcome is None:
                    acknowledged.append(ref)
                else:
                    failed.append(FailedMessage(ref, outcome))
            report = DeliveryReport(tuple(acknowledged), tuple(failed))
            self._report = report
            return report


def open_producer(
    settings: KafkaSettings,
    deadline: Deadline,
    environ: Mapping[str, str] | None = None,
    secrets_client: Any = None,
    backend_factory: Callable[[], Backend] | None = None,
) -> MessageProducer:
    """A ``MessageProducer`` for the configured backend; credentials are resolved first."""
    if backend_factory is None:
        credentials = resolve_credentials(settings, environ, secrets_client)
        # Messages may not outlive the invocation: librdkafka/kafka-python time them out by then.
        delivery_timeout_s = max(1.0, min(settings.delivery_timeout_s, deadline.remaining_s()))

        def backend_factory() -> Backend:
            return create_backend(settings, credentials, delivery_timeout_s)

    return MessageProducer(backend_factory, settings.topic, deadline)
