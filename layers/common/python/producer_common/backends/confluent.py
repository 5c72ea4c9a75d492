"""confluent-kafka (librdkafka) backend: the default, fastest client."""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from ..config import KafkaSettings
from ..credentials import Refresh, SaslCredentials
from ..exceptions import ProducerError
from ..msk_iam import confluent_oauth_cb
from .base import (
    AUTHENTICATION_FAILED,
    NOT_ACKNOWLEDGED,
    UNREACHABLE_AFTER_S,
    SaslKeys,
    Settle,
    fresher_credentials,
    sasl_config,
    unreachable,
)

log = logging.getLogger(__name__)

SASL_KEYS = SaslKeys("sasl.mechanisms", "sasl.username", "sasl.password", "oauth_cb")

_PURGED = (KafkaError._PURGE_QUEUE, KafkaError._PURGE_INFLIGHT)
BOOTSTRAP_BROKER_ID = -1  # how librdkafka names a broker known only by its bootstrap address
MAX_METADATA_ASKS = 3  # the first may come back from the bootstrap connection, being closed
# Before the broker has acknowledged anything, these mean the configuration is wrong (a password, a CA,
# a host name): librdkafka would only repeat them until the delivery timeout, so the run gives up.
_REFUSALS = {KafkaError._AUTHENTICATION: AUTHENTICATION_FAILED, KafkaError._SSL: "TLS handshake failed"}
FLUSH_SLICE_S = 0.25  # how often a flush looks for a refusal
# How librdkafka says it could not reach a broker: the connection failed, the name did not resolve.
_UNREACHABLE = {KafkaError._TRANSPORT, KafkaError._RESOLVE, KafkaError._ALL_BROKERS_DOWN}


def producer_config(
    settings: KafkaSettings, credentials: SaslCredentials | None, delivery_timeout_s: float
) -> dict[str, Any]:
    config: dict[str, Any] = {
        "bootstrap.servers": settings.bootstrap_servers,
        "client.id": settings.client_id,
        "enable.idempotence": True,
        "acks": "all",
        # murmur2_random unless KAFKA_PARTITIONER says otherwise: the partition Apache Kafka's Java
        # client and kafka-python choose for a key (librdkafka's own default is CRC32).
        "partitioner": settings.partitioner,
        "compression.type": settings.compression,
        "linger.ms": settings.linger_ms,
        "message.timeout.ms": int(delivery_timeout_s * 1000),
        "socket.connection.setup.timeout.ms": 10_000,
        "security.protocol": settings.security_protocol,
        "queue.buffering.max.messages": 1_000_000,
        "log.connection.close": False,
        # Connect to each broker as soon as metadata names it, while the run does its work: with
        # sparse connections the leader's connection starts only when something asks for it, up
        # to 500 ms later (see ConfluentBackend.flush).
        "enable.sparse.connections": False,
    }
    if settings.ssl_ca_location:
        config["ssl.ca.location"] = settings.ssl_ca_location
    config.update(sasl_config(settings, credentials, SASL_KEYS, confluent_oauth_cb))
    return config


