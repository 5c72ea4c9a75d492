"""Running the RSS handler through tools/local/invoke.py (as `make invoke` does) against Apache Kafka,
and reading back what it wrote."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import feedparser
from confluent_kafka.admin import AdminClient, NewTopic

from tools.local.invocation import Result, run
from tools.services.broker import read_topic
from tools.services.fixture_server import FEEDS
from tools.services.kafka import ApacheKafka
from tools.services.kafka_setup import fetch, java_binary

ROOT = Path(__file__).resolve().parents[2]
# What the caller's shell may carry that would change a run: none of it reaches the handler.
OWN_PREFIXES = ("KAFKA_", "AWS_", "FEED_", "STATE_", "FETCH_", "LOG_LEVEL")
RSS_FIELDS = {"schema", "id", "feed_url", "feed_title", "title", "link", "summary", "author", "tags"}
RSS_FIELDS |= {"published_at", "fetched_at"}


@dataclass(frozen=True)
class SecretsManager:
    """A moto server holding one Kafka secret per SASL user of the broker."""

    url: str
    secret_ids: dict[str, str]  # mechanism -> secret ARN
    client: object

    def env(self, secret_id: str) -> dict[str, str]:
        """What the handler needs to read ``secret_id`` from this server instead of AWS."""
        return {
            "KAFKA_SECRET_ID": secret_id,
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": self.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
        }


def new_topic(kafka: ApacheKafka, prefix: str, partitions: int = 1, config: dict[str, str] | None = None) -> str:
    """A topic of its own, created before anything is sent to it."""
    topic = f"{prefix}-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": kafka.plaintext})
    admin.create_topics([NewTopic(topic, partitions, 1, config=config or {})])[topic].result(30)
    return topic


def java(*arguments: str, stdin: str | None = None, secret: str = "") -> str:
    """Runs a class of the jars tools/services/kafka_setup.py fetches (or a source file beside them); its stdout.
    A failure shows its stderr with ``secret`` masked."""
    done = subprocess.run(
        [java_binary(), "-cp", f"{fetch()}/*", *arguments], input=stdin, capture_output=True, text=True, timeout=120
    )
    stderr = done.stderr[-3000:]
    assert done.returncode == 0, stderr.replace(secret, "***") if secret else stderr
    return done.stdout


def clean_environ() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if not name.startswith(OWN_PREFIXES)}


def kafka_env(
    kafka: ApacheKafka, protocol: str, mechanism: str | None = None, client: str = "confluent"
) -> dict[str, str]:
    """The handler's Kafka settings for one listener; credentials are the caller's to add."""
    env = {"KAFKA_CLIENT": client, "KAFKA_SECURITY_PROTOCOL": protocol}
    if protocol == "PLAINTEXT":
        return env | {"KAFKA_BOOTSTRAP_SERVERS": kafka.plaintext}
    env |= {"KAFKA_SSL_CA_LOCATION": kafka.ca_file}
    if protocol == "SSL":
        return env | {"KAFKA_BOOTSTRAP_SERVERS": kafka.ssl}
    assert mechanism is not None
    return env | {"KAFKA_BOOTSTRAP_SERVERS": kafka.sasl_ssl, "KAFKA_SASL_MECHANISM": mechanism}


def invoke_rss(env: dict[str, str], state_path: Path, timeout_s: float = 120) -> Result:
    env = {"STATE_PATH": str(state_path)} | env
    return run("RssProducerFunction", env, environ=clean_environ(), timeout_s=timeout_s)


def served_items(feed_urls: list[str]) -> dict[str, int]:
    """Each served feed's URL -> how many distinct entries (differing in anything the reference parser
    reads) its recorded file has: each is an item of its own, however its ids collide."""
    counts: dict[str, int] = {}
    for url in feed_urls:
        entries = feedparser.parse((FEEDS / url.rsplit("/", 1)[1]).read_bytes()).entries
        counts[url] = len({json.dumps(entry, sort_keys=True, default=str) for entry in entries})
    return counts


def read_back(kafka: ApacheKafka, topic: str) -> list[dict[str, Any]]:
    """Every record of the topic, from Apache Kafka's log (assign(), from the first offset)."""
    return read_topic(kafka.plaintext, topic, timeout_s=20)


def assert_delivers_everything(kafka: ApacheKafka, env: dict[str, str], state: Path, feed_urls: list[str]) -> Result:
    """A run of ``env`` (its KAFKA_TOPIC) on ``state`` delivers every item of every feed once, as the contract says."""
    run = invoke_rss(env | {"FEED_URLS": ",".join(feed_urls)}, state)
    assert run.exit_code == 0, run.log_text[-3000:]
    expected = served_items(feed_urls)
    assert run.value["status"] == "ok" and run.value["failed"] == 0
    assert run.value["produced"] == sum(expected.values())
    messages = read_back(kafka, env["KAFKA_TOPIC"])
    check_rss_messages(messages, feed_urls)
    assert len(messages) == len({m["key"] for m in messages}) == sum(expected.values())
    for url, count in expected.items():
        assert sum(m["value"]["feed_url"] == url for m in messages) == count, url
    return run


def check_rss_messages(messages: list[dict[str, Any]], feed_urls: list[str]) -> None:
    """Key, headers and JSON value of every message are what the contract says."""
    for message in messages:
        value = message["value"]
        assert isinstance(value, dict), message
        assert set(value) >= RSS_FIELDS, sorted(RSS_FIELDS - set(value))
        assert value["schema"] == "rss_item/1" and message["key"] == value["id"]
        assert message["headers"] == {"schema": "rss_item/1", "source": value["feed_url"]}
        assert value["feed_url"] in feed_urls
        assert value["fetched_at"].endswith(("Z", "+00:00"))
