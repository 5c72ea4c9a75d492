"""Stubbed HTTP for fetches: ``Served`` stands where ``rss_fetch.Fetcher`` takes its urllib3 pools."""

from __future__ import annotations

import io
from types import SimpleNamespace
from typing import Any

import pytest
from urllib3 import HTTPHeaderDict, HTTPResponse
from urllib3.exceptions import NewConnectionError


class Served:
    """Answers by URL and the request headers an answer names; of several that match, the first is
    given, and dropped once given (as ``responses`` does); a URL nothing answers is refused."""

    def __init__(self) -> None:
        self.answers: list[SimpleNamespace] = []
        self.calls: list[SimpleNamespace] = []  # every request: url, headers

    def get(self, url: str, body: bytes | str = b"", status: int = 200, **kw: dict[str, str]) -> SimpleNamespace:
        body = body.encode() if isinstance(body, str) else body
        headers, match = kw.get("headers", {}), kw.get("match_headers", {})
        self.answers.append(SimpleNamespace(url=url, body=body, status=status, headers=headers, match=match, given=0))
        return self.answers[-1]

    def urlopen(self, method: str, url: str, headers: dict[str, str], **kw: Any) -> HTTPResponse:
        asked = HTTPHeaderDict(headers)
        self.calls.append(SimpleNamespace(url=url, headers=asked))
        found = [a for a in self.answers if a.url == url and all(asked.get(k) == v for k, v in a.match.items())]
        if not found:
            raise NewConnectionError(None, f"nothing serves {url}")  # type: ignore[arg-type]
        if len(found) > 1:
            self.answers.remove(found[0])
            found = found[1:] if found[0].given else found
        found[0].given += 1
        return HTTPResponse(io.BytesIO(found[0].body), found[0].headers, found[0].status, preload_content=False)


@pytest.fixture
def served() -> Served:
    return Served()
