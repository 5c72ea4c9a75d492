"""KafkaSettings and the typed environment readers: every error names its variable."""

from __future__ import annotations

import pytest
from producer_common import ConfigurationError, KafkaSettings
from producer_common import env as read

BASE = {"KAFKA_BOOTSTRAP_SERVERS": "b1:9092, b2:9093"}


def test_defaults_from_a_minimal_environment_frozen() -> None:
    settings = KafkaSettings.from_env(BASE, default_topic="rss.items")
    assert settings.bootstrap_servers == "b1:9092,b2:9093"
    assert (settings.topic, settings.client, settings.security_protocol) == ("rss.items", "confluent", "PLAINTEXT")
    assert settings.compression == "lz4" and settings.sasl_mechanism is None
    assert settings.partitioner == "murmur2_random"
    with pytest.raises(AttributeError):  # frozen
        settings.topic = "other"  # type: ignore[misc]


def test_kafka_python_defaults_to_gzip_and_empty_strings_count_as_unset() -> None:
    settings = KafkaSettings.from_env({**BASE, "KAFKA_CLIENT": "kafka-python", "KAFKA_SECRET_ID": ""}, "t")
    assert settings.compression == "gzip" and settings.secret_id is None


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"KAFKA_BOOTSTRAP_SERVERS": ""}, "KAFKA_BOOTSTRAP_SERVERS"),
        ({"KAFKA_BOOTSTRAP_SERVERS": "no-port"}, "KAFKA_BOOTSTRAP_SERVERS"),
        ({"KAFKA_BOOTSTRAP_SERVERS": "h:99999"}, "KAFKA_BOOTSTRAP_SERVERS"),
        ({"KAFKA_CLIENT": "librdkafka"}, "KAFKA_CLIENT"),
        ({"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"}, "KAFKA_SECURITY_PROTOCOL"),
        ({"KAFKA_SASL_MECHANISM": "GSSAPI", "KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "KAFKA_SASL_MECHANISM"),
        ({"KAFKA_SASL_MECHANISM": "PLAIN"}, "KAFKA_SECURITY_PROTOCOL"),
        ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "KAFKA_SASL_MECHANISM"),
        ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512"}, "KAFKA_SECRET_ID"),
        ({"KAFKA_TOPIC": "bad topic!"}, "KAFKA_TOPIC"),
        ({"KAFKA_LINGER_MS": "soon"}, "KAFKA_LINGER_MS"),
        ({"KAFKA_DELIVERY_TIMEOUT_S": "0"}, "KAFKA_DELIVERY_TIMEOUT_S"),
        ({"KAFKA_COMPRESSION": "brotli"}, "KAFKA_COMPRESSION"),
        ({"KAFKA_COMPRESSION": "zstd", "KAFKA_CLIENT": "kafka-python"}, "KAFKA_COMPRESSION"),
        ({"KAFKA_PARTITIONER": "random"}, "KAFKA_PARTITIONER"),
        ({"KAFKA_PARTITIONER": "consistent_random", "KAFKA_CLIENT": "kafka-python"}, "KAFKA_PARTITIONER"),
    ],
)
def test_invalid_values_name_the_variable(overrides: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        KafkaSettings.from_env({**BASE, **overrides}, "t")
    assert caught.value.variable == variable
    assert str(caught.value).startswith(variable)


def test_sasl_with_local_credentials_or_a_secret_is_accepted() -> None:
    sasl = {**BASE, "KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-256"}
    assert KafkaSettings.from_env({**sasl, "KAFKA_USERNAME": "u", "KAFKA_PASSWORD": "p"}, "t").needs_password
    assert KafkaSettings.from_env({**sasl, "KAFKA_SECRET_ID": "arn:secret"}, "t").secret_id == "arn:secret"
    iam = {**sasl, "KAFKA_SASL_MECHANISM": "AWS_MSK_IAM", "AWS_REGION": "eu-west-1"}
    settings = KafkaSettings.from_env(iam, "t")
    assert not settings.needs_password and settings.region == "eu-west-1"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a, b,,c", ("a", "b", "c")),
        ("a\nb\n\n a ", ("a", "b")),
        ('["x", "y", "x"]', ("x", "y")),
        ("", ()),
    ],
)
def test_string_lists_accept_commas_newlines_and_json(raw: str, expected: tuple[str, ...]) -> None:
    assert read.string_list({"V": raw}, "V") == expected


@pytest.mark.parametrize("raw", ['["a", 1]', "[not json", '[{"a": 1}]'])
def test_malformed_json_lists_name_the_variable(raw: str) -> None:
    with pytest.raises(ConfigurationError, match="^V:"):
        read.string_list({"V": raw}, "V")


def test_url_lists_refuse_non_http_entries() -> None:
    assert read.url_list({"U": "https://a/x, http://b"}, "U") == ("https://a/x", "http://b")
    with pytest.raises(ConfigurationError, match="^U:"):
        read.url_list({"U": "https://a, ftp://b"}, "U")


def test_numbers_are_bounded() -> None:
    assert read.integer({"N": "5"}, "N", 1, 1, 10) == 5
    assert read.number({}, "N", 2.5) == 2.5
    with pytest.raises(ConfigurationError, match="between"):
        read.integer({"N": "11"}, "N", 1, 1, 10)
    with pytest.raises(ConfigurationError, match="between"):
        read.number({"N": "nan"}, "N", 1.0, 0.0, 10.0)
