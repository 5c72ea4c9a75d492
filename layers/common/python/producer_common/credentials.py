"""SASL and schema registry credentials: from Secrets Manager (cached per container) or, locally, the environment.

Values never reach a log line: ``SaslCredentials`` hides the password in its
repr, and errors name the secret id, never its content.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import constants as c
from . import env
from .config import KafkaSettings
from .exceptions import CredentialsError


@dataclass(frozen=True)
class SaslCredentials:
    username: str
    password: str = field(repr=False)


_cache: dict[str, SaslCredentials] = {}
_cache_lock = threading.Lock()


def resolve_credentials(
    settings: KafkaSettings,
    environ: Mapping[str, str] | None = None,
    secrets_client: Any = None,
) -> SaslCredentials | None:
    """The username and password the SASL mechanism needs, or None when it needs none."""
    if not settings.needs_password:
        return None
    if settings.secret_id:
        return _from_secret(settings.secret_id, settings.region, secrets_client, "Kafka")
    e = os.environ if environ is None else environ
    return SaslCredentials(env.required_str(e, c.KAFKA_USERNAME), env.required_str(e, c.KAFKA_PASSWORD))


def resolve_registry_credentials(
    settings: KafkaSettings,
    environ: Mapping[str, str] | None = None,
    secrets_client: Any = None,
) -> SaslCredentials | None:
    """The schema registry's basic-auth user (a Confluent Cloud API key and secret), or None for
    a registry that needs none: from SCHEMA_REGISTRY_SECRET_ID, else SCHEMA_REGISTRY_USERNAME and
    SCHEMA_REGISTRY_PASSWORD."""
    if settings.schema_registry_secret_id:
        return _from_secret(settings.schema_registry_secret_id, settings.region, secrets_client, "schema registry")
    e = os.environ if environ is None else environ
    username = env.optional_str(e, c.SCHEMA_REGISTRY_USERNAME)
    if username is None:
        return None
    return SaslCredentials(username, env.required_str(e, c.SCHEMA_REGISTRY_PASSWORD))


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def _from_secret(secret_id: str, region: str, client: Any, what: str) -> SaslCredentials:
    with _cache_lock:
        cached = _cache.get(secret_id)
    if cached is not None:
        return cached
    if client is None:
        client = secrets_client(region)
    try:
        response = client.get_secret_value(SecretId=secret_id)
    except Exception as error:  # botocore's errors: keep the type and code, not the payload
        code = getattr(error, "response", {}).get("Error", {}).get("Code", type(error).__name__)
        raise CredentialsError(f"could not read {what} secret {secret_id!r}: {code}") from None
    credentials = _parse_secret(secret_id, response.get("SecretString"), what)
    with _cache_lock:
        _cache[secret_id] = credentials
    return credentials


def secrets_client(region: str) -> Any:
    """A Secrets Manager client that gives up quickly: an outage must not become a retry storm."""
    import boto3  # only runs that use Secrets Manager pay for importing boto3
    from botocore.config import Config

    config = Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=3, read_timeout=5)
    return boto3.client("secretsmanager", region_name=region, config=config)


def _parse_secret(secret_id: str, text: str | None, what: str) -> SaslCredentials:
    try:
        data = json.loads(text or "")
    except ValueError:
        raise CredentialsError(f"{what} secret {secret_id!r} is not a JSON object") from None
    if not isinstance(data, dict):
        raise CredentialsError(f"{what} secret {secret_id!r} is not a JSON object")
    username, password = data.get("username"), data.get("password")
    if not isinstance(username, str) or not username or not isinstance(password, str) or not password:
        raise CredentialsError(f"{what} secret {secret_id!r} needs non-empty 'username' and 'password' strings")
    return SaslCredentials(username, password)
