"""Shared building blocks of the Kafka data producers: settings, safe delivery, observability."""

from .config import KafkaSettings
from .constants import HEADER_SCHEMA, HEADER_SOURCE
from .credentials import SaslCredentials, resolve_credentials
from .deadline import Deadline
from .exceptions import ConfigurationError, CredentialsError, DeliveryError, ProducerError
from .producer import DeliveryReport, FailedMessage, MessageProducer, OutgoingMessage, open_producer
from .serialization import utc_iso
from .summary import SourceResult, run_summary

__all__ = [
    "HEADER_SCHEMA",
    "HEADER_SOURCE",
    "ConfigurationError",
    "CredentialsError",
    "Deadline",
    "DeliveryError",
    "DeliveryReport",
    "FailedMessage",
    "KafkaSettings",
    "MessageProducer",
    "OutgoingMessage",
    "ProducerError",
    "SaslCredentials",
    "SourceResult",
    "open_producer",
    "resolve_credentials",
    "run_summary",
    "utc_iso",
]
