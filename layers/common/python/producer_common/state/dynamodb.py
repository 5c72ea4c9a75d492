"""DynamoDB state for Lambda (``STATE_TABLE``): one table, partition key ``pk``, TTL on ``expires_at``.

Items are ``item#<id>``; feeds are ``feed#<url>`` with their validators, and ``due#<url>`` with
when they are next due and their failures in a row. Reads and writes go in
batches (100 keys per BatchGetItem, 25 items per BatchWriteItem) and retry what DynamoDB leaves
unprocessed, through ``dynamodb_client`` (or any client with boto3's low-level shapes).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from ..exceptions import ProducerError
from .base import FeedSchedule, FeedValidators

READ_BATCH = 100
WRITE_BATCH = 25
MAX_ROUNDS = 8


class DynamoStateStore:
    def __init__(
        self,
        table: str,
        ttl_s: int,
        client: Any,  # dynamodb_client.DynamoDBClient, or boto3's low-level client: the same shapes
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.table = table
        self.ttl_s = ttl_s
        self._client = client
        self._clock = clock
        self._sleep = sleep

    def _get(self, keys: Sequence[str], attributes: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for start in range(0, len(keys), READ_BATCH):
            batch = [{"pk": {"S": key}} for key in keys[start : start + READ_BATCH]]
            request = {self.table: {"Keys": batch, "ProjectionExpression": attributes, "ConsistentRead": True}}

            def read(request: dict[str, Any]) -> dict[str, Any]:
                response = self._client.batch_get_item(RequestItems=request)
                items.extend(response.get("Responses", {}).get(self.table, []))
                return response.get("UnprocessedKeys") or {}

            self._until_processed(read, request)
        return items

    def _put(self, items: list[dict[str, Any]]) -> None:
        for start in range(0, len(items), WRITE_BATCH):
            request = {self.table: [{"PutRequest": {"Item": item}} for item in items[start : start + WRITE_BATCH]]}
            self._until_processed(
                lambda request: self._client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {},
                request,
            )

    def _until_processed(self, call: Callable[[dict[str, Any]], dict[str, Any]], request: dict[str, Any]) -> None:
        """Repeat ``call`` with what DynamoDB left unprocessed, backing off, a bounded number of times."""
        for round_ in range(MAX_ROUNDS):
            request = call(request)
            if not request:
                return
            self._sleep(0.05 * 2**round_)
        raise ProducerError(f"DynamoDB left work unprocessed in {self.table} after {MAX_ROUNDS} rounds")

    def seen(self, ids: Collection[str]) -> dict[str, float]:
        now = self._clock()
        found = {}
        for item in self._get([f"item#{item_id}" for item_id in dict.fromkeys(ids)], "pk, expires_at"):
            expires = float(item["expires_at"]["N"])
            if expires >= now:  # TTL deletion lags; an expired record no longer counts
                found[item["pk"]["S"].removeprefix("item#")] = expires
        return found

    def mark_seen(self, ids: Collection[str]) -> None:
        expires = str(int(self._clock() + self.ttl_s))
        self._put([{"pk": {"S": f"item#{item_id}"}, "expires_at": {"N": expires}} for item_id in dict.fromkeys(ids)])

    def validators(self, feeds: Sequence[str]) -> dict[str, FeedValidators]:
        found = {}
        for item in self._get([f"feed#{url}" for url in dict.fromkeys(feeds)], "pk, etag, last_modified"):
            found[item["pk"]["S"].removeprefix("feed#")] = FeedValidators(
                item.get("etag", {}).get("S"), item.get("last_modified", {}).get("S")
            )
        return found

    def save_validators(self, validators: Mapping[str, FeedValidators]) -> None:
        expires = str(int(self._clock() + self.ttl_s))
        items = []
        for url, value in validators.items():
            item: dict[str, Any] = {"pk": {"S": f"feed#{url}"}, "expires_at": {"N": expires}}
            if value.etag:
                item["etag"] = {"S": value.etag}
            if value.last_modified:
                item["last_modified"] = {"S": value.last_modified}
            items.append(item)
        self._put(items)

    def schedules(self, feeds: Sequence[str]) -> dict[str, FeedSchedule]:
        found = {}
        for item in self._get([f"due#{url}" for url in dict.fromkeys(feeds)], "pk, due_at, failures, interval_s"):
            found[item["pk"]["S"].removeprefix("due#")] = FeedSchedule(
                float(item["due_at"]["N"]), int(item["failures"]["N"]), float(item["interval_s"]["N"])
            )
        return found

    def save_schedules(self, schedules: Mapping[str, FeedSchedule]) -> None:
        expires = str(int(self._clock() + self.ttl_s))
        self._put(
            [
                {
                    "pk": {"S": f"due#{url}"},
                    "due_at": {"N": f"{s.due_at:.3f}"},
                    "failures": {"N": str(s.failures)},
                    "interval_s": {"N": f"{s.interval_s:.3f}"},
                    "expires_at": {"N": expires},
                }
                for url, s in schedules.items()
            ]
        )

    def close(self) -> None:
        """Nothing to close: the client's connections stay for the container's next run."""
