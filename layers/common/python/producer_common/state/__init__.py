"""Run-to-run state: ids already delivered, each feed's HTTP validators and its schedule.

DynamoDB in AWS (``STATE_TABLE``), SQLite locally (``STATE_PATH``, which wins when both are
set), behind one interface. Without either, every run starts from nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from .. import constants as c
from .. import env
from .base import FeedSchedule, FeedValidators, StateStore

__all__ = ["FeedSchedule", "FeedValidators", "StateStore", "open_state_store"]

DEFAULT_TTL_DAYS = 90


def open_state_store(environ: Mapping[str, str] | None = None, dynamodb_client: Any = None) -> StateStore | None:
    e = os.environ if environ is None else environ
    ttl_s = env.integer(e, c.STATE_TTL_DAYS, DEFAULT_TTL_DAYS, 1, 3650) * 86_400
    path = env.optional_str(e, c.STATE_PATH)
    if path:
        from .sqlite import SqliteStateStore

        return SqliteStateStore(path, ttl_s)
    table = env.optional_str(e, c.STATE_TABLE)
    if table:
        from .dynamodb import DynamoStateStore
        from .dynamodb_client import DynamoDBClient

        region = env.optional_str(e, c.AWS_REGION) or env.optional_str(e, c.AWS_DEFAULT_REGION) or c.DEFAULT_REGION
        return DynamoStateStore(table, ttl_s, client=dynamodb_client or DynamoDBClient(region, e))
    return None
