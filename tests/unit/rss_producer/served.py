"""Stubbed HTTP for fetches: ``Served`` stands where ``rss_fetch.Fetcher`` takes its transport
(``rss_transfers.Transfers``), answering each request at once."""

from __future__ import annotations

import time
from collections.abc import Hashable
from types import SimpleNamespace

import pytest
from rss_transfers import Answer, Request, wanted
from urllib3 import HTTPHeaderDict


class Served:
    """Answers by URL and the request headers an answer names; of several that match, the first is
    given, and dropped once given (as ``responses`` does); a URL nothing answers is refused."""

    def __init__(self) -> None:
        self.answers: list[SimpleNamespace] = []
        self.calls: list[SimpleNamespace] = []  # every request: url, headers
        self._answered: list[tuple[Hashable, Answer]] = []

    def get(self, url: str, body: bytes | str = b"", status: int = 200, **kw: dict[str, str]) -> SimpleNamespace:
        body = body.encode() if isinstance(body, str) else body
        headers, match = kw.get("headers", {}), kw.get("match_headers", {})
        self.answers.append(SimpleNamespace(url=url, body=body, status=status, headers=headers, match=match, given=0))
        return self.answers[-1]

    def start(self, key: Hashable, request: Request) -> None:
        self._answered.append((key, self.answer(request)))

    def wait(self, timeout_s: float) -> list[tuple[Hashable, Answer]]:
        if not self._answered:
            time.sleep(timeout_s)
        answered, self._answered = self._answered, []
        return answered

    def answer(self, request: Request) -> Answer:
        url, asked = request.url, HTTPHeaderDict(request.headers)
        self.calls.append(SimpleNamespace(url=url, headers=asked))
        match = [a for a in self.answers if a.url == url and all(asked.get(k) == v for k, v in a.match.items())]
        if not match:
            return Answer(url, error=f"connection refused by {url}", retry=True)
        if len(match) > 1:
            self.answers.remove(match[0])
            match = match[1:] if match[0].given else match
        found = match[0]
        found.given += 1
        headers = {name.lower(): value for name, value in found.headers.items()}
        if wanted(found.status, headers) and len(found.body) > request.max_bytes:
            return Answer(url, found.status, headers, error=f"body larger than {request.max_bytes} bytes")
        return Answer(url, found.status, headers, found.body if wanted(found.status, headers) else b"")


@pytest.fixture
def served() -> Served:
    return Served()
