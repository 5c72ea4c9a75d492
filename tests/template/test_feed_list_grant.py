"""FeedListUri: an S3 list is readable by the RSS function, that one object and nothing wider;
no list grants nothing. Resolved as CloudFormation would (tools/local/cfn_template.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.template.test_template import TEMPLATE, statements
from tools.local.cfn_template import Resolver, load_template


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE)


def s3_grants(template: dict[str, Any], uri: str) -> list[Any]:
    resolver = Resolver(template, {"FeedListUri": uri})
    policies = resolver.resolve(template["Resources"]["RssProducerFunction"]["Properties"]["Policies"])
    return [s for policy in policies for s in policy.get("Statement", []) if "s3:" in str(s["Action"])]


@pytest.mark.parametrize(
    ("uri", "resource"),
    [
        ("s3://team-lists/feeds.opml", "arn:aws:s3:::team-lists/feeds.opml"),
        ("s3://team.lists/exports/2026/feeds.opml", "arn:aws:s3:::team.lists/exports/2026/feeds.opml"),
    ],
)
def test_an_s3_list_grants_get_object_on_that_object_only(template: dict[str, Any], uri: str, resource: str) -> None:
    assert s3_grants(template, uri) == [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": resource}]


def test_no_list_grants_nothing(template: dict[str, Any]) -> None:
    assert s3_grants(template, "") == []


def test_the_grant_is_conditional_and_the_only_s3_one(template: dict[str, Any]) -> None:
    granted = [s for s in statements(template, "RssProducerFunction") if "s3:" in str(s["Action"])]
    assert [s["Action"] for s in granted] == ["s3:GetObject"]
    assert not any("s3:" in str(s["Action"]) for s in statements(template, "PolymarketProducerFunction"))


@pytest.mark.parametrize(
    ("uri", "accepted"),
    [
        ("s3://team-lists/feeds.opml", True),
        ("s3://team-lists/*", False),  # a wildcard would widen the grant
        ("s3://team-lists/feeds?.opml", False),
        ("s3://team-lists", False),
        ("https://lists.example/feeds.opml", False),  # FEED_LIST_URI reads it; the parameter is for S3
        ("ftp://lists.example/feeds.opml", False),
        ("", True),
    ],
)
def test_the_parameter_accepts_what_the_function_reads(template: dict[str, Any], uri: str, accepted: bool) -> None:
    pattern = template["Parameters"]["FeedListUri"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, uri)) is accepted


def test_the_variable_carries_the_parameter(template: dict[str, Any]) -> None:
    variables = template["Resources"]["RssProducerFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["FEED_LIST_URI"] == {"Ref": "FeedListUri"}
