"""Item identity from run to run, over the real SQLite store and DynamoDB (moto).

A guid-less item is recorded with its content id and its basis's marker beside its basis id, so a
later, different item with the same link is told apart from the one delivered; records written by
the rule before that are adopted, never re-sent. A guid shared by different items of a document
gets the same treatment; a guid item edited by its publisher is still the item already sent.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import rss_fetch
import rss_identity
import rss_items
import rss_run
from producer_common import OutgoingMessage
from producer_common.deadline import Deadline
from producer_common.producer import DeliveryReport, FailedMessage
from producer_common.state import StateStore
from producer_common.state.dynamodb import DynamoStateStore
from producer_common.state.sqlite import SqliteStateStore
from rss_outcome import RssRun

from tests.unit.rss_producer.served import Served
from tools.services.fixture_data import feed_documents

DOCUMENTS = feed_documents()

FEED = "https://status.test/feed.xml"
LINK = "https://status.test/"
TTL = 90 * 86_400
FETCHED = "2026-12-01T00:00:00Z"


def rss(*items: str) -> bytes:
    body = "".join(f"<item>{item}</item>" for item in items)
    return f'<rss version="2.0"><channel><title>S</title><link>{LINK}</link>{body}</channel></rss>'.encode()


def guidless(title: str, link: str = LINK) -> str:
    return f"<title>{title}</title><link>{link}</link>"


def with_guid(title: str, guid: str) -> str:
    return f"<title>{title}</title><guid isPermaLink='false'>{guid}</guid>"


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> StateStore:
    if request.param == "sqlite":
        return SqliteStateStore(str(tmp_path / "state.sqlite"), TTL)
    return DynamoStateStore("state", TTL, client=request.getfixturevalue("state_table"), sleep=lambda _s: None)


def run(
    state: StateStore, *items: str, fail: bool = False, body: bytes = b"", url: str = FEED
) -> tuple[list[OutgoingMessage], RssRun]:
    """One run over the feed listing ``items`` (or ``body``); the broker acknowledges everything unless ``fail``."""
    sent: list[OutgoingMessage] = []
    served = Served()
    served.get(url, body=body or rss(*items))
    fetcher = rss_fetch.Fetcher(served, timeout_s=2)
    result = rss_run.produce_feeds([url], fetcher, state, sent.append, FETCHED, Deadline(fallback_s=60))
    keys = tuple(m.key for m in sent)
    report = DeliveryReport((), tuple(FailedMessage(k, "timed out") for k in keys)) if fail else DeliveryReport(keys)
    rss_run.record_delivery(result, report, state)
    return sent, result


def titles(sent: list[OutgoingMessage]) -> list[str]:
    return [m.value["title"] for m in sent]


def records(title: str, link: str = LINK) -> set[str]:
    """What a guid-less item alone with its link is recorded as: basis id, content id, marker."""
    [item] = rss_items.to_items(FEED, "S", [{"title": title, "link": link}], FETCHED)
    return {item.basis_id, item.content_id, rss_identity.marker_id(item.basis_id)}


def test_one_guidless_item_at_a_time_at_one_link_each_is_sent_once(store: StateStore) -> None:
    # Given run 1 delivered item X at link L
    sent, _ = run(store, guidless("X"))
    assert titles(sent) == ["X"] and sent[0].key == rss_identity.item_id(FEED, {"link": LINK})
    # When run 2's document lists only item Y at L, then Y is sent, under its content id
    sent, _ = run(store, guidless("Y"))
    assert titles(sent) == ["Y"] and sent[0].key == rss_identity.content_id(FEED, sent[0].value)
    # And when run 3 lists Y again, or X comes back, nothing is sent
    assert run(store, guidless("Y"))[0] == []
    assert run(store, guidless("X"))[0] == []


def test_items_that_shared_a_link_in_one_document_are_not_sent_again_when_listed_alone(store: StateStore) -> None:
    assert titles(run(store, guidless("X"), guidless("Y"))[0]) == ["X", "Y"]
    assert run(store, guidless("Y"))[0] == [] and run(store, guidless("X"))[0] == []
    assert titles(run(store, guidless("Z"))[0]) == ["Z"]
    # an item first alone, then joined by another at its link: only the newcomer is sent
    assert titles(run(store, guidless("W"), guidless("Z"))[0]) == ["W"]


def test_a_record_of_the_old_rule_is_adopted_and_the_next_different_item_is_sent(store: StateStore) -> None:
    # Given the rule before fingerprints recorded item X by its link's plain id alone
    store.mark_seen([rss_identity.item_id(FEED, {"link": LINK})])
    # When X is still listed after the upgrade, nothing is sent, and X's fingerprint is recorded
    sent, result = run(store, guidless("X"))
    assert sent == [] and set(result.feeds[0].refresh_ids) == records("X")
    assert set(store.seen(records("X"))) == records("X")
    # Then the next different item at that link is sent, and X never again
    assert titles(run(store, guidless("Y"))[0]) == ["Y"]
    assert run(store, guidless("X"))[0] == [] and run(store, guidless("Y"))[0] == []


def test_an_upgrade_sends_nothing_again_for_items_with_links_of_their_own(store: StateStore) -> None:
    links = [guidless(f"T{i}", f"https://status.test/{i}") for i in range(3)]
    store.mark_seen([rss_identity.item_id(FEED, {"link": f"https://status.test/{i}"}) for i in range(3)])
    assert run(store, *links)[0] == []
    assert run(store, *links)[0] == []


def test_a_failed_delivery_leaves_the_extra_records_unwritten(store: StateStore) -> None:
    run(store, guidless("X"))
    sent, _ = run(store, guidless("Y"), fail=True)
    assert titles(sent) == ["Y"]
    assert set(store.seen(records("Y"))) == records("X") & records("Y")  # X's basis and marker, no fingerprint
    # and the next run sends Y again
    assert titles(run(store, guidless("Y"))[0]) == ["Y"]
    # a first item whose delivery failed leaves its basis, marker and fingerprint unwritten too
    sent, _ = run(store, guidless("New", "https://status.test/new"), fail=True)
    assert titles(sent) == ["New"] and store.seen(records("New", "https://status.test/new")) == {}


def test_items_sharing_a_guid_are_each_sent_once_and_a_later_revision_too(store: StateStore) -> None:
    reported, resolved = with_guid("Errors (reported)", "incident-41"), with_guid("Errors (resolved)", "incident-41")
    sent, result = run(store, resolved, reported, resolved)
    assert titles(sent) == ["Errors (resolved)", "Errors (reported)"] and result.duplicates == 1
    assert sent[0].key == rss_identity.item_id(FEED, {"id": "incident-41"})  # the first keeps the guid's id
    assert run(store, resolved, reported)[0] == [] and run(store, reported)[0] == []
    postmortem = with_guid("Errors (postmortem)", "incident-41")
    assert titles(run(store, postmortem, resolved, reported)[0]) == ["Errors (postmortem)"]


def test_a_guid_item_edited_by_its_publisher_is_not_sent_again(store: StateStore) -> None:
    sent, result = run(store, with_guid("Draft title", "post-1"))
    assert titles(sent) == ["Draft title"] and result.feeds[0].records == {sent[0].key: [sent[0].key]}
    assert run(store, with_guid("Final title", "post-1"))[0] == []


def test_a_guid_recorded_before_a_collision_is_adopted_for_the_first_and_the_other_is_sent(store: StateStore) -> None:
    first, second = with_guid("Errors (resolved)", "incident-41"), with_guid("Errors (reported)", "incident-41")
    assert titles(run(store, first)[0]) == ["Errors (resolved)"]  # one item with that guid: the guid's id alone
    assert titles(run(store, first, second)[0]) == ["Errors (reported)"]
    assert run(store, first, second)[0] == []


def test_records_near_expiry_are_refreshed_with_their_fingerprint_and_marker(tmp_path: Path) -> None:
    # Given guid-less item X and guid item G recorded 80 days ago with a 90-day TTL
    state = SqliteStateStore(str(tmp_path / "s.sqlite"), TTL, clock=lambda: time.time() - 80 * 86_400)
    run(state, guidless("X"), with_guid("G", "g-1"))
    # When the feed still lists them, nothing is sent and all their records are written afresh: G's id, X's three
    sent, result = run(state, guidless("X"), with_guid("G", "g-1"))
    guid_id = rss_identity.item_id(FEED, {"id": "g-1"})
    assert sent == [] and sorted(result.feeds[0].refresh_ids) == sorted({guid_id, *records("X")})


PINNED = json.loads((Path(__file__).parent / "identity" / "ids_before_issue_13.json").read_text())
NEVER_SENT = {
    "feeds/atom_duplicates.xml": ["Elevated error rates in eu-west"],
    "cases/duplicate_guids.xml": ["First, edited"],
}


@pytest.mark.parametrize("name", PINNED["ids"])
def test_upgrading_over_the_records_of_the_rule_before_sends_only_what_it_never_sent(
    name: str, state: SqliteStateStore
) -> None:
    # Given the state the rule before left after a run over the document (its ids, recorded as seen)
    state.mark_seen(PINNED["ids"][name])
    # When the document is read after the upgrade, only the items that shared an id with a different
    # item (and so were never sent) are sent: 2 messages over the 252 items of the 25 documents
    sent, _ = run(state, body=DOCUMENTS[name], url=PINNED["feed_url"])
    assert titles(sent) == NEVER_SENT.get(name, [])
    # And the run after that sends nothing
    assert run(state, body=DOCUMENTS[name], url=PINNED["feed_url"])[0] == []
