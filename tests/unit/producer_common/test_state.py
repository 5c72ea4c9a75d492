"""Both state stores keep the same promises: batched, expiring, validators per feed.

DynamoDB twice: on boto3's client under moto's in-process mock, and on the store's own client
(``dynamodb_client``) over HTTP to moto's DynamoDB server on loopback.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import Mock

import boto3
import pytest
from producer_common.state import FeedSchedule, FeedValidators, open_state_store
from producer_common.state.dynamodb import DynamoStateStore
from producer_common.state.dynamodb_client import DynamoDBClient
from producer_common.state.sqlite import SqliteStateStore

from tools.services.aws_stand_in import moto_server

TTL = 1000


@pytest.fixture
def clock() -> Mock:
    """The stores' clock: the time it gives is its ``return_value``, moved by hand."""
    return Mock(return_value=1_800_000_000.0)


@pytest.fixture(scope="module")
def dynamodb_server() -> Iterator[dict[str, str]]:
    """moto's DynamoDB server on loopback: the environment a client needs to reach it."""
    with moto_server() as url:
        yield {"AWS_ENDPOINT_URL_DYNAMODB": url, "AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t"}


@pytest.fixture(params=["sqlite", "dynamodb", "dynamodb over HTTP"])
def store(request: pytest.FixtureRequest, tmp_path: Path, clock: Mock) -> Any:
    if request.param == "sqlite":
        return SqliteStateStore(str(tmp_path / "state.sqlite"), TTL, clock=clock)
    if request.param == "dynamodb over HTTP":
        environ = request.getfixturevalue("dynamodb_server")
        table = f"state-{uuid.uuid4().hex}"
        boto3.client(
            "dynamodb",
            region_name="us-east-1",
            endpoint_url=environ["AWS_ENDPOINT_URL_DYNAMODB"],
            aws_access_key_id="t",
            aws_secret_access_key="t",
        ).create_table(
            TableName=table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        )
        return DynamoStateStore(table, TTL, client=DynamoDBClient("us-east-1", environ=environ), clock=clock)
    table = request.getfixturevalue("state_table")
    return DynamoStateStore("state", TTL, client=table, clock=clock, sleep=lambda _s: None)


def test_marked_ids_are_seen_until_they_expire(store: Any, clock: Mock) -> None:
    ids = [f"id-{i}" for i in range(260)]  # more than one batch either way
    assert store.seen(ids) == {}
    store.mark_seen(ids[:130])
    seen = store.seen(ids)
    assert set(seen) == set(ids[:130])
    assert all(expires == pytest.approx(clock.return_value + TTL) for expires in seen.values())
    clock.return_value += TTL + 1
    assert store.seen(ids) == {}


def test_validators_round_trip_per_feed(store: Any) -> None:
    saved = {
        "https://a/feed": FeedValidators('"v1"', "Mon, 23 Nov 2026 00:00:00 GMT"),
        "https://b/feed": FeedValidators(None, "Tue, 24 Nov 2026 00:00:00 GMT"),
    }
    store.save_validators(saved)
    assert store.validators(["https://a/feed", "https://b/feed", "https://c/feed"]) == saved
    store.save_validators({"https://a/feed": FeedValidators('"v2"')})
    assert store.validators(["https://a/feed"])["https://a/feed"].etag == '"v2"'


def test_schedules_round_trip_per_feed_beside_the_validators(store: Any) -> None:
    # Given a feed with validators and two feeds with schedules
    store.save_validators({"https://a/feed": FeedValidators('"v1"')})
    store.save_schedules(
        {"https://a/feed": FeedSchedule(1_800_000_900.5, 0, 900.0), "https://b/feed": FeedSchedule(2e9, 3)}
    )
    # When one schedule is replaced
    store.save_schedules({"https://b/feed": FeedSchedule(2.5e9, 4)})
    # Then each record kind reads back on its own
    assert store.schedules(["https://a/feed", "https://b/feed", "https://c/feed"]) == {
        "https://a/feed": FeedSchedule(1_800_000_900.5, 0, 900.0),
        "https://b/feed": FeedSchedule(2.5e9, 4),
    }
    assert store.validators(["https://a/feed", "https://b/feed"]) == {"https://a/feed": FeedValidators('"v1"')}


def test_unprocessed_dynamodb_work_is_retried(clock: Mock) -> None:
    class Flaky:
        """Leaves the first request of each kind unprocessed, as DynamoDB does under throttling."""

        def __init__(self) -> None:
            self.writes, self.reads, self.items = 0, 0, {}  # type: ignore[var-annotated]

        def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
            self.writes += 1
            if self.writes == 1:
                return {"UnprocessedItems": RequestItems}
            for put in RequestItems["state"]:
                self.items[put["PutRequest"]["Item"]["pk"]["S"]] = put["PutRequest"]["Item"]
            return {}

        def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
            self.reads += 1
            if self.reads == 1:
                return {"Responses": {}, "UnprocessedKeys": RequestItems}
            keys = [key["pk"]["S"] for key in RequestItems["state"]["Keys"]]
            return {"Responses": {"state": [self.items[k] for k in keys if k in self.items]}}

    client = Flaky()
    store = DynamoStateStore("state", TTL, client=client, clock=clock, sleep=lambda _s: None)
    store.mark_seen(["a", "b"])
    assert set(store.seen(["a", "b", "c"])) == {"a", "b"}
    assert client.writes == 2 and client.reads == 2


def test_the_store_is_chosen_from_the_environment(tmp_path: Path) -> None:
    assert open_state_store({}) is None
    local = open_state_store({"STATE_PATH": str(tmp_path / "s.sqlite"), "STATE_TABLE": "t", "STATE_TTL_DAYS": "2"})
    assert isinstance(local, SqliteStateStore) and local.ttl_s == 2 * 86_400
    remote = open_state_store({"STATE_TABLE": "t"}, dynamodb_client=object())
    assert isinstance(remote, DynamoStateStore) and remote.table == "t"
    # and on its own client, from the same environment (its region, its endpoint, its credentials)
    environ = {"STATE_TABLE": "t", "AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "s"}
    own = open_state_store({**environ, "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000"})
    assert isinstance(own, DynamoStateStore) and isinstance(own._client, DynamoDBClient)
    assert (own._client.region, own._client.endpoint) == ("eu-west-1", "http://127.0.0.1:8000")
