"""Fakes for unit tests (a Kafka backend, an HTTP answer): the product never imports this."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import requests
from producer_common.backends import Settle

from tests.message_schemas import check_produced


@dataclass
class Produced:
    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


@dataclass
class FakeBackend:
    """Acknowledges on flush, unless told to fail a key (with librdkafka's words for why), hold messages, or raise."""

    fail: dict[bytes, str] = field(default_factory=dict)
    hold: bool = False  # never settle: what a dead broker looks like
    raise_on_produce: Exception | None = None
    produced: list[Produced] = field(default_factory=list)
    pending: list[tuple[bytes, int]] = field(default_factory=list)
    flush_timeouts: list[float] = field(default_factory=list)
    closed: bool = False
    name: str = "fake"
    settle: Settle | None = None  # given by the producer that builds it

    def produce(self, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]], sequence: int) -> None:
        if self.raise_on_produce is not None:
            raise self.raise_on_produce
        check_produced(value, headers)
        self.produced.append(Produced(topic, key, value, headers))
        self.pending.append((key, sequence))

    def poll(self) -> None:
        """Settles nothing until flush, like a client with linger."""

    def flush(self, timeout_s: float) -> None:
        self.flush_timeouts.append(timeout_s)
        if self.hold:
            return
        assert self.settle is not None
        for key, sequence in self.pending:
            self.settle(sequence, self.fail.get(key))
        self.pending.clear()

    def close(self, timeout_s: float) -> None:
        self.closed = True


def factory(backend: FakeBackend) -> Callable[[Settle], FakeBackend]:
    def attach(settle: Settle) -> FakeBackend:
        backend.settle = settle
        return backend

    return attach


class Raw:
    """urllib3's response as read_capped sees it: read1 gives one socket read, or raises what urllib3 raises."""

    def __init__(self, chunks: list[bytes | Exception]) -> None:
        self.chunks = chunks

    def read1(self, amount: int, decode_content: bool = True) -> bytes:
        if not self.chunks:
            return b""
        chunk = self.chunks.pop(0)
        if isinstance(chunk, Exception):
            raise chunk
        return chunk

    def close(self) -> None:
        pass

    def release_conn(self) -> None:
        pass


def response(chunks: list[bytes | Exception], **headers: str) -> requests.Response:
    """A 200 answer whose body comes in ``chunks`` (an exception among them is raised when read)."""
    answer = requests.Response()
    answer.status_code, answer.raw = 200, Raw(chunks)
    answer.headers.update(headers)
    return answer
