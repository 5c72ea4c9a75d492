"""An RSS run over stubbed HTTP (``served.Served``) and a real SQLite state store."""

from __future__ import annotations

from pathlib import Path

import rss_fetch
import rss_run
from producer_common import OutgoingMessage
from producer_common.deadline import Deadline
from producer_common.http import RetryPolicy
from producer_common.producer import DeliveryReport, FailedMessage
from producer_common.state.sqlite import SqliteStateStore

from tests.unit.rss_producer.served import Served

CASES = Path(__file__).parent / "cases"
FEED = "https://feeds.test/basic.xml"
RSS = {"Content-Type": "application/rss+xml"}
BASIC = (CASES / "rss2_basic.xml").read_bytes()


def fetcher(served: Served, max_bytes: int = 1_000_000) -> rss_fetch.Fetcher:
    return rss_fetch.Fetcher(served, timeout_s=2, max_bytes=max_bytes, retry=RetryPolicy(attempts=3, base_delay_s=0.01))


def run(  # type: ignore[no-untyped-def]
    served: Served,
    urls: list[str],
    state: SqliteStateStore | None = None,
    deadline_s: float = 60,
    fetch: rss_fetch.Fetcher | None = None,
    broker: Broker | None = None,
):
    """One run; with a ``broker``, feeds are recorded as it settles their messages (checkpoints)."""
    sent: list[OutgoingMessage] = broker.sent if broker else []
    result = rss_run.produce_feeds(
        urls,
        fetch or fetcher(served),
        state,
        sent.append,  # type: ignore[arg-type]
        "2026-11-23T00:00:00Z",
        Deadline(fallback_s=deadline_s),
        concurrency=4,
        settled=broker.settled if broker else None,
    )
    return result, sent


def test_a_second_run_costs_one_304_and_sends_nothing(served: Served, state: SqliteStateStore) -> None:
    # Given a feed that answers 304 to its own ETag
    validators = {"ETag": '"v1"', "Last-Modified": "Sun, 22 Nov 2026 10:00:00 GMT"}
    served.get(FEED, status=304, headers={**RSS, **validators}, match_headers={"If-None-Match": '"v1"'})
    served.get(FEED, body=BASIC, headers={**RSS, **validators})
    # When a first run is delivered, then a second run follows
    first, sent = run(served, [FEED], state)
    rss_run.record_delivery(first, DeliveryReport(tuple(m.key for m in sent)), state)
    second, sent_again = run(served, [FEED], state)
    # Then the first sent every item, the second got a 304 and sent nothing
    assert (first.feeds[0].status, first.feeds[0].new, len(sent)) == ("ok", 3, 3)
    assert (second.feeds[0].status, sent_again) == ("not_modified", [])
    assert served.calls[-1].headers["If-Modified-Since"] == "Sun, 22 Nov 2026 10:00:00 GMT"


def test_a_changed_feed_sends_only_its_new_items(served: Served, state: SqliteStateStore) -> None:
    served.get(FEED, body=BASIC, headers=RSS)
    first, sent = run(served, [FEED], state)
    rss_run.record_delivery(first, DeliveryReport(tuple(m.key for m in sent)), state)
    extra = b"<item><title>Four</title><guid>b-4</guid></item></channel>"
    served.get(FEED, body=BASIC.replace(b"</channel>", extra), headers=RSS)
    second, sent_again = run(served, [FEED], state)
    assert [m.value["title"] for m in sent_again] == ["Four"]
    assert (second.feeds[0].items, second.feeds[0].new) == (4, 1)


def test_unacknowledged_items_and_their_feed_are_redone_next_run(served: Served, state: SqliteStateStore) -> None:
    # Given a delivered run in which the broker refused one message
    served.get(FEED, body=BASIC, headers={**RSS, "ETag": '"v1"'})
    first, sent = run(served, [FEED], state)
    report = DeliveryReport(tuple(m.key for m in sent[:2]), (FailedMessage(sent[2].key, "broker said no"),))
    rss_run.record_delivery(first, report, state)
    # Then the feed's ETag was not kept (no 304 next time), and only the refused item is sent again
    assert state.validators([FEED]) == {}
    _, sent_again = run(served, [FEED], state)
    assert [m.key for m in sent_again] == [sent[2].key]
    assert "If-None-Match" not in served.calls[-1].headers


def test_429_is_retried_after_the_time_it_asks(served: Served) -> None:
    served.get(FEED, status=429, headers={"Retry-After": "0"})
    served.get(FEED, body=BASIC, headers=RSS)
    result, sent = run(served, [FEED])
    assert result.feeds[0].status == "ok" and len(sent) == 3 and len(served.calls) == 2


def test_bad_sources_are_reported_and_the_good_one_still_produces(served: Served) -> None:
    urls = {name: f"https://feeds.test/{name}" for name in ("big", "down", "html", "gone", "loop", "good")}
    served.get(urls["big"], body=b"<rss>" + b" " * 5000 + b"</rss>", headers=RSS)
    served.get(urls["down"], status=503)
    served.get(urls["html"], body=(CASES / "html_error_page.html").read_bytes(), headers={"Content-Type": "text/html"})
    served.get(urls["gone"], status=404)
    served.get(urls["loop"], status=302, headers={"Location": urls["loop"]})
    served.get(urls["good"], body=(CASES / "atom_basic.xml").read_bytes(), headers=RSS)
    result, sent = run(served, list(urls.values()), fetch=fetcher(served, max_bytes=2000))
    by_url = {feed.url: feed for feed in result.feeds}
    assert by_url[urls["big"]].error == "body larger than 2000 bytes"
    assert by_url[urls["down"]].error == "HTTP 503"
    assert by_url[urls["html"]].error.startswith("not a feed")  # type: ignore[union-attr]
    assert by_url[urls["gone"]].error == "HTTP 404"
    assert by_url[urls["loop"]].error == "too many redirects"
    assert by_url[urls["good"]].status == "ok" and len(sent) == 2
    assert [feed.url for feed in result.feeds] == list(urls.values())  # reported in the configured order


