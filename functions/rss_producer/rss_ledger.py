"""What the broker settled, recorded as the run goes: state advances only for what it acknowledged.

At checkpoints at most ``CHECKPOINT_S`` apart, each item the broker acknowledged is recorded as
seen, and a feed's refreshed records and validators once the broker has settled all it sent. An
item the broker refused for good (``is_permanent``: too large, say) is recorded like a delivered
one: sending it again could never help. What no checkpoint recorded is recorded from the final
report (``record_delivery``). A run killed at any point sends again at most what was in flight.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from producer_common.producer import DeliveryReport, is_permanent
from producer_common.state import FeedValidators, StateStore
from rss_outcome import FeedRun, RssRun

Settled = Callable[[], Iterable[tuple[str, str | None]]]  # MessageProducer.take_settled
CHECKPOINT_S = 0.5


class Ledger:
    """Feeds whose messages the broker has all settled, recorded in one state write per checkpoint."""

    def __init__(self, state: StateStore | None, settled: Settled | None) -> None:
        self._state, self._settled = state, settled
        self._owners: dict[str, FeedRun] = {}  # sent id -> its feed, until settled
        self._ready: list[FeedRun] = []
        self._last = time.monotonic()

    def add(self, feed: FeedRun) -> None:
        """A feed whose new items were all sent."""
        if self._settled is None:
            return  # recorded from the final report alone
        feed.unsettled = len(feed.sent_ids)
        self._owners.update(dict.fromkeys(feed.sent_ids, feed))
        if not feed.unsettled:
            self._ready.append(feed)

    def checkpoint(self, force: bool = False) -> None:
        """Record what the broker settled since the last checkpoint: each delivered item at once,
        a feed's refreshed records and validators once all it sent is settled."""
        if self._settled is None or (not force and time.monotonic() - self._last < CHECKPOINT_S):
            return
        self._last = time.monotonic()
        delivered: list[FeedRun] = []
        for ref, reason in self._settled():
            feed = self._owners.pop(ref, None)
            if feed is None:
                continue
            if reason is None or is_permanent(reason):
                feed.delivering.append(ref)
                delivered.append(feed)
            feed.unsettled -= 1
            if not feed.unsettled:
                self._ready.append(feed)
        ready, self._ready = self._ready, []
        _record(list(dict.fromkeys(delivered + ready)), ready, self._state)
        for feed in ready:
            feed.forget_items()


def record_delivery(run: RssRun, report: DeliveryReport, state: StateStore | None) -> None:
    """Advance state, from the final report, for what no checkpoint recorded: ids the broker
    acknowledged (or refused for good) as seen, and the validators of feeds whose every new item
    was (so a feed with a failure a retry may mend is fetched in full again)."""
    refused = {failure.ref for failure in report.failed if failure.permanent}
    done = set(report.acknowledged) | refused
    feeds = [feed for feed in run.feeds if not feed.recorded]
    for feed in feeds:
        feed.delivering = [item_id for item_id in feed.sent_ids if item_id in done and item_id not in feed.delivered]
    _record(feeds, feeds, state)


def _record(delivered: list[FeedRun], complete: list[FeedRun], state: StateStore | None) -> None:
    """One state write: the records of the items in each feed's ``delivering``, and, for the
    ``complete`` feeds, their refreshed records and (when every sent item was delivered) validators."""
    ids: list[str] = []
    for feed in delivered:
        ids += [record for item_id in feed.delivering for record in feed.records.get(item_id, [item_id])]
        feed.delivered.update(feed.delivering)
        feed.delivering = []
    validators: dict[str, FeedValidators] = {}
    for feed in complete:
        ids += feed.refresh_ids
        if feed.validators is not None and len(feed.delivered) == len(feed.sent_ids):
            validators[feed.url] = feed.validators
        feed.recorded = True
    if state is None:
        return
    if ids:
        state.mark_seen(ids)
    if validators:
        state.save_validators(validators)
