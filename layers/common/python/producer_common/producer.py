"""Delivery with an exact account: every message is acknowledged or reported failed.

``open_producer`` is a context manager. Inside it, ``send`` queues messages;
leaving it, on every path including an exception, flushes within the time the
Lambda has left (less a margin), abandons what the broker has not acknowledged
by then, closes the client, and freezes ``report``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any, NamedTuple

from .backends import Backend, Settle, create_backend
from .backends.base import NOT_ACKNOWLEDGED
from .config import KafkaSettings
from .credentials import refresher, resolve_credentials, resolve_registry_credentials
from .deadline import Deadline
from .exceptions import ProducerError
from .serialization import encode_headers, encode_key, value_encoder

if TYPE_CHECKING:  # the registry's modules load only when a registry format is chosen
    from .registry import RegistryValues

log = logging.getLogger(__name__)

CLOSE_TIMEOUT_S = 2.0
DEADLINE_CHECK_EVERY = 256  # sends between clock reads: a read costs more than it tells
POLL_EVERY = 64  # sends between serving delivery callbacks; flush and close serve the rest
# What no retry can mend: the broker (or the client, before sending) refuses the record itself, as
# librdkafka (MSG_SIZE_TOO_LARGE, RECORD_LIST_TOO_LARGE, INVALID_RECORD) and kafka-python
# (MessageSizeTooLargeError, RecordListTooLargeError, InvalidRecordError) name it.
_PERMANENT = re.compile(
    r"MSG_SIZE_TOO_LARGE|message size too large|MessageSizeTooLarge|RECORD_LIST_TOO_LARGE|RecordListTooLarge"
    r"|message batch larger|INVALID_RECORD|InvalidRecordError|failed to validate record",
    re.IGNORECASE,
)


def is_permanent(reason: str) -> bool:
    """True when the reason says the broker will never take this record as it is: sending it again
    cannot help. Everything else (time-outs, an unreachable broker, refused credentials) is transient."""
    return _PERMANENT.search(reason) is not None


class OutgoingMessage(NamedTuple):
    """One record: a value (a JSON object) under a string key, with string headers. (A NamedTuple: a run
    builds thousands, and it is immutable at a third of a frozen dataclass's cost.)"""

    key: str
    value: Mapping[str, Any]
    headers: Mapping[str, str] = MappingProxyType({})
    ref: str | None = None  # how the report names it; the key unless given
    topic: str | None = None  # the producer's topic unless given


@dataclass(frozen=True)
class FailedMessage:
    ref: str
    reason: str

    @property
    def permanent(self) -> bool:
        return is_permanent(self.reason)


@dataclass(frozen=True)
class DeliveryReport:
    """What the broker acknowledged and what it did not, in the order sent."""

    acknowledged: tuple[str, ...] = ()
    failed: tuple[FailedMessage, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def transient(self) -> tuple[FailedMessage, ...]:
        """The failures a later run may mend (``is_permanent`` says which are not)."""
        return tuple(failure for failure in self.failed if not failure.permanent)

    def reasons(self, limit: int = 3) -> list[str]:
        return sorted({failure.reason for failure in self.failed})[:limit]


class MessageProducer:
    """Tracks every message from ``send`` to its broker acknowledgement or failure."""

    def __init__(
        self,
        backend_factory: Callable[[Settle], Backend],
        topic: str,
        deadline: Deadline,
        registry_values: RegistryValues | None = None,
    ) -> None:
        self._topic = topic
        self._deadline = deadline
        self._encode = value_encoder()  # send() runs on one thread
        self._values = registry_values  # None: plain JSON
        self._refs: list[str] = []
        # sequence number -> None (acknowledged) or the reason it failed; the first word is final.
        # setdefault is atomic, so a client's own thread may settle while send() appends.
        self._outcomes: dict[int, str | None] = {}
        self._settled_order: list[int] = []  # sequences as they settle (a repeat is harmless), for ``take_settled``
        self._taken = 0
        self._closed = False
        self._refusing: str | None = None  # why every further message fails at once, if one does
        self._report: DeliveryReport | None = None
        self._backend: Backend | None = None
        try:
            self._backend = backend_factory(self._settle)
        except Exception as error:  # e.g. no broker reachable: every message will be reported failed
            self._refusing = f"Kafka client could not start: {type(error).__name__}: {error}"
            log.error(self._refusing)

    def _settle(self, sequence: int, reason: str | None) -> None:
        self._outcomes.setdefault(sequence, reason)
        self._settled_order.append(sequence)  # list.append is atomic too

    def __call__(self, message: OutgoingMessage) -> None:
        """A producer is a ``Send``: ``producer(message)`` is ``producer.send(message)``."""
        self.send(message)

    def take_settled(self) -> list[tuple[str, str | None]]:
        """Serve delivery callbacks, then what settled since the last call: ``(ref, None)`` for an
        acknowledged message, ``(ref, reason)`` for a failed one. For checkpoints along the run;
        the report stays the final word."""
        if self._backend is not None and not self._closed:
            self._backend.poll()
        order, outcomes, refs = self._settled_order, self._outcomes, self._refs
        end = len(order)
        taken, self._taken = order[self._taken : end], end
        return [(refs[sequence], outcomes[sequence]) for sequence in dict.fromkeys(taken)]

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
        """Queue a message. Raises ValueError for a value that is not valid JSON (NaN, say); with a
        registry format, a value that does not fit its schema is reported failed instead, unsent.

        Called from one thread (the handler's); delivery callbacks may come from any.
        """
        if self._closed:
            raise ProducerError("send() after the producer was closed")
        topic = message.topic or self._topic
        values = self._values
        value = self._encode(message.value) if values is None else b""
        sequence = len(self._refs)
        self._refs.append(message.ref or message.key)
        if values is not None:
            try:
                value = values.encode(topic, message.value, message.headers)
            except (ValueError, ProducerError) as error:
                log.warning("message not sent", extra={"ref": message.ref or message.key, "reason": str(error)})
                self._settle(sequence, str(error))
                return
        if sequence % DEADLINE_CHECK_EVERY == 0 and self._refusing is None and self._deadline.expired:
            self._refusing = NOT_ACKNOWLEDGED
        backend = self._backend
        if self._refusing is not None or backend is None:
            self._settle(sequence, self._refusing or "Kafka client unavailable")
            return
        try:
            backend.produce(
                topic,
                encode_key(message.key),
                value,
                encode_headers(message.headers),
                sequence,
            )
        except Exception as error:
            reason = f"{type(error).__name__}: {error}"
            self._settle(sequence, reason)
            if "Timeout" in type(error).__name__:  # no metadata in time: don't block on every message
                self._refusing = reason
            return
        if sequence % POLL_EVERY == 0:
            backend.poll()

    def flush(self) -> None:
        """Wait, within the deadline, for what was sent so far to be settled."""
        if self._backend is not None and not self._closed:
            self._backend.flush(self._deadline.remaining_s())

    @property
    def settled(self) -> int:
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

    def _finalise(self) -> DeliveryReport:
        outcomes = self._outcomes.copy()  # what arrives later changes nothing
        if len(outcomes) == len(self._refs) and not any(outcomes.values()):  # every reason is a non-empty string
            return DeliveryReport(tuple(self._refs), ())
        acknowledged: list[str] = []
        failed: list[FailedMessage] = []
        for sequence, ref in enumerate(self._refs):
            outcome = outcomes.get(sequence, NOT_ACKNOWLEDGED)
            if outcome is None:
                acknowledged.append(ref)
            else:
                failed.append(FailedMessage(ref, outcome))
        return DeliveryReport(tuple(acknowledged), tuple(failed))


def open_producer(
    settings: KafkaSettings,
    deadline: Deadline,
    environ: Mapping[str, str] | None = None,
    secrets_client: Any = None,
    backend_factory: Callable[[Settle], Backend] | None = None,
    value_schemas: Sequence[str] = (),
    registry_client: Any = None,
) -> MessageProducer:
    """A ``MessageProducer`` for the configured backend; credentials are resolved first. With a
    registry format, each of ``value_schemas`` (``rss_item/1``) must be registered under the
    topic's subject, or this raises ``SchemaRegistryError`` before anything is sent."""
    registry_values = None
    if settings.uses_registry:
        from .registry import open_registry_values

        assert settings.schema_registry_url is not None  # KafkaSettings requires it
        registry_credentials = resolve_registry_credentials(settings, environ, secrets_client)
        registry_values = open_registry_values(
            settings.value_format, settings.schema_registry_url, registry_credentials, registry_client
        )
        for ref in value_schemas:
            registry_values.require(settings.topic, ref)
    if backend_factory is None:
        credentials = resolve_credentials(settings, environ, secrets_client)
        # Messages may not outlive the invocation: librdkafka/kafka-python time them out by then.
        delivery_timeout_s = max(1.0, min(settings.delivery_timeout_s, deadline.remaining_s()))

        refresh = refresher(settings, environ, secrets_client)  # once the broker refuses the credentials

        def backend_factory(settle: Settle) -> Backend:
            return create_backend(settings, credentials, delivery_timeout_s, settle, refresh)

    return MessageProducer(backend_factory, settings.topic, deadline, registry_values)
