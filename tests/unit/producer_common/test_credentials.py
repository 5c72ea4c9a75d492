"""Credentials come from Secrets Manager (kept for a bounded age) or the local environment, and never
show their values."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta

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


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def secrets() -> Iterator[object]:
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="us-east-1")


class CountingClient:
    def __init__(self, inner: object) -> None:
        self.inner, self.calls = inner, 0

    def get_secret_value(self, **kwargs: str) -> dict[str, str]:
        self.calls += 1
        return self.inner.get_secret_value(**kwargs)  # type: ignore[attr-defined,no-any-return]


def test_secret_is_read_once_within_its_max_age(secrets: object) -> None:
    arn = secrets.create_secret(Name="kafka", SecretString=json.dumps({"username": "svc", "password": PASSWORD}))["ARN"]  # type: ignore[attr-defined]
    settings = KafkaSettings.from_env({**SASL, "KAFKA_SECRET_ID": arn}, "t")
    client = CountingClient(secrets)
    first = resolve_credentials(settings, secrets_client=client)
    second = resolve_credentials(settings, secrets_client=client)
    assert first == second == SaslCredentials("svc", PASSWORD)
    assert client.calls == 1
    assert PASSWORD not in repr(first)


def rotate(secrets: object, name: str, password: str) -> None:
    secrets.put_secret_value(SecretId=name, SecretString=json.dumps({"username": "svc", "password": password}))  # type: ignore[attr-defined]


def test_a_secret_older_than_its_max_age_is_read_again(secrets: object, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a secret read once, then rotated
    secrets.create_secret(Name="kafka", SecretString=json.dumps({"username": "svc", "password": PASSWORD}))  # type: ignore[attr-defined]
    settings = KafkaSettings.from_env({**SASL, "KAFKA_SECRET_ID": "kafka"}, "t")
    client = CountingClient(secrets)
    resolve_credentials(settings, {"POWERTOOLS_PARAMETERS_MAX_AGE": "60"}, client)
    rotate(secrets, "kafka", "rotated-password")
    assert resolve_credentials(settings, {"POWERTOOLS_PARAMETERS_MAX_AGE": "60"}, client).password == PASSWORD  # type: ignore[union-attr]

    # When 61 s have passed (Powertools' cache reads datetime.now())
    class Later(datetime):
        @classmethod
        def now(cls, tz: object = None) -> Later:  # type: ignore[override]
            return datetime.now() + timedelta(seconds=61)  # type: ignore[return-value]

    monkeypatch.setattr(powertools_parameters, "datetime", Later)
    again = resolve_credentials(settings, {"POWERTOOLS_PARAMETERS_MAX_AGE": "60"}, client)

    # Then the secret is read again and the rotated password is the one used
    assert again == SaslCredentials("svc", "rotated-password") and client.calls == 2


def test_an_authentication_failure_reads_the_secret_at_once(secrets: object) -> None:
    # Given a secret read and kept, then rotated
    secrets.create_secret(Name="kafka", SecretString=json.dumps({"username": "svc", "password": PASSWORD}))  # type: ignore[attr-defined]
    settings = KafkaSettings.from_env({**SASL, "KAFKA_SECRET_ID": "kafka"}, "t")
    client = CountingClient(secrets)
    resolve_credentials(settings, {}, client)
    rotate(secrets, "kafka", "rotated-password")
    # When a backend, refused, asks for the credentials again
    refresh = refresher(settings, {}, client)
    assert refresh is not None
    # Then they are read at once, and what later runs get is the new password too
    assert refresh() == SaslCredentials("svc", "rotated-password") and client.calls == 2
    assert resolve_credentials(settings, {}, client) == SaslCredentials("svc", "rotated-password")
    assert client.calls == 2


def test_local_credentials_come_from_the_environment_and_none_without_a_password_mechanism() -> None:
    local = {**SASL, "KAFKA_USERNAME": "me", "KAFKA_PASSWORD": PASSWORD}
    settings = KafkaSettings.from_env(local, "t")
    assert resolve_credentials(settings, local) == SaslCredentials("me", PASSWORD)
    plain = KafkaSettings.from_env({"KAFKA_BOOTSTRAP_SERVERS": "b:1"}, "t")
    assert resolve_credentials(plain, {}) is None
    # and neither can rotate, so neither has a refresher
    assert refresher(settings, local) is None and refresher(plain, {}) is None


def test_an_invalid_max_age_names_the_variable(secrets: object) -> None:
    settings = KafkaSettings.from_env({**SASL, "KAFKA_SECRET_ID": "kafka"}, "t")
    with pytest.raises(ConfigurationError, match="^POWERTOOLS_PARAMETERS_MAX_AGE"):
        resolve_credentials(settings, {"POWERTOOLS_PARAMETERS_MAX_AGE": "soon"}, secrets)


def test_a_missing_secret_names_the_secret_not_its_content(secrets: object) -> None:
    settings = KafkaSettings.from_env({**SASL, "KAFKA_SECRET_ID": "does-not-exist"}, "t")
    with pytest.raises(CredentialsError, match="'does-not-exist'.*ResourceNotFoundException"):
        resolve_credentials(settings, secrets_client=secrets)


@pytest.mark.parametrize("secret_string", ["not json", '["svc"]', json.dumps({"username": "svc"})])
def test_malformed_secrets_are_refused_without_echoing_them(secrets: object, secret_string: str) -> None:
    secrets.create_secret(Name="bad", SecretString=secret_string)  # type: ignore[attr-defined]
    settings = KafkaSettings.from_env({**SASL, "KAFKA_SECRET_ID": "bad"}, "t")
    with pytest.raises(CredentialsError) as caught:
        resolve_credentials(settings, secrets_client=secrets)
    assert "svc" not in str(caught.value) and "'bad'" in str(caught.value)


def test_the_secrets_client_bounds_its_retries() -> None:
    client = secrets_client("eu-west-1")
    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 3}  # one try, two retries
    assert client.meta.config.connect_timeout == 3 and client.meta.config.read_timeout == 5
