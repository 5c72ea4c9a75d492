"""KAFKA_VALUE_FORMAT avro and json_schema against an in-memory (mock://) registry: the wire format,
the start-up check of the subject, and a message that does not fit its schema."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from typing import Any
from unittest.mock import Mock

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.schema_registry.json_schema import JSONDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext
from producer_common import ConfigurationError, Deadline, KafkaSettings, MessageProducer, OutgoingMessage, open_producer
from producer_common.credentials import resolve_registry_credentials
from producer_common.exceptions import CredentialsError, SchemaRegistryError
from producer_common.schema_files import schema_text

from tests.unit.producer_common.fakes import FakeBackend, factory
from tools.services import schema_catalog as catalog

TOPIC = "rss.items"
REF = "rss_item/1"
FORMATS = ["avro", "json_schema"]


def item(n: int, **changes: Any) -> dict[str, Any]:
    return {
        "schema": REF,
        "id": f"{n:032x}",
        "feed_url": "https://example.org/feed.xml",
        "feed_title": "Example",
        "title": f"Item {n}",
        "link": f"https://example.org/{n}",
        "summary": None,
        "author": None,
        "tags": ["news"],
        "published_at": "2026-11-30T08:00:00Z",
        "fetched_at": "2026-12-01T07:00:00Z",
        **changes,
    }


def message(value: dict[str, Any]) -> OutgoingMessage:
    return OutgoingMessage(value["id"], value, {"schema": REF, "source": value["feed_url"]})


def settings(value_format: str) -> KafkaSettings:
    environ = {"KAFKA_VALUE_FORMAT": value_format, "SCHEMA_REGISTRY_URL": "http://r:8081"}
    return KafkaSettings.from_env({"KAFKA_BOOTSTRAP_SERVERS": "b:9092", **environ}, default_topic=TOPIC)


def schema(value_format: str) -> Schema:
    """The schema the code writes, in ``value_format``."""
    return Schema(schema_text(REF, value_format), catalog.SCHEMA_TYPES[value_format])


def mock_registry(value_format: str, register: bool = True) -> SchemaRegistryClient:
    client = SchemaRegistryClient.new_client({"url": "mock://unit"})
    for subject in client.get_subjects():
        client.delete_subject(subject)
    if register:
        client.register_schema(f"{TOPIC}-value", schema(value_format))
    return client


def start(value_format: str, client: SchemaRegistryClient, backend: FakeBackend) -> MessageProducer:
    return open_producer(
        settings(value_format),
        Deadline(fallback_s=30),
        backend_factory=factory(backend),
        value_schemas=[REF],
        registry_client=client,
    )


def decode(value_format: str, client: SchemaRegistryClient, data: bytes) -> Any:
    context = SerializationContext(TOPIC, MessageField.VALUE)
    if value_format == "avro":
        return AvroDeserializer(client)(data, context)
    return JSONDeserializer(None, schema_registry_client=client)(data, context)


@pytest.mark.parametrize("value_format", FORMATS)
def test_values_are_framed_with_the_registered_schema_id(value_format: str) -> None:
    # Given the subject holds the schema the code writes
    client, backend = mock_registry(value_format), FakeBackend()
    registered = client.lookup_schema(f"{TOPIC}-value", schema(value_format))
    sent = [item(1), item(2, summary="Ünïcode ☕", author="A. Writer", tags=[])]
    # When the producer sends two items
    with start(value_format, client, backend) as producer:
        for value in sent:
            producer.send(message(value))
    # Then both were delivered in the Confluent wire format: magic byte 0, the schema id, the payload
    assert producer.report.ok and len(backend.produced) == 2
    for produced, value in zip(backend.produced, sent, strict=True):
        assert produced.value[0] == 0 and struct.unpack(">I", produced.value[1:5])[0] == registered.schema_id
        assert decode(value_format, client, produced.value) == value
        assert dict(produced.headers) == {"schema": REF.encode(), "source": value["feed_url"].encode()}


@pytest.mark.parametrize("value_format", FORMATS)
def test_a_message_that_does_not_fit_is_reported_failed_and_never_sent(value_format: str) -> None:
    client, backend = mock_registry(value_format), FakeBackend()
    with start(value_format, client, backend) as producer:
        producer.send(message(item(1)))
        producer.send(message(item(2, title=42)))  # a number where the schema says string
        producer.send(message({k: v for k, v in item(3).items() if k != "tags"}))  # a field missing
        producer.send(message(item(4, extra="field")))  # a field the schema does not name
        producer.send(message(item(5)))
    report = producer.report
    assert report.acknowledged == (f"{1:032x}", f"{5:032x}")
    assert [f.ref for f in report.failed] == [f"{n:032x}" for n in (2, 3, 4)]
    assert all(f.reason.startswith("does not fit rss_item/1: ") for f in report.failed)
    assert len(backend.produced) == 2


@pytest.mark.parametrize("value_format", FORMATS)
def test_an_unregistered_subject_fails_at_start_with_what_to_do(value_format: str) -> None:
    backend = FakeBackend()
    with pytest.raises(SchemaRegistryError, match=r"subject rss\.items-value has no schema; register rss_item\.v1\."):
        start(value_format, mock_registry(value_format, register=False), backend)
    assert backend.produced == []


def test_a_subject_holding_another_schema_fails_at_start() -> None:
    # Given the subject's latest version is not the schema the code writes
    client = mock_registry("avro", register=False)
    other = json.loads(schema_text(REF, "avro"))
    other["fields"] = other["fields"][:3]
    client.register_schema(f"{TOPIC}-value", Schema(json.dumps(other), "AVRO"))
    with pytest.raises(SchemaRegistryError, match=r"does not hold rss_item\.v1\.avsc .* latest version 1"):
        start("avro", client, FakeBackend())


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"KAFKA_VALUE_FORMAT": "avro"}, "SCHEMA_REGISTRY_URL: is required when KAFKA_VALUE_FORMAT is avro"),
        ({"KAFKA_VALUE_FORMAT": "protobuf"}, "KAFKA_VALUE_FORMAT: must be one of json, json_schema, avro"),
        (
            {"KAFKA_VALUE_FORMAT": "json_schema", "SCHEMA_REGISTRY_URL": "r:8081"},
            "SCHEMA_REGISTRY_URL: expects an http",
        ),
    ],
    ids=["no-url", "unknown-format", "url-not-http"],
)
def test_a_registry_format_needs_the_registry_url(changes: dict[str, str], error: str) -> None:
    with pytest.raises(ConfigurationError, match=error):
        KafkaSettings.from_env({"KAFKA_BOOTSTRAP_SERVERS": "b:9092", **changes}, default_topic=TOPIC)
    plain = KafkaSettings.from_env({"KAFKA_BOOTSTRAP_SERVERS": "b:9092"}, default_topic=TOPIC)
    assert (plain.value_format, plain.uses_registry) == ("json", False)


def test_json_is_the_default_and_never_loads_the_registry_client() -> None:
    # In a fresh interpreter: a json producer sends without importing confluent_kafka.schema_registry
    code = (
        "import sys\n"
        "from producer_common import Deadline, KafkaSettings, OutgoingMessage, open_producer\n"
        "class Backend:\n"
        "    name, values = 'inline', []\n"
        "    def produce(self, topic, key, value, headers, sequence): self.values.append(value)\n"
        "    def poll(self): pass\n"
        "    def flush(self, timeout_s): pass\n"
        "    def close(self, timeout_s): pass\n"
        "backend = Backend()\n"
        "s = KafkaSettings.from_env({'KAFKA_BOOTSTRAP_SERVERS': 'b:9092'}, default_topic='t')\n"
        "with open_producer(s, Deadline(fallback_s=5), backend_factory=lambda settle: backend) as p:\n"
        "    p.send(OutgoingMessage('k', {'a': 1}))\n"
        "assert backend.values == [b'{\"a\":1}']\n"
        "loaded = [m for m in sys.modules if m.startswith(('confluent_kafka.schema_registry', 'fastavro', 'jsonschema',"
        " 'httpx', 'authlib', 'producer_common.registry'))]\n"
        "print(loaded)\n"
    )
    loaded = subprocess.check_output(
        [sys.executable, "-c", code], text=True, env={"PYTHONPATH": "layers/common/python:."}, cwd=catalog.ROOT
    )
    assert loaded.strip() == "[]"


def secret(text: str) -> Mock:
    """A Secrets Manager client of its own (nothing read before is cached for it), holding ``text``."""
    return Mock(get_secret_value=Mock(return_value={"SecretString": text}))


def test_registry_credentials_from_a_secret_or_the_environment() -> None:
    base = {"KAFKA_BOOTSTRAP_SERVERS": "b:9092", "KAFKA_VALUE_FORMAT": "avro", "SCHEMA_REGISTRY_URL": "https://r"}
    with_secret = KafkaSettings.from_env({**base, "SCHEMA_REGISTRY_SECRET_ID": "sr-key"}, default_topic=TOPIC)
    creds = resolve_registry_credentials(with_secret, {}, secret('{"username": "KEY", "password": "SECRET-VALUE"}'))
    assert creds is not None and (creds.username, creds.password) == ("KEY", "SECRET-VALUE")
    assert "SECRET-VALUE" not in repr(creds)
    with pytest.raises(CredentialsError, match="schema registry secret 'sr-key' needs non-empty") as error:
        resolve_registry_credentials(with_secret, {}, secret('{"username": "KEY"}'))
    assert "KEY" not in str(error.value)
    local = KafkaSettings.from_env(base, default_topic=TOPIC)
    assert resolve_registry_credentials(local, {}) is None
    env = {"SCHEMA_REGISTRY_USERNAME": "u", "SCHEMA_REGISTRY_PASSWORD": "p"}
    assert resolve_registry_credentials(local, env) is not None
