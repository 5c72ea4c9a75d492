"""What the delivery layer asks of a Kafka client library."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

# Called once per message: None when the broker acknowledged it, else the reason.
DeliveryCallback = Callable[[str | None], None]
NOT_ACKNOWLEDGED = "not acknowledged before the deadline"


class Backend(Protocol):
    """One Kafka client library behind the few calls delivery needs."""

    name: str

    def produce(
        self,
        topic: str,
        key: bytes,
        value: bytes,
        headers: list[tuple[str, bytes]],
        on_delivery: DeliveryCallback,
    ) -> None:
        """Queue one message; raise if it cannot even be queued."""

    def poll(self) -> None:
        """Serve delivery callbacks that are ready, without blocking."""

    def flush(self, timeout_s: float) -> None:
        """Wait up to ``timeout_s`` for every queued message to be settled."""

    def close(self, timeout_s: float) -> None:
        """Abandon what is still queued and release connections and threads."""
