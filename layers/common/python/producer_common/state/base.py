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


@dataclass(frozen=True)
class FeedSchedule:
    """When a feed is next due (epoch seconds), how many runs in a row it failed, and the interval
    it last announced (kept for the runs it answers 304, which carry no document)."""

    due_at: float = 0.0
    failures: int = 0
    interval_s: float = 0.0


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

    def schedules(self, feeds: Sequence[str]) -> dict[str, FeedSchedule]:
        """The stored schedules of those ``feeds`` that have one."""

    def save_schedules(self, schedules: Mapping[str, FeedSchedule]) -> None:
        """Store each feed's schedule, replacing what was stored."""

    def close(self) -> None:
        """Release the connection, if any."""
