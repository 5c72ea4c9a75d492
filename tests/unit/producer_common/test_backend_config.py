"""Both backends get the same delivery guarantees and authentication, in their own dialect."""

from __future__ import annotations

import pytest
from producer_common import KafkaSettings, SaslCredentials
from producer_common.backends import confluent, kafka_python

BASE = {"KAFKA_BOOTSTRAP_SERVERS": "b1:9092,b2:9092"}
SASL = {**BASE, "KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}
SCRAM = {**SASL, "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "KAFKA_USERNAME": "u", "KAFKA_PASSWORD": "p"}
IAM = {**SASL, "KAFKA_SASL_MECHANISM": "AWS_MSK_IAM", "AWS_REGION": "eu-west-1"}


def test_confluent_is_idempotent_with_acks_all_batching_and_compression() -> None:
    config = confluent.producer_config(KafkaSettings.from_env(BASE, "t"), None, 42)
    assert config["enable.idempotence"] is True and config["acks"] == "all"
    assert config["compression.type"] == "lz4" and config["linger.ms"] == 20
    assert config["message.timeout.ms"] == 42_000
    assert config["security.protocol"] == "PLAINTEXT" and "sasl.mechanisms" not in config
    assert config["partitioner"] == "murmur2_random"  # Java's choice of partition (tests/kafka shows it)


def test_confluent_keeps_librdkafkas_old_partitioner_when_asked() -> None:
    settings = KafkaSettings.from_env({**BASE, "KAFKA_PARTITIONER": "consistent_random"}, "t")
    assert confluent.producer_config(settings, None, 42)["partitioner"] == "consistent_random"


def test_kafka_python_is_idempotent_with_bounded_blocking() -> None:
    settings = KafkaSettings.from_env({**BASE, "KAFKA_CLIENT": "kafka-python"}, "t")
    config = kafka_python.producer_config(settings, None, 42)
    assert config["enable_idempotence"] is True and config["acks"] == "all"
    assert config["bootstrap_servers"] == ["b1:9092", "b2:9092"]
    assert config["compression_type"] == "gzip" and config["delivery_timeout_ms"] == 42_000
    assert config["max_block_ms"] <= 10_000 and config["bootstrap_timeout_ms"] <= 10_000


def test_scram_credentials_reach_both_backends() -> None:
    settings = KafkaSettings.from_env(SCRAM, "t")
    credentials = SaslCredentials("u", "p")
    c = confluent.producer_config(settings, credentials, 60)
    k = kafka_python.producer_config(settings, credentials, 60)
    expected = ("SASL_SSL", "SCRAM-SHA-512", "u", "p")
    assert (c["security.protocol"], c["sasl.mechanisms"], c["sasl.username"], c["sasl.password"]) == expected
    assert (k["security_protocol"], k["sasl_mechanism"], k["sasl_plain_username"], k["sasl_plain_password"]) == expected


def test_msk_iam_uses_oauthbearer_tokens_signed_for_the_region(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def fake_sign(region: str) -> tuple[str, int]:
        calls.append(region)
        return f"token-{len(calls)}", 4_102_444_800_000  # expiry in ms, far ahead

    from aws_msk_iam_sasl_signer import MSKAuthTokenProvider

    monkeypatch.setattr(MSKAuthTokenProvider, "generate_auth_token", fake_sign)
    settings = KafkaSettings.from_env(IAM, "t")
    c = confluent.producer_config(settings, None, 60)
    assert c["sasl.mechanisms"] == "OAUTHBEARER"
    assert c["oauth_cb"]("") == ("token-1", 4_102_444_800.0)
    k = kafka_python.producer_config(settings, None, 60)
    assert k["sasl_mechanism"] == "OAUTHBEARER"
    provider = k["sasl_oauth_token_provider"]
    assert provider.token() == "token-2" and provider.token() == "token-2"  # reused until near expiry
    assert calls == ["eu-west-1", "eu-west-1"]


@pytest.mark.parametrize("delivery_timeout_s", [1, 2.5, 10, 60, 900])
def test_kafka_python_timeouts_are_consistent_for_any_budget(delivery_timeout_s: float) -> None:
    settings = KafkaSettings.from_env({**BASE, "KAFKA_CLIENT": "kafka-python", "KAFKA_LINGER_MS": "200"}, "t")
    config = kafka_python.producer_config(settings, None, delivery_timeout_s)
    assert config["delivery_timeout_ms"] > config["linger_ms"] + config["request_timeout_ms"]