class ConfluentBackend:
    name = "confluent"

    def __init__(
        self,
        settings: KafkaSettings,
        credentials: SaslCredentials | None,
        delivery_timeout_s: float,
        settle: Settle,
        refresh: Refresh | None = None,
    ) -> None:
        self._settle = settle
        self._delivery_timeout_s = delivery_timeout_s
        self._credentials = credentials
        self._refresh = refresh  # called once, at the first authentication failure
        self._fresh: SaslCredentials | None = None  # what it gave, for the client to use from now on
        # Sequence numbers awaiting a delivery report, by message key: a deque only for a key sent
        # again before its report came. A key always maps to one partition, and librdkafka reports
        # a partition's messages in the order they were produced, so the oldest number is the one.
        self._waiting: dict[bytes, int | deque[int]] = {}
        config = producer_config(settings, credentials, delivery_timeout_s)
        config["error_cb"] = self._on_error
        self._seen_errors: set[int] = set()
        self._topic: str | None = None  # the last topic produced to
        self._has_producer_id_broker = False
        self._acknowledged = False
        self._answered = False  # a broker answered a metadata request: one is reachable
        self._refused: str | None = None
        self._bootstrap = settings.bootstrap_servers
        self._started = time.monotonic()
        self._connect_error: str | None = None  # librdkafka's first word on why it could not connect
        # librdkafka's own log lines go through Python logging (JSON in Lambda), not raw stderr.
        self._producer = Producer(config, logger=_OncePerBroker())

    def _on_error(self, error: KafkaError) -> None:
        # librdkafka repeats transport errors while it retries; one line per kind is enough.
        code = error.code()
        if code not in self._seen_errors:
            self._seen_errors.add(code)
            log.warning("Kafka client error: %s", error.str())
        if code == KafkaError._AUTHENTICATION and self._refresh is not None:
            # The secret may have been rotated since it was read: librdkafka authenticates its next
            # connection with what the secret holds now, and the queued messages wait for it.
            # (Set once the callback has returned: the client may not be called from its own callback.)
            self._fresh, self._refresh = fresher_credentials(self._refresh, self._credentials), None
            if self._fresh is not None:
                return
        if code in _REFUSALS and not self._acknowledged and self._refused is None:
            self._refused = f"{_REFUSALS[code]}: {error.str()}"
            log.error("Kafka refused the connection, giving up: %s", self._refused)
        elif code in _UNREACHABLE and code != KafkaError._ALL_BROKERS_DOWN and self._connect_error is None:
            self._connect_error = error.str()

    def _give_up_if_unreachable(self) -> None:
        """No broker has answered since the producer started, for UNREACHABLE_AFTER_S: say which address
        and why (refused, not resolved, timed out), and end the wait as a refusal does."""
        if self._answered or self._acknowledged or self._refused is not None:
            return
        if time.monotonic() - self._started >= UNREACHABLE_AFTER_S:
            self._refused = unreachable(self._bootstrap, self._connect_error or "no answer")
            log.error("Kafka unreachable, giving up: %s", self._refused)

    def produce(
        self,
        topic: str,
        key: bytes,
        value: bytes,
        headers: list[tuple[str, bytes]],
        sequence: int,
    ) -> None:
        if self._refused is not None:
            raise ProducerError(self._refused)
        while True:
            try:
                self._producer.produce(topic, value, key, headers=headers, on_delivery=self._on_delivery)  # type: ignore[arg-type]
                break
            except BufferError:
                # The local queue is full: let librdkafka drain some of it, then retry.
                self._producer.poll(0.05)
        self._topic = topic
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
            self._acknowledged = True
            self._settle(sequence, None)
        elif error.code() in _PURGED:
            self._settle(sequence, self._refused or NOT_ACKNOWLEDGED)
        else:
            self._settle(sequence, error.str())

    def poll(self) -> None:
        self._producer.poll(0)
        self._use_fresh_credentials()

    def _use_fresh_credentials(self) -> None:
        """Hand librdkafka the credentials an authentication failure had read: its next connection
        authenticates with them, and the queued messages wait for it."""
        fresh, self._fresh = self._fresh, None
        if fresh is not None:
            self._credentials = fresh
            self._producer.set_sasl_credentials(fresh.username, fresh.password)

    def flush(self, timeout_s: float) -> None:
        """Wait for every report, but not past a refusal (the rest is then purged by close)."""
        end = time.monotonic() + timeout_s
        if len(self._producer):  # messages queued or in flight
            self._meet_producer_id_broker(end)
        while self._refused is None:
            left = end - time.monotonic()
            if left <= 0 or self._producer.flush(min(FLUSH_SLICE_S, left)) == 0:
                return
            self._give_up_if_unreachable()
            self._use_fresh_credentials()

    def _meet_producer_id_broker(self, end: float) -> None:
        """Have librdkafka ask for its producer id now rather than on its 500 ms timer.

        Since librdkafka 2.10 (KIP-899) the client closes its bootstrap connection once the first
        metadata answer names the brokers, and connects again by broker id. The idempotent
        producer asks for its producer id on that first answer, finds no broker up, and tries
        again on a fixed 500 ms timer: only a metadata answer or that timer runs the request again,
        and the connect-time metadata refresh is skipped while the topic's metadata is fresh. The
        messages wait for the id. A metadata answer from a broker known by its id (hence up) runs
        the request at once; one per producer is enough. No broker within the messages' delivery
        timeout means they have failed anyway, and a refusal ends the wait: flush then reports them.
        """
        self._producer.poll(0)  # serves an OAUTHBEARER token callback first (MSK IAM)
        end = min(end, time.monotonic() + self._delivery_timeout_s)
        asks = 0
        while not self._has_producer_id_broker and self._refused is None and asks < MAX_METADATA_ASKS:
            remaining = end - time.monotonic()
            if remaining <= 0:
                return
            try:
                metadata = self._producer.list_topics(self._topic, timeout=min(remaining, FLUSH_SLICE_S))
            except KafkaException:  # no answer yet: serve the error callback (a refusal ends this), ask again
                self.poll()
                self._give_up_if_unreachable()
                continue
            asks += 1
            self._answered = True
            self._has_producer_id_broker = metadata.orig_broker_id != BOOTSTRAP_BROKER_ID

    def close(self, timeout_s: float) -> None:
        # Purged messages get their delivery callback with _PURGE_QUEUE/_PURGE_INFLIGHT.
        self._producer.purge()
        self._producer.flush(max(0.0, timeout_s))


class _OncePerBroker:
    """librdkafka's log lines, each kind once per broker: it logs every failed reconnect again.
    Debug lines (only there when `debug` contexts are configured) all pass: they are asked for."""

    def __init__(self) -> None:
        self._seen: set[tuple[int, str, str]] = set()

    def log(self, level: int, message: str, *args: Any) -> None:
        if level <= logging.DEBUG:
            log.log(level, message, *args)
            return
        facility, text = (str(args[0]), str(args[-1])) if args else ("", message)
        kind = (level, facility, text.partition("]")[0])  # "[thrd:ssl://host:port/id" names the broker
        if kind not in self._seen:
            self._seen.add(kind)
            log.log(level, message, *args)
