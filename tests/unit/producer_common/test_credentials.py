"""Credentials come from Secrets Manager (kept for a bounded age) or the local environment, and never
show their values."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from unittest.mock import Mock

import boto3
import pytest
from aws_lambda_powertools.utilities.parameters import base as powertools_parameters
from moto import mock_aws
from producer_common import ConfigurationError, CredentialsError, KafkaSettings, SaslCredentials, resolve_credentials
from producer_common.credentials import clear_cache, refresher, secrets_client

SASL = {
    "KAFKA_BOOTSTRAP_SERVERS": "b:9096",
    "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "AWS_REGION": "us-east-1",
}
PASSWORD = "s3cr3t-pa55w0rd-value"
KAFKA = KafkaSettings.from_env({**SASL, "KAFKA_SECRET_ID": "kafka"}, "t")


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def secrets() -> Iterator[Any]:
    """Secrets Manager (moto) holding the secret "kafka", behind a client that counts its reads."""
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        client.create_secret(Name="kafka", SecretString=json.dumps({"username": "svc", "password": PASSWORD}))
        yield Mock(wraps=client)


def rotate(secrets: Any) -> None:
    secrets.put_secret_value(SecretId="kafka", SecretString='{"username": "svc", "password": "rotated-password"}')


def test_secret_is_read_once_within_its_max_age(secrets: Any) -> None:
    arn = secrets.describe_secret(SecretId="kafka")["ARN"]
    settings = KafkaSettings.from_env({**SASL, "KAFKA_SECRET_ID": arn}, "t")
    first = resolve_credentials(settings, secrets_client=secrets)
    second = resolve_credentials(settings, secrets_client=secrets)
    assert first == second == SaslCredentials("svc", PASSWORD)
    assert secrets.get_secret_value.call_count == 1
    assert PASSWORD not in repr(first)


def test_a_secret_older_than_its_max_age_is_read_again(secrets: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a secret read once, then rotated
    resolve_credentials(KAFKA, {"POWERTOOLS_PARAMETERS_MAX_AGE": "60"}, secrets)
    rotate(secrets)
    assert resolve_credentials(KAFKA, {"POWERTOOLS_PARAMETERS_MAX_AGE": "60"}, secrets).password == PASSWORD  # type: ignore[union-attr]

    # When 61 s have passed (Powertools' cache reads datetime.now())
    class Later(datetime):
        @classmethod
        def now(cls, tz: object = None) -> Later:  # type: ignore[override]
            return datetime.now() + timedelta(seconds=61)  # type: ignore[return-value]

    monkeypatch.setattr(powertools_parameters, "datetime", Later)
    again = resolve_credentials(KAFKA, {"POWERTOOLS_PARAMETERS_MAX_AGE": "60"}, secrets)

    # Then the secret is read again and the rotated password is the one used
    assert again == SaslCredentials("svc", "rotated-password") and secrets.get_secret_value.call_count == 2


def test_an_authentication_failure_reads_the_secret_at_once(secrets: Any) -> None:
    # Given a secret read and kept, then rotated
    resolve_credentials(KAFKA, {}, secrets)
    rotate(secrets)
    # When a backend, refused, asks for the credentials again
    refresh = refresher(KAFKA, {}, secrets)
    assert refresh is not None
    # Then they are read at once, and what later runs get is the new password too
    assert refresh() == SaslCredentials("svc", "rotated-password") and secrets.get_secret_value.call_count == 2
    assert resolve_credentials(KAFKA, {}, secrets) == SaslCredentials("svc", "rotated-password")
    assert secrets.get_secret_value.call_count == 2


def test_local_credentials_come_from_the_environment_and_none_without_a_password_mechanism() -> None:
    local = {**SASL, "KAFKA_USERNAME": "me", "KAFKA_PASSWORD": PASSWORD}
    settings = KafkaSettings.from_env(local, "t")
    assert resolve_credentials(settings, local) == SaslCredentials("me", PASSWORD)
    plain = KafkaSettings.from_env({"KAFKA_BOOTSTRAP_SERVERS": "b:1"}, "t")
    assert resolve_credentials(plain, {}) is None
    # and neither can rotate, so neither has a refresher
    assert refresher(settings, local) is None and refresher(plain, {}) is None


def test_an_invalid_max_age_names_the_variable(secrets: Any) -> None:
    with pytest.raises(ConfigurationError, match="^POWERTOOLS_PARAMETERS_MAX_AGE"):
        resolve_credentials(KAFKA, {"POWERTOOLS_PARAMETERS_MAX_AGE": "soon"}, secrets)


def test_a_missing_secret_names_the_secret_not_its_content(secrets: Any) -> None:
    settings = KafkaSettings.from_env({**SASL, "KAFKA_SECRET_ID": "does-not-exist"}, "t")
    with pytest.raises(CredentialsError, match="'does-not-exist'.*ResourceNotFoundException"):
        resolve_credentials(settings, secrets_client=secrets)


@pytest.mark.parametrize("secret_string", ["not json", '["svc"]', json.dumps({"username": "svc"})])
def test_malformed_secrets_are_refused_without_echoing_them(secrets: Any, secret_string: str) -> None:
    secrets.create_secret(Name="bad", SecretString=secret_string)
    settings = KafkaSettings.from_env({**SASL, "KAFKA_SECRET_ID": "bad"}, "t")
    with pytest.raises(CredentialsError) as caught:
        resolve_credentials(settings, secrets_client=secrets)
    assert "svc" not in str(caught.value) and "'bad'" in str(caught.value)


def test_the_secrets_client_bounds_its_retries() -> None:
    client = secrets_client("eu-west-1")
    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 3}  # one try, two retries
    assert client.meta.config.connect_timeout == 3 and client.meta.config.read_timeout == 5
