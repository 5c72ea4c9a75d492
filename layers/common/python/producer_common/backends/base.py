"""What the delivery layer asks of a Kafka client library."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ..config import KafkaSettings
from ..constants import SASL_MSK_IAM
from ..credentials import Refresh, SaslCredentials
from ..exceptions import CredentialsError

log = logging.getLogger(__name__)

# Called once per message with its sequence number: None when the broker acknowledged it, else the
# reason. One callable per producer, not one per message: nothing per message outlives send() but
# its number, so a run's garbage collector has nothing to trace while messages are in flight.
Settle = Callable[[int, str | None], object]
NOT_ACKNOWLEDGED = "not acknowledged before the deadline"
# Before any broker has answered, this long without one means none is reachable (a wrong address, a
# closed port, a name that does not resolve): the run says so instead of waiting out its delivery timeout.
# A broker that merely restarts answers again well within it.
UNREACHABLE_AFTER_S = 5.0


def unreachable(bootstrap_servers: str, detail: str) -> str:
    """The reason every message of a run failed when no broker could be reached."""
    return f"no Kafka broker reachable at {bootstrap_servers} within {UNREACHABLE_AFTER_S:g} s: {detail}"


AUTHENTICATION_FAILED = "authentication failed"  # how both backends begin a refusal of the credentials


class Backend(Protocol):
    """One Kafka client library behind the few calls delivery needs."""

    name: str

    def produce(
        self,
        topic: str,
        key: bytes,
        value: bytes,
        headers: list[tuple[str, bytes]],
        sequence: int,
    ) -> None:
        """Queue one message; raise if it cannot even be queued. Its outcome goes to ``settle``."""

    def poll(self) -> None:
        """Serve delivery callbacks that are ready, without blocking."""

    def flush(self, timeout_s: float) -> None:
        """Wait up to ``timeout_s`` for every queued message to be settled."""

    def close(self, timeout_s: float) -> None:
        """Abandon what is still queued and release connections and threads."""


@dataclass(frozen=True)
class SaslKeys:
    """What a client library calls the SASL settings."""

    mechanism: str
    username: str
    password: str
    token_provider: str


def sasl_config(
    settings: KafkaSettings,
    credentials: SaslCredentials | None,
    keys: SaslKeys,
    token_provider: Callable[[str], Any],
) -> dict[str, Any]:
    """The SASL part of a client's configuration: MSK IAM as OAUTHBEARER tokens, else the mechanism
    with its username and password."""
    if not settings.sasl_mechanism:
        return {}
    if settings.sasl_mechanism == SASL_MSK_IAM:
        return {keys.mechanism: "OAUTHBEARER", keys.token_provider: token_provider(settings.region)}
    config: dict[str, Any] = {keys.mechanism: settings.sasl_mechanism}
    if credentials is not None:
        config[keys.username] = credentials.username
        config[keys.password] = credentials.password
    return config


def fresher_credentials(refresh: Refresh | None, current: SaslCredentials | None) -> SaslCredentials | None:
    """After the broker refused ``current``: the secret read again, if that gives other credentials
    (a rotation the kept value predates); None when there is nothing new to try."""
    if refresh is None:
        return None
    try:
        fresh = refresh()
    except CredentialsError as error:
        log.error("could not read the Kafka credentials again: %s", error)
        return None
    if fresh is None or fresh == current:
        return None
    log.warning("Kafka refused the credentials; the secret holds new ones, trying them")
    return fresh
