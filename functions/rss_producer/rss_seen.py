"""Which of a document's items were delivered in earlier runs, and what to record for each.

An item judged by its guid (or its link, title and date when no other item shares them) is
delivered when its id is recorded. An item whose basis is told apart by content
(``rss_items.Item.by_content``) is delivered when its content id is recorded; otherwise, when its
basis id is recorded:

- beside the basis's marker (``rss_items.marker_id``), an earlier item with other content holds
  the basis: this one is a different item, sent under its content id;
- without the marker, the record is older than fingerprints (the rule before them, or a guid
  first seen without a collision): the item leading the basis in the document is taken to be the
  one delivered (adopted: recorded, not sent), and the others are sent under their content ids;
- with neither, the basis is new: the item is sent under the id it has in its document.

Such an item is recorded as its marker, basis id and content id, in one write and the marker
first, so a basis id recorded beside fingerprints has its marker for as long as it lives.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from producer_common.state import StateStore
from rss_items import Item, marker_id

REFRESH_FRACTION = 1 / 3  # a record with less than this share of its TTL left is written again


@dataclass
class Judged:
    """A document's items against the state store: what to send, and what to record."""

    new: list[dict[str, Any]] = field(default_factory=list)  # messages, with the id to send them under
    records: dict[str, list[str]] = field(default_factory=dict)  # sent id -> ids to record once acknowledged
    refresh: list[str] = field(default_factory=list)  # to record after the run, whatever the broker says


def judge(items: Sequence[Item], state: StateStore | None, clock: Callable[[], float] = time.time) -> Judged:
    """Two batched reads at most: the id (or content id) of every item, then the basis id and
    marker of the items judged by content that were not found. Without a store every item is new."""
    judged = Judged()
    first = state.seen([_key(item) for item in items]) if state else {}
    open_ = [item for item in items if item.by_content and item.content_id not in first]
    basis = [key for item in open_ for key in (item.basis_id, marker_id(item.basis_id))]
    second = state.seen(basis) if state and basis else {}
    due = clock() + state.ttl_s * REFRESH_FRACTION if state else 0.0
    for item in items:
        records = _records(item)
        if _key(item) in first:
            if first[_key(item)] < due:  # still listed: recorded again, or it would come back as new
                judged.refresh += records
            continue
        message = item.message
        if item.by_content and item.basis_id in second:
            if marker_id(item.basis_id) not in second and item.leads:
                judged.refresh += records  # recorded before fingerprints: taken as the one delivered
                continue
            message = {**message, "id": item.content_id}
        judged.new.append(message)
        judged.records[message["id"]] = records
    return judged


def _key(item: Item) -> str:
    return item.content_id if item.by_content else item.message["id"]


def _records(item: Item) -> list[str]:
    if not item.by_content:
        return [item.message["id"]]
    return [marker_id(item.basis_id), item.basis_id, item.content_id]
