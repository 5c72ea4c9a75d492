"""Kafka client backends; each library is imported only when its backend is chosen."""

from __future__ import annotations

from ..config import KafkaSettings
from ..constants import CLIENT_KAFKA_PYTHON
from ..credentials import Refresh, SaslCredentials
from .base import Backend, Settle

__all__ = ["Backend", "Settle", "create_backend"]


def create_backend(
    settings: KafkaSettings,
    credentials: SaslCredentials | None,
    delivery_timeout_s: float,
    settle: Settle,
    refresh: Refresh | None = None,
) -> Backend:
    """``refresh`` reads the credentials afresh; a backend calls it once when the broker refuses them."""
    if settings.client == CLIENT_KAFKA_PYTHON:
        from .kafka_python import KafkaPythonBackend

        return KafkaPythonBackend(settings, credentials, delivery_timeout_s, settle, refresh)
    from .confluent import ConfluentBackend

    return ConfluentBackend(settings, credentials, delivery_timeout_s, settle, refresh)
