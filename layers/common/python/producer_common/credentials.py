"""SASL and schema registry credentials: from Secrets Manager or, locally, the environment.

A secret is read through Powertools Parameters' ``SecretsProvider``, which keeps it for
``POWERTOOLS_PARAMETERS_MAX_AGE`` seconds (300 unless set): a rotated password is picked up by the
next run after that, and at once by a run the broker refused (``refresher``), so a rotation costs
at most one failed connection attempt, not every run until Lambda recycles the container.

Values never reach a log line: ``SaslCredentials`` hides the password in its
repr, and errors name the secret id, never its content.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping
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


Refresh = Callable[[], SaslCredentials | None]

MAX_AGE_VARIABLE = "POWERTOOLS_PARAMETERS_MAX_AGE"  # Powertools' own name for it
DEFAULT_MAX_AGE_S = 300  # a GetSecretValue per container every 5 minutes at most
# One SecretsProvider (and its cache) per region, or per client a caller passes in.
_providers: dict[object, Any] = {}
_providers_lock = threading.Lock()


def resolve_credentials(
    settings: KafkaSettings,
    environ: Mapping[str, str] | None = None,
    secrets_client: Any = None,
    force_fetch: bool = False,
) -> SaslCredentials | None:
    """The username and password the SASL mechanism needs, or None when it needs none.
    ``force_fetch`` reads the secret again however young the kept value is."""
    if not settings.needs_password:
        return None
    e = os.environ if environ is None else environ
    if settings.secret_id:
        return _from_secret(settings.secret_id, settings.region, secrets_client, "Kafka", e, force_fetch)
    return SaslCredentials(env.required_str(e, c.KAFKA_USERNAME), env.required_str(e, c.KAFKA_PASSWORD))


def refresher(
    settings: KafkaSettings, environ: Mapping[str, str] | None = None, secrets_client: Any = None
) -> Refresh | None:
    """What a backend calls when the broker refused its credentials: the secret read afresh.
    None when the credentials cannot change under a running container (none, or the environment's)."""
    if not settings.needs_password or not settings.secret_id:
        return None
    return lambda: resolve_credentials(settings, environ, secrets_client, force_fetch=True)


def resolve_registry_credentials(
    settings: KafkaSettings,
    environ: Mapping[str, str] | None = None,
    secrets_client: Any = None,
) -> SaslCredentials | None:
    """The schema registry's basic-auth user (a Confluent Cloud API key and secret), or None for
    a registry that needs none: from SCHEMA_REGISTRY_SECRET_ID, else SCHEMA_REGISTRY_USERNAME and
    SCHEMA_REGISTRY_PASSWORD."""
    e = os.environ if environ is None else environ
    if settings.schema_registry_secret_id:
        return _from_secret(settings.schema_registry_secret_id, settings.region, secrets_client, "schema registry", e)
    username = env.optional_str(e, c.SCHEMA_REGISTRY_USERNAME)
    if username is None:
        return None
    return SaslCredentials(username, env.required_str(e, c.SCHEMA_REGISTRY_PASSWORD))


def clear_cache() -> None:
    with _providers_lock:
        _providers.clear()


def _from_secret(
    secret_id: str,
    region: str,
    client: Any,
    what: str,
    environ: Mapping[str, str],
    force_fetch: bool = False,
) -> SaslCredentials:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    max_age = env.integer(environ, MAX_AGE_VARIABLE, DEFAULT_MAX_AGE_S, 0, 86_400)
    with _providers_lock:
        provider = _providers.get(region if client is None else client)
        if provider is None:
            provider = SecretsProvider(boto3_client=client or secrets_client(region))
            _providers[region if client is None else client] = provider
    try:
        text = provider.get(secret_id, max_age=max_age, force_fetch=force_fetch)
    except Exception as error:  # GetParameterError around botocore's: keep the type and code, not the payload
        cause = error.__context__ or error
        code = getattr(cause, "response", {}).get("Error", {}).get("Code", type(cause).__name__)
        raise CredentialsError(f"could not read {what} secret {secret_id!r}: {code}") from None
    return _parse_secret(secret_id, text if isinstance(text, str) else None, what)


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
