"""FEED_LIST_URI: the list's format found from its content, one case a file (feed_lists/), and the
three places it may live, each read again between warm invocations only when it changed."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
import rss_fetch
from moto import mock_aws
from producer_common import ConfigurationError
from rss_feed_list import FeedList, FeedListError, FeedListReader, check_uri, parse_feed_list

from tests.unit.rss_producer.served import Served

LISTS = Path(__file__).parent / "feed_lists"

PARSED = {
    "reader_export_2_0.opml": FeedList(
        (
            "https://news.example/world.xml",
            "https://lwn.example/headlines/rss",
            "http://podcast.example/feed",
            "https://blog.example/atom.xml?lang=en&full=1",
        ),
        ("feed://example.org/legacy.xml",),
    ),
    "flat_1_0.opml": FeedList(("http://cafe.example/rss.xml", "https://two.example/feed")),
    "urls.json": FeedList(("https://a.example/feed.xml", "https://b.example/rss"), ("ftp://c.example/feed.xml", "42")),
    "objects.json": FeedList(("https://a.example/feed.xml", "https://b.example/rss"), ("{'title': 'no url'}",)),
    "feeds.txt": FeedList(
        ("https://a.example/feed.xml", "https://b.example/rss", "http://c.example/atom"), ("feeds/local.xml",)
    ),
}
REFUSED = {
    "not_opml.xml": "root is <rss>, not <opml>",
    "unclosed.opml": "not well-formed",
    "entity_bomb.opml": "OPML refused: external XML entity 'secret'",
}


@pytest.mark.parametrize("name", sorted(PARSED))
def test_each_format_is_found_from_its_content(name: str) -> None:
    assert parse_feed_list((LISTS / name).read_bytes()) == PARSED[name]


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_a_list_that_is_none_of_them_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match=REFUSED[name]):
        parse_feed_list((LISTS / name).read_bytes())


@pytest.mark.parametrize("uri", ["s3://bucket", "ftp://host/list.opml", "file://relative/list.txt", "feeds.opml", ""])
def test_an_unreadable_kind_of_uri_names_the_variable(uri: str) -> None:
    with pytest.raises(ConfigurationError, match="FEED_LIST_URI"):
        check_uri(uri)


def fetcher(served: Served | None = None) -> rss_fetch.Fetcher:
    return rss_fetch.Fetcher(served or Served(), timeout_s=2)


def test_a_file_is_parsed_again_only_when_it_changed(tmp_path: Path) -> None:
    # Given a list in a file, read once
    path = tmp_path / "feeds.txt"
    path.write_text("https://a.example/feed.xml\n")
    reader = FeedListReader(f"file://{path}", fetcher())
    first = reader.read()
    # When it is read again unchanged, then after an edit
    again = reader.read()
    path.write_text("https://a.example/feed.xml\nhttps://b.example/rss\n")
    edited = reader.read()
    # Then the unchanged read hands back the same list, the edited one the new list
    assert again is first
    assert edited.urls == ("https://a.example/feed.xml", "https://b.example/rss")


def test_an_http_list_is_asked_for_conditionally(served: Served) -> None:
    # Given a list served with an ETag, which answers 304 to it
    uri = "https://lists.example/feeds.opml"
    body = (LISTS / "reader_export_2_0.opml").read_bytes()
    served.get(uri, body=body, headers={"ETag": '"v1"'})
    served.get(uri, status=304, match_headers={"If-None-Match": '"v1"'})
    reader = FeedListReader(uri, fetcher(served))
    # When it is read twice
    first, second = reader.read(), reader.read()
    # Then the second read sent the ETag and kept the list
    assert second is first and len(first.urls) == 4
    assert len(served.calls) == 2


@mock_aws
def test_an_s3_list_is_asked_for_with_its_etag() -> None:
    # Given a list in S3
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket="lists")
    client.put_object(Bucket="lists", Key="team/feeds.json", Body=(LISTS / "urls.json").read_bytes())
    reader = FeedListReader("s3://lists/team/feeds.json", fetcher(), s3_client=client)
    # When it is read, read again unchanged, then replaced
    first, again = reader.read(), reader.read()
    client.put_object(Bucket="lists", Key="team/feeds.json", Body=b"https://z.example/feed\n")
    replaced = reader.read()
    # Then
    assert first.urls == ("https://a.example/feed.xml", "https://b.example/rss") and again is first
    assert replaced.urls == ("https://z.example/feed",)


@mock_aws
def test_a_list_that_cannot_be_read_is_an_error_naming_its_uri(tmp_path: Path, served: Served) -> None:
    served.get("https://lists.example/gone.opml", status=404)
    with pytest.raises(FeedListError, match=r"https://lists.example/gone.opml: HTTP 404"):
        FeedListReader("https://lists.example/gone.opml", fetcher(served)).read()
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket="lists")
    with pytest.raises(FeedListError, match="s3://lists/missing.opml: NoSuchKey"):
        FeedListReader("s3://lists/missing.opml", fetcher(), s3_client=client).read()
    with pytest.raises(FeedListError, match=f"file://{tmp_path}/none.txt: No such file"):
        FeedListReader(f"file://{tmp_path}/none.txt", fetcher()).read()
    (tmp_path / "rss.xml").write_bytes((LISTS / "not_opml.xml").read_bytes())
    with pytest.raises(FeedListError, match="rss.xml is not OPML, JSON or text"):
        FeedListReader(f"file://{tmp_path}/rss.xml", fetcher()).read()
