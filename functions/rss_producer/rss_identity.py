"""Which feed item a message is, and whether it was delivered before: the RSS identity rule.

The rule
--------
An item's *basis* is its guid, else its link (resolved against the feed URL), else its title and
date. Its *basis id* is ``sha256(feed URL, basis)``, cut to 32 hex digits: the message key.

Within one document, items that share a basis but differ in a carried field (title, link,
summary, author, tags, published_at) are different items: the first (the first with a guid, if
any has one) and its exact copies keep the basis id; every other takes its *content id*,
``sha256(feed URL, every carried field)``. ``fetched_at`` is never part of an id.

Across runs, an item with a guid alone in its document is judged by its guid alone: a
publisher's edit is never sent again. An item whose basis is told apart by content (no guid, or
a guid shared with a different item) is delivered when its content id is recorded; otherwise,
when its basis id is recorded:

- beside the basis's *marker* (``marker_id``), an earlier item with other content holds the
  basis: this one is a different item, sent under its content id;
- without the marker, the record is older than content ids (the rule before them, or a guid first
  seen without a collision): the item leading the basis in the document is taken to be the one
  delivered (adopted: recorded, not sent), and the others are sent under their content ids;
- with neither, the basis is new: the item is sent under the id it has in its document.

Such an item is recorded as its marker, basis id and content id, in one write and the marker
first, so a basis id recorded beside content ids has its marker for as long as it lives.

The contract with ids already recorded
--------------------------------------
Every deployed state table holds ids made by this rule, and message keys on every topic are
these ids. Any change here must give every item that is alone on its basis (or leads it) the id
it had before: ``tests/unit/rss_producer/identity/ids_before_issue_13.json`` pins the ids of
every fixture, and ``test_identity.py`` fails on any change to them. A change that cannot keep
them re-sends every item of every feed once, and moves every key's partition: it needs a
migration that reads both the old and the new ids, never an edit here.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from producer_common.state import StateStore

CARRIED = ("title", "link", "summary", "author", "tags", "published_at")  # what tells two items apart
REFRESH_FRACTION = 1 / 3  # a record with less than this share of its TTL left is written again


@dataclass(frozen=True)
class Item:
    """A message with what the identity rule needs to judge it against earlier runs."""

    message: dict[str, Any]  # its ``id`` is the one it takes when its basis was never delivered
    basis_id: str  # ``item_id``: the feed URL with the guid, else the link, else title and date
    feed_url: str
    by_content: bool  # its basis is told apart by content: no guid, or a guid shared with a different item
    leads: bool  # it is (a copy of) the item that holds ``basis_id`` in its document

    @functools.cached_property
    def content_id(self) -> str:
        """The feed URL with every field the message carries (computed when asked: most items,
        alone with their guid, are never judged by content)."""
        return _content_digest(self.feed_url, content_key(self.message))


def identity_basis(feed_url: str, entry: Mapping[str, Any]) -> str:
    """The entry's guid, else its link, else its title and date: the basis of ``item_id``."""
    link = entry.get("link")
    # A relative link is resolved as the message's link is: the same item whichever parser read it.
    identity = entry.get("id") or (_joined(feed_url, link) if link else None)
    if not identity:
        dated = entry.get("published") if "published" in entry else entry.get("updated", "")
        identity = f"{entry.get('title', '')}\x1f{dated}"
    return str(identity)


def item_id(feed_url: str, entry: Mapping[str, Any]) -> str:
    """Stable across runs: the feed URL with the entry's guid, else link, else title and date."""
    return _digest(f"{feed_url}\x1f{identity_basis(feed_url, entry)}")


def content_key(message: Mapping[str, Any]) -> str:
    return _KEY_ENCODER.encode([message[name] for name in CARRIED])


def content_id(feed_url: str, message: Mapping[str, Any]) -> str:
    """Stable while the item's carried fields are: the feed URL with all of them."""
    return _content_digest(feed_url, content_key(message))


