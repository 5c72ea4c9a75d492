"""`make bench ONLY=F`: the value formats (KAFKA_VALUE_FORMAT) side by side, with a real registry.

F  for json, json_schema and avro: rss_item messages through producer_common against a bare
   confluent-kafka loop using the same serializer (json.dumps for json; the registry's own
   serializer, built the same way, for the others), on the same broker; the bytes per message of
   each format; and cold start with a registry format configured, as built: the handler's import
   and settings (what every cold start pays) and the registry client's import on top (what the
   first run with json_schema or avro pays), with SchemaRegistryLayer on the path.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from lambda_build.bytecode import python312
from lambda_build.layer import FUNCTION_LAYERS
from tools.bench.measure import built, row, timed_bare, timed_module
from tools.services import schema_catalog as catalog
from tools.services.registry import EmbeddedRegistry, register, registry_client

FORMATS = ("json", "json_schema", "avro")
MESSAGES = 20_000  # a registry serializer costs tens of microseconds a message
REF = "rss_item/1"
SOURCE = "https://example.org/feed.xml"


def items(count: int) -> list[tuple[str, dict[str, Any]]]:
    """rss_item/1 messages shaped like a feed's: a 300-character summary, a couple of tags."""
    return [
        (
            key := f"{i:032x}",
            {
                "schema": REF,
                "id": key,
                "feed_url": "https://example.org/feed.xml",
                "feed_title": "Example news",
                "title": f"Item {i}: something happened",
                "link": f"https://example.org/items/{i}",
                "summary": "x" * 300,
                "author": "A. Writer" if i % 2 else None,
                "tags": ["world", "politics"],
                "published_at": "2026-11-30T08:00:00Z",
                "fetched_at": "2026-12-01T07:00:00Z",
            },
        )
        for i in range(count)
    ]


def fresh_topic(registry: EmbeddedRegistry, value_format: str) -> str:
    topic = f"f-{value_format}-{uuid.uuid4().hex[:8]}"
    if value_format != "json":
        register(registry.url, value_format, {"rss_item": topic})
    return topic


