"""confluent-kafka (librdkafka) backend: the default, fastest client."""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from ..config import KafkaSettings
from ..credentials import SaslCredentials
from ..msk_iam import confluent_oauth_cb
from .base import NOT_ACKNOWLEDGED, SaslKeys, Settle, sasl_config

log = logging.getLogger(__name__)

SASL_KEYS = SaslKeys("sasl.mechanisms", "sasl.username", "sasl.password", "oauth_cb")

_PURGED = (KafkaError._PURGE_QUEUE, KafkaError._PURGE_INFLIGHT)


def producer_config(
    settings: KafkaSettings, credentials: SaslCredentials | None, delivery_timeout_s: float
) -> dict[str, Any]:
    config: dict[str, Any] = {
        "bootstrap.servers": settings.bootstrap_servers,
        "client.id": settings.client_id,
        "enable.idempotence": True,
        "acks": "all",
        "compression.type": settings.compression,
        "linger.ms": settings.linger_ms,
        "message.timeout.ms": int(delivery_timeout_s * 1000),
        "socket.connection.setup.timeout.ms": 10_000,
        "security.protocol": settings.security_protocol,
        "queue.buffering.max.messages": 1_000_000,
        "log.connection.close": False,
    }
    if settings.ssl_ca_location:
        config["ssl.ca.location"] = settings.ssl_ca_location
    config.update(sasl_config(settings, credentials, SASL_KEYS, confluent_oauth_cb))
    return config


class ConfluentBackend:
    name = "confluent"

    def __init__(
        self, settings: KafkaSettings, credentials: SaslCredentials | None, delivery_timeout_s: float, settle: Settle
    ) -> None:
        self._settle = settle
        # Sequence numbers awaiting a delivery report, by message key: a deque only for a key sent
        # again before its report came. A key always maps to one partition, and librdkafka reports
        # a partition's messages in the order they were produced, so the oldest number is the one.
        self._waiting: dict[bytes, int | deque[int]] = {}
        config = producer_config(settings, credentials, delivery_timeout_s)
        config["error_cb"] = self._on_error
        self._seen_errors: set[int] = set()
        # librdkafka's own log lines go through Python logging (JSON in Lambda), not raw stderr.
        self._producer = Producer(config, logger=log)

    def _on_error(self, error: KafkaError) -> None:
        # librdkafka repeats transport errors while it retries; one line per kind is enough.
        if error.code() not in self._seen_errors:
            self._seen_errors.add(error.code())
            log.warning("Kafka client error: %s", error.str())

    def produce(
        self,
        topic: str,
        key: bytes,
        value: bytes,
        headers: list[tuple[str, bytes]],
        sequence: int,
    ) -> None:
        while True:
            try:
                self._producer.produce(topic, value, key, headers=headers, on_delivery=self._on_delivery)  # type: ignore[arg-type]
                break
            except BufferError:
                # The local queue is full: let librdkafka drain some of it, then retry.
                self._producer.poll(0.05)
        earlier = self._waiting.setdefault(key, sequence)
        if earlier != sequence:
            if isinstance(earlier, int):
                self._waiting[key] = earlier = deque((earlier,))
            earlier.append(sequence)

    def _on_delivery(self, error: KafkaError | None, message: Message) -> None:
        key: bytes = message.key()  # type: ignore[assignment]
        waiting = self._waiting.pop(key, None)
        if isinstance(waiting, int):
            sequence = waiting
        elif waiting:
            sequence = waiting.popleft()
            if waiting:
                self._waiting[key] = waiting
        else:  # not ours to account for; never expected
            log.error("delivery report for a message this producer did not send")
            return
        if error is None:
            self._settle(sequence, None)
        elif error.code() in _PURGED:
            self._settle(sequence, NOT_ACKNOWLEDGED)
        else:
            self._settle(sequence, error.str())

    def poll(self) -> None:
        self._producer.poll(0)

    def flush(self, timeout_s: float) -> None:
        self._producer.flush(max(0.0, timeout_s))

    def close(self, timeout_s: float) -> None:
        # Purged messages get their delivery callback with _PURGE_QUEUE/_PURGE_INFLIGHT.
        self._producer.purge()
        self._producer.flush(max(0.0, timeout_s))
