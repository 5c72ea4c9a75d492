"""The state store's interface."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class FeedValidators:
    """What a conditional GET sends back: If-None-Match and If-Modified-Since."""

    etag: str | None = None
    last_modified: str | None = None

    def request_headers(self) -> dict[str, str]:
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers

    @property
    def empty(self) -> bool:
        return not (self.etag or self.last_modified)


class StateStore(Protocol):
    """Batched reads and writes; ids are recorded only after the broker acknowledged them."""

    ttl_s: int

    def seen(self, ids: Collection[str]) -> dict[str, float]:
        """Of ``ids``, those already delivered, with the epoch second their record expires."""

    def mark_seen(self, ids: Collection[str]) -> None:
        """Record ``ids`` as delivered, for ``ttl_s`` from now."""

    def validators(self, feeds: Sequence[str]) -> dict[str, FeedValidators]:
        """The stored validators of those ``feeds`` that have any."""

    def save_validators(self, validators: Mapping[str, FeedValidators]) -> None:
        """Store validators per feed URL (empty ones erase what was stored)."""

    def close(self) -> None:
        """Release the connection, if any."""
