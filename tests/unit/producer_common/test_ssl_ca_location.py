"""KAFKA_SSL_CA_LOCATION: a readable PEM bundle, checked at start, handed to both backends."""

from __future__ import annotations

from pathlib import Path

import pytest
from producer_common import ConfigurationError, KafkaSettings
from producer_common.backends import confluent, kafka_python

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
SSL = {"KAFKA_BOOTSTRAP_SERVERS": "b1:9093", "KAFKA_SECURITY_PROTOCOL": "SSL"}


def test_a_bundle_reaches_both_backends(tmp_path: Path) -> None:
    # Given a CA bundle
    bundle = tmp_path / "ca.pem"
    bundle.write_text(PEM)
    # When the settings name it
    settings = KafkaSettings.from_env({**SSL, "KAFKA_SSL_CA_LOCATION": str(bundle)}, "t")
    # Then each client library gets it under its own name
    assert settings.ssl_ca_location == str(bundle)
    assert confluent.producer_config(settings, None, 60)["ssl.ca.location"] == str(bundle)
    assert kafka_python.producer_config(settings, None, 60)["ssl_cafile"] == str(bundle)


def test_unset_or_empty_leaves_the_system_trust_store() -> None:
    for environ in (SSL, {**SSL, "KAFKA_SSL_CA_LOCATION": " "}):
        settings = KafkaSettings.from_env(environ, "t")
        assert settings.ssl_ca_location is None
        assert "ssl.ca.location" not in confluent.producer_config(settings, None, 60)
        assert "ssl_cafile" not in kafka_python.producer_config(settings, None, 60)


def bad_bundle(tmp_path: Path, case: str) -> Path:
    if case == "missing":
        return tmp_path / "missing.pem"
    if case == "a directory":
        return tmp_path
    path = tmp_path / "bundle.pem"
    path.write_text("not a certificate" if case == "no certificate" else PEM)
    return path


@pytest.mark.parametrize(
    ("case", "protocol", "message"),
    [
        ("missing", "SSL", "cannot read"),
        ("a directory", "SSL", "must name a file"),
        ("no certificate", "SSL", "holds no PEM certificate"),
        ("with PLAINTEXT", "PLAINTEXT", "PLAINTEXT"),
    ],
)
def test_a_bad_bundle_fails_at_start_naming_the_variable(
    tmp_path: Path, case: str, protocol: str, message: str
) -> None:
    environ = {**SSL, "KAFKA_SECURITY_PROTOCOL": protocol, "KAFKA_SSL_CA_LOCATION": str(bad_bundle(tmp_path, case))}
    with pytest.raises(ConfigurationError, match=f"^KAFKA_SSL_CA_LOCATION: .*{message}") as caught:
        KafkaSettings.from_env(environ, "t")
    assert caught.value.variable == "KAFKA_SSL_CA_LOCATION"
