"""Exceptions raised by the shared producer package."""


class ProducerError(Exception):
    """Base class of every error this package raises."""


class ConfigurationError(ProducerError):
    """An environment variable is missing or invalid; the message names it."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


class CredentialsError(ProducerError):
    """Kafka or schema registry credentials could not be read; the message names the secret, never its value."""


class DeliveryError(ProducerError):
    """Messages were not acknowledged by the broker; raised so that Lambda retries the run."""


class SchemaRegistryError(ProducerError):
    """The registry does not hold the schema the code writes, or cannot be asked; raised at start."""
