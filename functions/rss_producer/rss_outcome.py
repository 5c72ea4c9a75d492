"""What a run did with each feed, and what is left to record once the broker has answered: the
record that ``rss_run`` fills, ``rss_ledger`` and ``rss_cadence`` read, and the summary reports."""

from __future__ import annotations

from dataclasses import dataclass, field

from producer_common import SourceResult
from producer_common.state import FeedValidators


@dataclass(frozen=True)
class FeedResult(SourceResult):
    """A feed's result: ``dropped`` counts the entries over the item cap (the oldest), left unsent."""

    dropped: int = 0


@dataclass(eq=False)  # one per feed, told apart by identity
class FeedRun:
    """What happened to one feed, and what to record once the broker has answered."""

    url: str
    status: str = "ok"
    items: int = 0
    new: int = 0
    error: str | None = None
    dropped: int = 0
    latency_s: float | None = None
    sent_ids: list[str] = field(default_factory=list)
    records: dict[str, list[str]] = field(default_factory=dict)  # sent id -> what to record once acknowledged
    refresh_ids: list[str] = field(default_factory=list)  # seen before and close to expiry, or adopted
    validators: FeedValidators | None = None  # to store once every sent item is acknowledged
    unsettled: int = 0  # sent, with no word from the broker yet
    delivering: list[str] = field(default_factory=list)  # acknowledged (or refused for good), not yet recorded
    delivered: set[str] = field(default_factory=set)  # acknowledged (or refused for good) and recorded
    recorded: bool = False  # complete: the final report changes nothing for it

    def forget_items(self) -> None:
        """Recorded in full along the run: let go of what was kept to record its items (``sent_ids``
        stays, for its schedule), so a long run holds that only for the feeds still in flight."""
        self.records, self.delivered = {}, set()

    def result(self) -> SourceResult:
        return FeedResult(self.url, self.status, self.items, self.new, self.error, self.dropped)  # type: ignore[arg-type]


@dataclass
class RssRun:
    feeds: list[FeedRun]
    duplicates: int = 0
    reference_parsed: int = 0  # feeds the fast parser handed to the reference

    @property
    def sources(self) -> list[SourceResult]:
        return [feed.result() for feed in self.feeds]

    def count(self, status: str) -> int:
        return sum(feed.status == status for feed in self.feeds)

    @property
    def dropped(self) -> int:
        return sum(feed.dropped for feed in self.feeds)
