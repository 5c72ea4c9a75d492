"""confluent-kafka (librdkafka) backend: the default, fastest client."""

from __future__ import annotations

import logging
from typing import Any

from confluent_kafka import KafkaError, Producer

from ..config import KafkaSettings
from ..credentials import SaslCredentials
from ..msk_iam import confluent_oauth_cb
from .base import NOT_ACKNOWLEDGED, DeliveryCallback, SaslKeys, sasl_config

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
    config.update(sasl_config(settings, credentials, SASL_KEYS, confluent_oauth_cb))
    return config


class ConfluentBackend:
    name = "confluent"

    def __init__(self, settings: KafkaSettings, credentials: SaslCredentials | None, delivery_timeout_s: float) -> None:
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
        on_delivery: DeliveryCallback,
    ) -> None:
        def report(error: KafkaError | None, _message: Any) -> None:
            if error is None:
                on_delivery(None)
            elif error.code() in _PURGED:
                on_delivery(NOT_ACKNOWLEDGED)
            else:
                on_delivery(error.str())

        wire_headers: list[tuple[str, str | bytes | None]] = list(headers)
        while True:
            try:
                self._producer.produce(topic, value=value, key=key, headers=wire_headers, on_delivery=report)
                return
            except BufferError:
                # The local queue is full: let librdkafka drain some of it, then retry.
                self._producer.poll(0.05)

    def poll(self) -> None:
        self._producer.poll(0)

    def flush(self, timeout_s: float) -> None:
        self._producer.flush(max(0.0, timeout_s))

    def close(self, timeout_s: float) -> None:
        # Purged messages get their delivery callback with _PURGE_QUEUE/_PURGE_INFLIGHT.
        self._producer.purge()
        self._producer.flush(max(0.0, timeout_s))