def run_module(bootstrap: str, registry: EmbeddedRegistry, value_format: str, payload: list[Any]) -> float:
    from producer_common import KafkaSettings

    env = {"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "KAFKA_TOPIC": fresh_topic(registry, value_format)}
    settings = KafkaSettings.from_env({**env, "KAFKA_VALUE_FORMAT": value_format, "SCHEMA_REGISTRY_URL": registry.url})
    return timed_module(settings, payload, {"schema": REF, "source": SOURCE}, value_schemas=[REF])


def bare_serializer(registry: EmbeddedRegistry, value_format: str, topic: str) -> Any:
    """What a hand-written producer would use: json.dumps, or the registry's serializer as documented."""
    if value_format == "json":
        return lambda value: json.dumps(value).encode()
    from confluent_kafka.schema_registry import Schema
    from confluent_kafka.schema_registry.avro import AvroSerializer
    from confluent_kafka.schema_registry.json_schema import JSONSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    client = registry_client(registry.url)
    schema = Schema(catalog.text("rss_item", 1, value_format), catalog.SCHEMA_TYPES[value_format])
    conf = {"auto.register.schemas": False}
    serializer = (
        AvroSerializer(client, schema, conf=conf)
        if value_format == "avro"
        else JSONSerializer(schema, client, conf=conf)
    )
    context = SerializationContext(topic, MessageField.VALUE)
    return lambda value: serializer(value, context)


def run_bare(bootstrap: str, registry: EmbeddedRegistry, value_format: str, payload: list[Any]) -> float:
    topic = fresh_topic(registry, value_format)
    started = time.perf_counter()  # building the serializer is part of the bare loop's work, as of the module's
    serialize = bare_serializer(registry, value_format, topic)
    headers: list[tuple[str, str | bytes | None]] = [("schema", REF.encode()), ("source", SOURCE.encode())]
    built_s = time.perf_counter() - started
    return built_s + timed_bare({"bootstrap.servers": bootstrap}, topic, payload, serialize, headers)


def value_bytes(registry: EmbeddedRegistry, value_format: str, payload: list[Any]) -> float:
    """Mean size of a value as producer_common writes it (before the batch's compression)."""
    if value_format == "json":
        from producer_common.serialization import encode_value

        return statistics.mean(len(encode_value(value)) for _, value in payload)
    from producer_common.registry import open_registry_values

    topic = fresh_topic(registry, value_format)
    values = open_registry_values(value_format, registry.url, None)
    values.require(topic, REF)
    headers = {"schema": REF}
    return statistics.mean(len(values.encode(topic, value, headers)) for _, value in payload)


def cold_rows(repeat: int) -> list[list[str]]:

    interpreter = python312()
    assert interpreter, "F's cold start needs a CPython 3.12, Lambda's runtime (see lambda_build/bytecode.py)"
    with tempfile.TemporaryDirectory() as scratch:
        build, _ = built(Path(scratch) / "build")
        paths = [
            build / "RssProducerFunction",
            *(build / layer / "python" for layer in FUNCTION_LAYERS["RssProducerFunction"]),
        ]
        registry_paths = [*paths, build / "SchemaRegistryLayer" / "python"]
        env = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9", "FEED_URLS": "https://example.org/feed.xml"}
        registry_env = {**env, "KAFKA_VALUE_FORMAT": "avro", "SCHEMA_REGISTRY_URL": "http://127.0.0.1:9"}
        cases = {
            "json (default layers)": (paths, env, "import app; app.settings()"),
            "avro configured, with SchemaRegistryLayer": (registry_paths, registry_env, "import app; app.settings()"),
            "avro, + the registry client's import (first run)": (
                registry_paths,
                registry_env,
                "import app; app.settings(); import producer_common.registry",
            ),
        }
        samples: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(repeat):  # interleaved, so drift hits each alike
            for name, (path, variables, code) in cases.items():
                full = {"PATH": os.environ.get("PATH", ""), **variables, "PYTHONPATH": os.pathsep.join(map(str, path))}
                started = time.perf_counter()
                subprocess.run([interpreter, "-S", "-B", "-c", code], env=full, check=True, cwd=path[0])
                samples[name].append(time.perf_counter() - started)
    return [
        row("F", f"cold start, RssProducerFunction import + settings: {name}", runs) for name, runs in samples.items()
    ]


def f_rows(args: argparse.Namespace, bootstrap: str) -> list[list[str]]:

    count = min(args.messages, MESSAGES)
    repeat = min(args.fast_repeat, 7)
    payload = items(count)
    rows: list[list[str]] = []
    log = Path(tempfile.gettempdir()) / f"bench-registry-{os.getpid()}.log"
    with EmbeddedRegistry(log_path=log) as registry:
        run_bare(bootstrap, registry, "json", payload[:1000])  # warm the broker and librdkafka
        for value_format in FORMATS:
            module, bare = [], []
            for _ in range(repeat):  # interleaved, so drift hits both alike
                module.append(run_module(bootstrap, registry, value_format, payload))
                bare.append(run_bare(bootstrap, registry, value_format, payload))
            ratio = statistics.median(bare) / statistics.median(module)
            size = value_bytes(registry, value_format, payload)
            rows += [
                row("F", f"{count:,} rss_item messages, {value_format}, producer_common", module),
                row("F", f"{count:,} rss_item messages, {value_format}, bare loop with the same serializer", bare),
                ["F", f"{value_format}: throughput ratio module / bare (target ≥ 0.8)", f"{ratio:.2f}", "", ""],
                ["F", f"{value_format}: bytes per message value (uncompressed)", f"{size:.0f} B", "", ""],
            ]
    return rows + cold_rows(repeat)
