"""Values in the Confluent wire format through a schema registry (KAFKA_VALUE_FORMAT avro or json_schema).

Imported only when such a format is chosen: ``confluent_kafka.schema_registry`` and what it needs
(httpx, authlib, fastavro, jsonschema) come from the optional SchemaRegistryLayer.

Subjects follow the topic-name strategy, ``<topic>-value``. A producer never registers a schema:
``require`` finds the subject's version that is exactly the schema file the code writes, and
raises a clear ``SchemaRegistryError`` when there is none (``make register-schemas`` registers them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError as RegistryAnswer
from confluent_kafka.schema_registry.json_schema import JSONSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from .constants import FORMAT_AVRO, FORMAT_JSON_SCHEMA, HEADER_SCHEMA
from .credentials import SaslCredentials
from .exceptions import SchemaRegistryError
from .schema_files import schema_path, schema_text

SCHEMA_TYPES = {FORMAT_AVRO: "AVRO", FORMAT_JSON_SCHEMA: "JSON"}
# Never auto-register; Avro refuses a field the schema does not name (as JSON Schema's closed model does).
_AVRO_CONF = {"auto.register.schemas": False, "validate.strict": True}
_JSON_CONF = {"auto.register.schemas": False, "validate": True}
_NOT_FOUND = 404
REASON_LIMIT = 300  # characters of a validation error kept as a message's failure reason

Serialize = Callable[[Mapping[str, Any]], bytes]


def subject_for(topic: str) -> str:
    return f"{topic}-value"


def registry_client(url: str, credentials: SaslCredentials | None = None) -> SchemaRegistryClient:
    """A client that gives up in seconds: a registry outage fails the run at start, not its deadline."""
    conf: dict[str, Any] = {"url": url, "timeout": 10, "max.retries": 2, "retries.wait.ms": 200}
    if credentials is not None:
        conf["basic.auth.user.info"] = f"{credentials.username}:{credentials.password}"
    return SchemaRegistryClient(conf)


class RegistryValues:
    """Encodes each message with the serializer of its topic and ``schema`` header, built once."""

    def __init__(self, value_format: str, client: SchemaRegistryClient) -> None:
        if value_format not in SCHEMA_TYPES:
            raise ValueError(f"not a registry format: {value_format!r}")
        self.value_format = value_format
        self._client = client
        self._serializers: dict[tuple[str, str], Serialize] = {}

    def require(self, topic: str, ref: str) -> int:
        """The registered version of ``ref``'s schema under ``topic``'s subject; builds its serializer.
        Raises ``SchemaRegistryError`` naming the subject and what to do when there is none."""
        subject = subject_for(topic)
        try:
            text = schema_text(ref, self.value_format)
        except ValueError as error:
            raise SchemaRegistryError(str(error)) from None
        schema = Schema(text, SCHEMA_TYPES[self.value_format])
        try:
            registered = self._client.lookup_schema(subject, schema)
        except RegistryAnswer as error:
            if error.http_status_code != _NOT_FOUND:
                raise SchemaRegistryError(f"schema registry could not look up {subject}: {error}") from None
            raise SchemaRegistryError(self._missing(subject, schema, ref)) from None
        except Exception as error:  # transport errors: the registry is down or unreachable
            raise SchemaRegistryError(f"schema registry unreachable for {subject}: {type(error).__name__}") from None
        self._serializers[(topic, ref)] = self._serializer(topic, schema)
        return int(registered.version or 0)

    def _missing(self, subject: str, schema: Schema, ref: str) -> str:
        file = Path(schema_path(ref, self.value_format)).name
        try:
            latest = self._client.get_latest_version(subject)
        except RegistryAnswer:
            return f"subject {subject} has no schema; register {file} with `make register-schemas`"
        try:
            compatible: bool | None = bool(self._client.test_compatibility(subject, schema))
        except Exception:  # a registry without the endpoint, or a failed call: say what is known
            compatible = None
        verdict = {True: "compatible", False: "NOT compatible", None: "of unknown compatibility"}[compatible]
        return (
            f"subject {subject} does not hold {file} (the code writes {ref}); it is {verdict} with the "
            f"subject's latest version {latest.version}: register it with `make register-schemas`"
            + (" after making the change compatible (README, Schemas)" if compatible is False else "")
        )

    def _serializer(self, topic: str, schema: Schema) -> Serialize:
        # Given the Schema itself, not its text, which the serializers would reformat (and then not find).
        serializer: Callable[[Any, SerializationContext], bytes | None]
        if self.value_format == FORMAT_AVRO:
            serializer = AvroSerializer(self._client, schema, conf=_AVRO_CONF)
        else:
            serializer = JSONSerializer(schema, self._client, conf=_JSON_CONF)
        context = SerializationContext(topic, MessageField.VALUE)

        def serialize(value: Mapping[str, Any]) -> bytes:
            return serializer(value, context) or b""

        return serialize

    def encode(self, topic: str, value: Mapping[str, Any], headers: Mapping[str, str]) -> bytes:
        """The value's wire bytes; raises ``ValueError`` with the reason when it does not fit its schema."""
        ref = headers.get(HEADER_SCHEMA, "")
        serialize = self._serializers.get((topic, ref))
        if serialize is None:  # a topic or schema the run did not declare at start
            self.require(topic, ref)
            serialize = self._serializers[(topic, ref)]
        try:
            return serialize(value)
        except Exception as error:  # jsonschema's, fastavro's and the serializer's own errors
            raise ValueError(f"does not fit {ref}: {type(error).__name__}: {error}"[:REASON_LIMIT]) from None


def open_registry_values(
    value_format: str, url: str, credentials: SaslCredentials | None, client: SchemaRegistryClient | None = None
) -> RegistryValues:
    return RegistryValues(value_format, client or registry_client(url, credentials))
