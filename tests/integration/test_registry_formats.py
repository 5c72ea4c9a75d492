"""KAFKA_VALUE_FORMAT avro and json_schema end to end: both handlers on the embedded broker with a real
registry (Apicurio), read back and deserialized with the registry, equal to what was sent."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.schema_registry.json_schema import JSONDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext
from producer_common.exceptions import SchemaRegistryError
from producer_common.producer import MessageProducer, OutgoingMessage

from tools.local.handler import LambdaContext, load_event, load_handler
from tools.services import schema_catalog as catalog
from tools.services.broker import EmbeddedBroker, read_topic
from tools.services.fixture_server import FixtureServer
from tools.services.registry import EmbeddedRegistry, register, registry_client

FORMATS = ["avro", "json_schema"]
HANDLERS = {"rss_item": "rss_producer", "polymarket_price": "polymarket_producer"}


@pytest.fixture(scope="module")
def sources() -> Iterator[FixtureServer]:
    with FixtureServer() as server:
        yield server


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[OutgoingMessage]:
    """Every message the handlers hand to the producer, as they gave it."""
    recorded: list[OutgoingMessage] = []
    send = MessageProducer.send

    def recording_send(self: MessageProducer, message: OutgoingMessage) -> None:
        recorded.append(message)
        send(self, message)

    monkeypatch.setattr(MessageProducer, "send", recording_send)
    return recorded


def decoder(value_format: str, url: str, topic: str, avro_reader: str | None = None) -> Callable[[bytes], Any]:
    """The registry's own deserializer: it reads the schema id from each value and fetches that schema
    (for Avro, resolved to ``avro_reader`` when given)."""
    client = registry_client(url)
    deserialize = (
        AvroDeserializer(client, schema_str=avro_reader)
        if value_format == "avro"
        else JSONDeserializer(None, schema_registry_client=client)
    )
    context = SerializationContext(topic, MessageField.VALUE)
    return lambda data: deserialize(data, context)


Run = Callable[[str, str, str], dict[str, Any]]


@pytest.fixture
def run(
    broker: EmbeddedBroker,
    registry: EmbeddedRegistry,
    sources: FixtureServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> Run:
    """Runs the handler of a message type once, in process, writing ``topic`` in ``value_format``."""

    def run_handler(name: str, topic: str, value_format: str) -> dict[str, Any]:
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
            "KAFKA_TOPIC": topic,
            "KAFKA_VALUE_FORMAT": value_format,
            "SCHEMA_REGISTRY_URL": registry.url,
            "STATE_PATH": str(tmp_path / "state.sqlite"),
            "FEED_URLS": ",".join(sources.feed_urls()),
            "POLYMARKET_GAMMA_URL": f"{sources.url}/gamma",
            "POLYMARKET_CLOB_URL": f"{sources.url}/clob",
        }
        for variable, value in env.items():
            monkeypatch.setenv(variable, value)
        return load_handler(HANDLERS[name]).lambda_handler(load_event("schedule.json"), LambdaContext())

    return run_handler


@pytest.mark.parametrize("name", sorted(HANDLERS))
@pytest.mark.parametrize("value_format", FORMATS)
def test_round_trip_through_the_registry(
    name: str,
    value_format: str,
    broker: EmbeddedBroker,
    registry: EmbeddedRegistry,
    run: Run,
    sent: list[OutgoingMessage],
) -> None:
    # Given the schemas registered under a fresh topic's subject, as `make register-schemas` does
    topic = f"{name}-{value_format}-{uuid.uuid4().hex[:6]}"
    registered = register(registry.url, value_format, {name: topic})
    # every version in schemas/, oldest first, each accepted under the subject's compatibility level
    assert [(subject, version) for subject, version, _ in registered] == [
        (f"{topic}-value", version) for version in catalog.versions(name)
    ]
    schema_id = registered[-1][2]
    # When the handler runs with the registry format
    summary = run(name, topic, value_format)
    # Then every message was acknowledged, framed with the registered schema id
    assert summary["failed"] == 0 and summary["produced"] == len(sent) > 5
    raw = read_topic(broker.bootstrap, topic, value_decoder=bytes)
    assert {m["value"][:5] for m in raw} == {b"\x00" + schema_id.to_bytes(4, "big")}
    # and the registry's deserializer gives back exactly what was sent, under its key and headers
    received = {
        m["key"]: m
        for m in read_topic(broker.bootstrap, topic, value_decoder=decoder(value_format, registry.url, topic))
    }
    assert len(received) == len(sent)
    for message in sent:
        assert received[message.key]["value"] == message.value
        assert received[message.key]["headers"] == dict(message.headers)


@pytest.mark.parametrize("value_format", FORMATS)
def test_an_unregistered_subject_fails_the_run_at_start(
    value_format: str, broker: EmbeddedBroker, run: Run, sent: list[OutgoingMessage]
) -> None:
    topic = f"unregistered-{value_format}-{uuid.uuid4().hex[:6]}"
    with pytest.raises(
        SchemaRegistryError,
        match=rf"subject {topic}-value has no schema; register rss_item\.v1\.\w+ with `make register-schemas`",
    ):
        run("rss_item", topic, value_format)
    assert sent == [] and read_topic(broker.bootstrap, topic, timeout_s=3) == []


def test_a_subject_holding_an_incompatible_schema_fails_the_run_at_start(
    registry: EmbeddedRegistry, run: Run, sent: list[OutgoingMessage]
) -> None:
    # Given the topic's subject holds a record that the code's schema cannot follow compatibly
    topic = f"incompatible-{uuid.uuid4().hex[:6]}"
    client = registry_client(registry.url)
    client.set_compatibility(f"{topic}-value", "FULL")
    fields = [{"name": "id", "type": "long"}]
    other = json.dumps({"type": "record", "name": "RssItem", "namespace": "kafka_data_producers", "fields": fields})
    client.register_schema(f"{topic}-value", Schema(other, "AVRO"))
    # Then the run fails before sending, and says so
    with pytest.raises(
        SchemaRegistryError, match=r"does not hold rss_item\.v1\.avsc .* NOT compatible .* latest version 1"
    ):
        run("rss_item", topic, "avro")
    assert sent == []


@pytest.mark.parametrize("value_format", FORMATS)
def test_a_polymarket_price_v1_consumer_reads_what_v2_writes(
    value_format: str, broker: EmbeddedBroker, registry: EmbeddedRegistry, run: Run, sent: list[OutgoingMessage]
) -> None:
    # Given v1 and v2 registered, and the handler writing v2
    topic = f"pm-v1-reader-{value_format}-{uuid.uuid4().hex[:6]}"
    register(registry.url, value_format, {"polymarket_price": topic})
    summary = run("polymarket_price", topic, value_format)
    assert summary["failed"] == 0 and sent and {m.value["schema"] for m in sent} == {"polymarket_price/2"}
    # When a consumer built for v1 reads the topic: Avro with v1 as its reader schema (the registry's
    # deserializer resolves the writer's v2 to it), JSON Schema with the writer's schema as the default
    v1 = decoder(value_format, registry.url, topic, catalog.text("polymarket_price", 1, "avro"))
    received = {m["key"]: m["value"] for m in read_topic(broker.bootstrap, topic, value_decoder=v1)}
    # Then every v1 field reads as written
    v1_fields = list(json.loads(catalog.text("polymarket_price", 1, "json_schema"))["properties"])
    for message in sent:
        assert {name: received[message.key][name] for name in v1_fields} == {
            name: message.value[name] for name in v1_fields
        }
    if value_format == "avro":  # and a v1 reader sees v1's fields only
        assert all(set(value) == set(v1_fields) for value in received.values())
