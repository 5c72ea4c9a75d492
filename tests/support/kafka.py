"""A real Apache Kafka node as a fixture body: tests/kafka's for the whole session, tests/docs' for
its one module (its snippets' consumers join a group at once there; on Tansu after about 23 s)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from tests.support.services import starting
from tools.services.kafka import ApacheKafka, running_kafka


def apache_kafka_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApacheKafka]:
    """PLAINTEXT, SSL and SASL_SSL listeners (tools/services/kafka.py); a test that kills it restarts
    it before it ends."""
    directory = tmp_path_factory.mktemp("apache-kafka")
    with ExitStack() as started:
        with starting("Apache Kafka", directory / "kafka.log"):
            kafka = started.enter_context(running_kafka(directory))
        yield kafka
