"""SQLite state for local runs (``STATE_PATH``)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from pathlib import Path

from .base import FeedSchedule, FeedValidators

CHUNK = 500  # below SQLite's limit on bound parameters


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


class SqliteStateStore:
    def __init__(self, path: str, ttl_s: int, clock: Callable[[], float] = time.time) -> None:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.ttl_s = ttl_s
        self._clock = clock
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.executescript(
            """
            PRAGMA journal_mode=WAL;
            CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY, expires_at REAL NOT NULL);
            CREATE TABLE IF NOT EXISTS feeds (url TEXT PRIMARY KEY, etag TEXT, last_modified TEXT);
            CREATE TABLE IF NOT EXISTS schedules (url TEXT PRIMARY KEY, due_at REAL, failures INTEGER, interval_s REAL);
            """
        )
        self._db.execute("DELETE FROM seen WHERE expires_at < ?", (clock(),))

    def seen(self, ids: Collection[str]) -> dict[str, float]:
        found: dict[str, float] = {}
        now = self._clock()
        for chunk in _chunks(list(ids)):
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(f"SELECT id, expires_at FROM seen WHERE id IN ({marks})", chunk)
            found.update((row_id, expires) for row_id, expires in rows if expires >= now)
        return found

    def mark_seen(self, ids: Collection[str]) -> None:
        expires = self._clock() + self.ttl_s
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR REPLACE INTO seen (id, expires_at) VALUES (?, ?)", [(item_id, expires) for item_id in ids]
            )

    def validators(self, feeds: Sequence[str]) -> dict[str, FeedValidators]:
        found = {}
        for chunk in _chunks(list(feeds)):
            marks = ",".join("?" * len(chunk))
            for url, etag, modified in self._db.execute(
                f"SELECT url, etag, last_modified FROM feeds WHERE url IN ({marks})", chunk
            ):
                found[url] = FeedValidators(etag, modified)
        return found

    def save_validators(self, validators: Mapping[str, FeedValidators]) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR REPLACE INTO feeds (url, etag, last_modified) VALUES (?, ?, ?)",
                [(url, v.etag, v.last_modified) for url, v in validators.items()],
            )

    def schedules(self, feeds: Sequence[str]) -> dict[str, FeedSchedule]:
        found = {}
        for chunk in _chunks(list(feeds)):
            marks = ",".join("?" * len(chunk))
            for url, due_at, failures, interval_s in self._db.execute(
                f"SELECT url, due_at, failures, interval_s FROM schedules WHERE url IN ({marks})", chunk
            ):
                found[url] = FeedSchedule(due_at, failures, interval_s)
        return found

    def save_schedules(self, schedules: Mapping[str, FeedSchedule]) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR REPLACE INTO schedules (url, due_at, failures, interval_s) VALUES (?, ?, ?, ?)",
                [(url, s.due_at, s.failures, s.interval_s) for url, s in schedules.items()],
            )

    def close(self) -> None:
        self._db.close()