def marker_id(basis_id: str) -> str:
    """Recorded beside a basis whose items are told apart by content: "its content ids are recorded"."""
    return _digest(f"content-recorded\x1f{basis_id}")


def tell_apart(feed_url: str, built: Sequence[tuple[Mapping[str, Any], dict[str, Any]]]) -> list[Item]:
    """One document's (entry, message) pairs, each message holding its ``item_id``, as ``Item``s:
    of items sharing a basis but not their content, all but the leader take their content ids."""
    if len({message["id"] for _, message in built}) == len(built):  # each alone with its basis: no content compared
        return [Item(message, message["id"], feed_url, not entry.get("id"), True) for entry, message in built]
    keyed = [(entry, message, content_key(message)) for entry, message in built]
    groups: dict[str, list[tuple[bool, str]]] = defaultdict(list)  # basis id -> (has a guid, content)
    for entry, message, key in keyed:
        groups[message["id"]].append((bool(entry.get("id")), key))
    leader, by_content = {}, {}
    for basis_id, members in groups.items():
        leader[basis_id] = next((key for guid, key in members if guid), members[0][1])
        by_content[basis_id] = not all(guid for guid, _ in members) or any(key != members[0][1] for _, key in members)
    items = []
    for _, message, key in keyed:
        basis_id = message["id"]
        leads = key == leader[basis_id]
        if not leads:
            message["id"] = _content_digest(feed_url, key)
        items.append(Item(message, basis_id, feed_url, by_content[basis_id], leads))
    return items


@dataclass
class Judged:
    """A document's items against the state store: what to send, and what to record."""

    new: list[dict[str, Any]] = field(default_factory=list)  # messages, with the id to send them under
    records: dict[str, list[str]] = field(default_factory=dict)  # sent id -> ids to record once acknowledged
    refresh: list[str] = field(default_factory=list)  # to record after the run, whatever the broker says


def judge(
    documents: Sequence[Sequence[Item]], state: StateStore | None, clock: Callable[[], float] = time.time
) -> list[Judged]:
    """Each document's items judged, all documents in two batched reads at most: the id (or content
    id) of every item, then the basis id and marker of the items judged by content that were not
    found. Without a store every item is new."""
    items = [item for document in documents for item in document]
    first = state.seen([_key(item) for item in items]) if state else {}
    open_ = [item for item in items if item.by_content and item.content_id not in first]
    basis = [key for item in open_ for key in (item.basis_id, marker_id(item.basis_id))]
    second = state.seen(basis) if state and basis else {}
    due = clock() + state.ttl_s * REFRESH_FRACTION if state else 0.0
    return [_judged(document, first, second, due) for document in documents]


def _judged(items: Sequence[Item], first: Mapping[str, float], second: Mapping[str, float], due: float) -> Judged:
    """One document's items against what the store holds of them (``first``: their ids, ``second``:
    the basis ids and markers of those judged by content)."""
    judged = Judged()
    for item in items:
        records = _records(item)
        if _key(item) in first:
            if first[_key(item)] < due:  # still listed: recorded again, or it would come back as new
                judged.refresh += records
            continue
        message = item.message
        if item.by_content and item.basis_id in second:
            if marker_id(item.basis_id) not in second and item.leads:
                judged.refresh += records  # recorded before content ids: taken as the one delivered
                continue
            message = {**message, "id": item.content_id}
        judged.new.append(message)
        judged.records[message["id"]] = records
    return judged


_KEY_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # json.dumps with options builds one a call


def _key(item: Item) -> str:
    return item.content_id if item.by_content else item.message["id"]


def _records(item: Item) -> list[str]:
    if not item.by_content:
        return [item.message["id"]]
    return [marker_id(item.basis_id), item.basis_id, item.content_id]


def _content_digest(feed_url: str, key: str) -> str:
    return _digest(f"{feed_url}\x1e{key}")


def _digest(basis: str) -> str:
    return hashlib.sha256(basis.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _joined(feed_url: str, link: str) -> str:
    try:
        return urljoin(feed_url, link)
    except ValueError:  # not a URL: the link as given still names the item
        return link