def test_near_the_deadline_no_new_fetch_starts(served: Served) -> None:
    urls = [f"https://feeds.test/{i}" for i in range(5)]
    for url in urls:
        served.get(url, body=BASIC, headers=RSS)
    result, sent = run(served, urls, deadline_s=3)  # less than timeout + reserve
    assert sent == [] and len(served.calls) == 0
    assert {feed.error for feed in result.feeds} == {rss_run.SKIPPED}


class Broker:
    """Settles what was sent when asked: acknowledged, or failed with a reason for chosen keys."""

    def __init__(self, fail: dict[str, str] | None = None) -> None:
        self.sent: list[OutgoingMessage] = []
        self.fail = fail or {}
        self.taken = 0

    def settled(self) -> list[tuple[str, str | None]]:
        new, self.taken = self.sent[self.taken :], len(self.sent)
        return [(m.key, self.fail.get(m.key)) for m in new]


def test_feeds_are_recorded_as_the_broker_settles_them_not_at_the_end(served: Served, state: SqliteStateStore) -> None:
    # Given two feeds and a broker that acknowledges what is sent
    served.get(FEED, body=BASIC, headers={**RSS, "ETag": '"v1"'})
    other = "https://feeds.test/atom.xml"
    served.get(other, body=(CASES / "atom_basic.xml").read_bytes(), headers={**RSS, "ETag": '"a1"'})
    broker = Broker()
    # When the run ends, with no final report recorded (a run killed before it would be)
    result, _ = run(served, [FEED, other], state, broker=broker)
    # Then both feeds are already recorded: their items as seen and their validators
    assert len(broker.sent) == 5 and all(feed.recorded for feed in result.feeds)
    assert set(state.seen([m.key for m in broker.sent])) == {m.key for m in broker.sent}
    assert set(state.validators([FEED, other])) == {FEED, other}
    # and hold nothing more for their items than the ids sent (a long run keeps the rest only for
    # the feeds in flight)
    held = [(len(feed.sent_ids), feed.records, feed.delivered) for feed in result.feeds]
    assert held == [(3, {}, set()), (2, {}, set())]
    # and a final report changes nothing for them
    rss_run.record_delivery(result, DeliveryReport(), state)
    assert set(state.validators([FEED, other])) == {FEED, other}


def test_an_item_refused_for_good_is_recorded_and_one_that_timed_out_is_not(
    served: Served, state: SqliteStateStore
) -> None:
    # Given a broker that refuses one item as too large and times another out
    served.get(FEED, body=BASIC, headers={**RSS, "ETag": '"v1"'})
    keys = [m.key for m in run(served, [FEED])[1]]
    broker = Broker({keys[0]: "Broker: Message size too large", keys[1]: "Local: Message timed out"})
    # When the run checkpoints
    run(served, [FEED], state, broker=broker)
    # Then the refused item is recorded (never sent again), the timed-out one is not, nor the ETag
    assert set(state.seen(keys)) == {keys[0], keys[2]}
    assert state.validators([FEED]) == {}


class CountedReads(SqliteStateStore):
    """A SQLite store that notes how many ids each ``seen`` read asked for."""

    def __init__(self) -> None:
        super().__init__(":memory:", ttl_s=90 * 86_400)
        self.reads: list[int] = []

    def seen(self, ids):  # type: ignore[no-untyped-def]
        self.reads.append(len(ids))
        return super().seen(ids)


def feed_of(count: int) -> bytes:
    items = "".join(f"<item><title>Item {i}</title><guid>g-{i}</guid></item>" for i in range(count))
    return f"<rss version='2.0'><channel><title>Many</title>{items}</channel></rss>".encode()


def test_feeds_that_arrive_together_are_judged_in_one_read_of_the_state(served: Served) -> None:
    # Given four feeds that answer at once (the run fetches four at a time), then a fifth
    urls = [f"https://feeds.test/{i}.xml" for i in range(5)]
    for url in urls:
        served.get(url, body=BASIC, headers=RSS)
    store = CountedReads()
    # When the run reads them
    result, sent = run(served, urls, store)
    # Then the four that arrived together took one read of the state store, the fifth another
    assert store.reads == [12, 3] and len(sent) == 15
    assert [feed.new for feed in result.feeds] == [3] * 5


def test_feeds_are_judged_together_up_to_a_hundred_items_a_read(served: Served) -> None:
    # Given four feeds of 40 items each, answering at once
    urls = [f"https://feeds.test/{i}.xml" for i in range(4)]
    for url in urls:
        served.get(url, body=feed_of(40), headers=RSS)
    store = CountedReads()
    # When the run reads them, Then two feeds go in each read (a third would pass 100 ids)
    _, sent = run(served, urls, store)
    assert store.reads == [80, 80] and len(sent) == 160
