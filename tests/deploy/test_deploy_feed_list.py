"""A stack whose feed list is an OPML file in the emulator's S3 (FeedListUri=s3://...): the function
is told where it is, its role may read that one object and nothing more of S3, and the list there
is what the function's reader finds. A stack of its own, deleted at the end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.deploy.stack import Deployer, Stack, statements
from tests.deploy.test_deploy import configuration, role_statements
from tools.services.feed_hosts import write_opml

STACK = "producers-feed-list"
BUCKET, KEY = "team-feed-lists", "exports/reader.opml"
URI = f"s3://{BUCKET}/{KEY}"
FEEDS = [f"https://feeds{n % 7}.example/{n}.xml" for n in range(1_000)]


@pytest.fixture(scope="module")
def listed(deployer: Deployer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s3 = deployer.localstack.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    opml = write_opml(FEEDS, tmp_path_factory.mktemp("lists") / "reader.opml")
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=opml.read_bytes())
    try:
        yield deployer.deploy(STACK, {"FeedListUri": URI})
    finally:
        deployer.delete(STACK)


def test_the_function_is_told_where_the_list_is(listed: Stack) -> None:
    variables = configuration(listed, "RssProducerFunction")["Environment"]["Variables"]
    assert (variables["FEED_LIST_URI"], variables["FETCH_PER_HOST"]) == (URI, "2")
    assert "FEED_LIST_URI" not in configuration(listed, "PolymarketProducerFunction")["Environment"]["Variables"]


def test_the_role_may_get_that_one_object_and_nothing_else_of_s3(listed: Stack) -> None:
    # Given the deployed role's statements (role_statements also holds them to the template's Policies)
    granted = role_statements(listed, "RssProducerFunction")
    # Then S3 appears once: GetObject on the list's own ARN
    s3 = [s for s in granted if any(action.startswith("s3:") for action in s["Action"])]
    assert s3 == statements(
        {"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/{KEY}"}}
    )
    polymarket = role_statements(listed, "PolymarketProducerFunction")
    assert not [s for s in polymarket if any(action.startswith("s3:") for action in s["Action"])]


def test_the_list_in_the_emulator_reads_as_the_function_reads_it(listed: Stack) -> None:
    import rss_fetch
    from rss_feed_list import FeedListReader
    from rss_transfers import Transfers

    # When the function's reader reads FEED_LIST_URI from the emulator's S3, twice (a warm container)
    reader = FeedListReader(URI, rss_fetch.Fetcher(Transfers("test")), s3_client=listed.client("s3"))
    first, again = reader.read(), reader.read()
    # Then it finds every feed (in folder order), and the second read kept the list (ETag unchanged)
    assert sorted(first.urls) == sorted(FEEDS) and again is first
