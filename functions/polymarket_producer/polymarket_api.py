"""Polymarket's public APIs as the producer uses them: counted, rate-limited, retried."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

import requests
from producer_common.deadline import Deadline
from producer_common.http import (
    BodyError,
    RateLimiter,
    RetryPolicy,
    describe_request_error,
    read_capped,
    send_with_retries,
)

# Published limits per 10 s: Gamma /markets 300, CLOB batch endpoints 500 each. Kept a little under.
GAMMA_LIMIT = RateLimiter(250, 10.0)
CLOB_LIMIT = RateLimiter(400, 10.0)
KEYSET_PAGE = 100  # the most Gamma's keyset listing returns per page
# A keyset page of 100 markets is about 0.5 MB, a batch of 100 books 1-2 MB; the cap keeps a hostile
# or broken answer from taking the function's 256 MB (parsed JSON takes several times its bytes).
MAX_RESPONSE_BYTES = 8 * 1024 * 1024
BODY_BUDGET_FACTOR = 2  # a whole answer may take at most twice the read timeout


class ApiError(Exception):
    """An API answered with an error, or with a shape we cannot read."""


class PolymarketApi:
    """Gamma and CLOB calls with bounded retries honouring Retry-After, and a count per endpoint."""

    def __init__(
        self,
        session: requests.Session,
        gamma_url: str,
        clob_url: str,
        timeout_s: float = 10.0,
        deadline: Deadline | None = None,
        retry: RetryPolicy | None = None,
        gamma_limit: RateLimiter = GAMMA_LIMIT,
        clob_limit: RateLimiter = CLOB_LIMIT,
        max_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        self.session, self.gamma_url, self.clob_url = session, gamma_url, clob_url
        self.timeout_s, self.max_bytes = timeout_s, max_bytes
        self.timeout = (min(timeout_s, 5.0), timeout_s)
        self.deadline, self.retry = deadline, retry or RetryPolicy()
        self.limits = {"gamma": gamma_limit, "clob": clob_limit}
        self.requests: Counter[str] = Counter()
        self._lock = threading.Lock()

    def _call(self, api: str, method: str, path: str, **kwargs: Any) -> Any:
        base = self.gamma_url if api == "gamma" else self.clob_url
        with self._lock:
            self.requests[f"{method} {api}{path}"] += 1

        def send() -> requests.Response:
            self.limits[api].acquire()
            return self.session.request(method, f"{base}{path}", timeout=self.timeout, stream=True, **kwargs)

        try:
            with send_with_retries(send, self.retry, self.deadline) as response:
                if response.status_code >= 400:
                    raise ApiError(f"{api} {path}: HTTP {response.status_code}")
                budget_s = self.timeout_s * BODY_BUDGET_FACTOR
                body = read_capped(response, self.max_bytes, time.monotonic(), budget_s)
        except requests.RequestException as error:
            raise ApiError(f"{api} {path}: {describe_request_error(error, base)}") from None
        except BodyError as error:
            raise ApiError(f"{api} {path}: {error}") from None
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            raise ApiError(f"{api} {path}: response is not JSON") from None

    def market_page(self, filters: Mapping[str, Any], cursor: str | None) -> tuple[list[Mapping[str, Any]], Any]:
        """One page of Gamma's keyset listing and its ``next_cursor``: every filter re-sent,
        ``after_cursor`` from the previous page's ``next_cursor``.

        (A parameter named ``cursor`` is silently ignored there, and the offset listing refuses
        offsets past about 2,000, so neither is used.)
        """
        params = {**filters, "limit": KEYSET_PAGE, **({"after_cursor": cursor} if cursor else {})}
        page = self._call("gamma", "GET", "/markets/keyset", params=params)
        if not isinstance(page, Mapping) or not isinstance(page.get("markets"), list):
            raise ApiError("gamma /markets/keyset: no 'markets' list in the answer")
        return [row for row in page["markets"] if isinstance(row, Mapping)], page.get("next_cursor")

    def books(self, token_ids: list[str]) -> list[Mapping[str, Any]]:
        """CLOB order books for a batch of tokens; tokens without a book are simply absent."""
        answer = self._call("clob", "POST", "/books", json=[{"token_id": token_id} for token_id in token_ids])
        if not isinstance(answer, list):
            raise ApiError("clob /books: the answer is not a list")
        return [book for book in answer if isinstance(book, Mapping) and isinstance(book.get("asset_id"), str)]
