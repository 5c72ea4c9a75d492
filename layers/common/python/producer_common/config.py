"""Kafka settings, read once from the environment and frozen."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from . import constants as c
from . import env
from .exceptions import ConfigurationError


@dataclass(frozen=True)
class KafkaSettings:
    """Everything needed to open a producer; holds no secret values."""

    bootstrap_servers: str
    topic: str
    client: str = c.DEFAULT_CLIENT
    security_protocol: str = c.DEFAULT_SECURITY_PROTOCOL
    sasl_mechanism: str | None = None
    secret_id: str | None = None
    ssl_ca_location: str | None = None  # a CA bundle (PEM); None: the system's trust store
    compression: str = c.DEFAULT_COMPRESSION[c.DEFAULT_CLIENT]
    partitioner: str = c.PARTITIONER_MURMUR2
    linger_ms: int = c.DEFAULT_LINGER_MS
    delivery_timeout_s: float = c.DEFAULT_DELIVERY_TIMEOUT_S
    flush_margin_s: float = c.DEFAULT_FLUSH_MARGIN_S
    client_id: str = c.DEFAULT_CLIENT_ID
    region: str = c.DEFAULT_REGION
    value_format: str = c.DEFAULT_VALUE_FORMAT
    schema_registry_url: str | None = None
    schema_registry_secret_id: str | None = None

    @property
    def needs_password(self) -> bool:
        return self.sasl_mechanism in (c.SASL_PLAIN, c.SASL_SCRAM_256, c.SASL_SCRAM_512)

    @property
    def uses_registry(self) -> bool:
        return self.value_format != c.FORMAT_JSON

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, default_topic: str | None = None) -> KafkaSettings:
        e = os.environ if environ is None else environ
        client = env.choice(e, c.KAFKA_CLIENT, c.CLIENTS, c.DEFAULT_CLIENT)
        assert client is not None
        protocol = env.choice(e, c.KAFKA_SECURITY_PROTOCOL, c.SECURITY_PROTOCOLS, c.DEFAULT_SECURITY_PROTOCOL)
        assert protocol is not None
        mechanism = env.choice(e, c.KAFKA_SASL_MECHANISM, c.SASL_MECHANISMS, None)
        if mechanism and protocol != "SASL_SSL":
            raise ConfigurationError(
                c.KAFKA_SECURITY_PROTOCOL, f"must be SASL_SSL when KAFKA_SASL_MECHANISM is {mechanism}"
            )
        if protocol == "SASL_SSL" and not mechanism:
            raise ConfigurationError(c.KAFKA_SASL_MECHANISM, "is required when KAFKA_SECURITY_PROTOCOL is SASL_SSL")
        secret_id = env.optional_str(e, c.KAFKA_SECRET_ID)
        value_format = env.choice(e, c.KAFKA_VALUE_FORMAT, c.VALUE_FORMATS, c.DEFAULT_VALUE_FORMAT)
        assert value_format is not None
        settings = cls(
            bootstrap_servers=_bootstrap_servers(e),
            topic=_topic(e, default_topic),
            client=client,
            security_protocol=protocol,
            sasl_mechanism=mechanism,
            secret_id=secret_id,
            ssl_ca_location=_ssl_ca_location(e, protocol),
            compression=_compression(e, client),
            partitioner=_partitioner(e, client),
            linger_ms=env.integer(e, c.KAFKA_LINGER_MS, c.DEFAULT_LINGER_MS, 0, 60_000),
            delivery_timeout_s=env.number(e, c.KAFKA_DELIVERY_TIMEOUT_S, c.DEFAULT_DELIVERY_TIMEOUT_S, 1, 900),
            flush_margin_s=env.number(e, c.KAFKA_FLUSH_MARGIN_S, c.DEFAULT_FLUSH_MARGIN_S, 0, 120),
            client_id=env.optional_str(e, c.KAFKA_CLIENT_ID, c.DEFAULT_CLIENT_ID) or c.DEFAULT_CLIENT_ID,
            region=env.optional_str(e, c.AWS_REGION) or env.optional_str(e, c.AWS_DEFAULT_REGION) or c.DEFAULT_REGION,
            value_format=value_format,
            schema_registry_url=_registry_url(e, value_format),
            schema_registry_secret_id=env.optional_str(e, c.SCHEMA_REGISTRY_SECRET_ID),
        )
        if (
            settings.needs_password
            and not secret_id
            and not (env.optional_str(e, c.KAFKA_USERNAME) and env.optional_str(e, c.KAFKA_PASSWORD))
        ):
            raise ConfigurationError(
                c.KAFKA_SECRET_ID, f"(or KAFKA_USERNAME and KAFKA_PASSWORD) is required for SASL {mechanism}"
            )
        return settings


def _compression(e: Mapping[str, str], client: str) -> str:
    compression = env.choice(e, c.KAFKA_COMPRESSION, c.COMPRESSIONS, c.DEFAULT_COMPRESSION[client]) or "none"
    supported = c.CLIENT_COMPRESSIONS[client]
    if compression not in supported:
        raise ConfigurationError(
            c.KAFKA_COMPRESSION,
            f"{compression} is not available with KAFKA_CLIENT={client} (it has {', '.join(supported)}); "
            f"use KAFKA_CLIENT={c.CLIENT_CONFLUENT} for {compression}",
        )
    return compression


def _partitioner(e: Mapping[str, str], client: str) -> str:
    partitioner = env.choice(e, c.KAFKA_PARTITIONER, c.PARTITIONERS, c.PARTITIONER_MURMUR2)
    assert partitioner is not None
    if partitioner != c.PARTITIONER_MURMUR2 and client != c.CLIENT_CONFLUENT:
        raise ConfigurationError(
            c.KAFKA_PARTITIONER, f"{partitioner} is librdkafka's: it needs KAFKA_CLIENT=confluent, not {client}"
        )
    return partitioner


def _bootstrap_servers(e: Mapping[str, str]) -> str:
    raw = env.required_str(e, c.KAFKA_BOOTSTRAP_SERVERS)
    servers = [server.strip() for server in raw.split(",") if server.strip()]
    for server in servers:
        host, _, port = server.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigurationError(c.KAFKA_BOOTSTRAP_SERVERS, f"expects host:port entries, got {server!r}")
    return ",".join(servers)


def _ssl_ca_location(e: Mapping[str, str], protocol: str) -> str | None:
    path = env.readable_file(e, c.KAFKA_SSL_CA_LOCATION)
    if path is None:
        return None
    if protocol == "PLAINTEXT":
        raise ConfigurationError(
            c.KAFKA_SSL_CA_LOCATION, "applies to SSL and SASL_SSL, but KAFKA_SECURITY_PROTOCOL is PLAINTEXT"
        )
    with open(path, "rb") as bundle:
        if b"-----BEGIN CERTIFICATE-----" not in bundle.read(_MAX_CA_BUNDLE_BYTES):
            raise ConfigurationError(c.KAFKA_SSL_CA_LOCATION, f"{path!r} holds no PEM certificate")
    return path


_MAX_CA_BUNDLE_BYTES = 4 * 1024 * 1024  # the system's whole bundle is about 200 KB


def _topic(e: Mapping[str, str], default: str | None) -> str:
    topic = env.optional_str(e, c.KAFKA_TOPIC, default)
    if topic is None:
        raise ConfigurationError(c.KAFKA_TOPIC, "is required but not set")
    if len(topic) > 249 or not all(ch.isalnum() or ch in "._-" for ch in topic):
        raise ConfigurationError(c.KAFKA_TOPIC, f"is not a valid topic name: {topic!r}")
    return topic


def _registry_url(e: Mapping[str, str], value_format: str) -> str | None:
    url = env.optional_str(e, c.SCHEMA_REGISTRY_URL)
    if value_format == c.FORMAT_JSON:
        return url
    if url is None:
        raise ConfigurationError(c.SCHEMA_REGISTRY_URL, f"is required when KAFKA_VALUE_FORMAT is {value_format}")
    if not env.is_http_url(url):
        raise ConfigurationError(c.SCHEMA_REGISTRY_URL, f"expects an http(s) URL, got {url!r}")
    return url.rstrip("/")
