"""read_capped: the one streamed, size-capped body read every producer uses (feeds and Polymarket's APIs)."""

from __future__ import annotations

from typing import Any

import pytest
import urllib3.exceptions
from producer_common.http import BodyError, read_capped

from tests.unit.producer_common.fakes import response


def test_a_body_under_the_cap_is_read_whole() -> None:
    assert read_capped(response([b"ab", b"cd"]), max_bytes=4) == b"abcd"


@pytest.mark.parametrize("headers", [{}, {"Content-Length": "5"}], ids=["streamed", "declared"])
def test_a_body_over_the_cap_is_refused(headers: dict[str, str]) -> None:
    # Given a body one byte over the cap, declared or not
    answer = response([b"abc", b"de"], **headers)
    # Then it is refused with the cap in the reason
    with pytest.raises(BodyError, match="body larger than 4 bytes"):
        read_capped(answer, max_bytes=4)


def test_a_body_slower_than_its_budget_is_refused() -> None:
    # Given a clock that moves 2 s a read and a budget of 3 s
    ticks = iter(range(0, 100, 2))
    with pytest.raises(BodyError, match="body not received within 3 s"):
        read_capped(response([b"a"] * 10), 100, started=0.0, budget_s=3.0, clock=lambda: float(next(ticks)))


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (
            urllib3.exceptions.ProtocolError("Connection broken: IncompleteRead"),
            "connection broken while reading the body",
        ),
        (urllib3.exceptions.ReadTimeoutError(None, "/markets", "Read timed out."), "read timed out"),
        (urllib3.exceptions.DecodeError("incorrect header check"), "body could not be decoded (Content-Encoding)"),
        (urllib3.exceptions.SSLError("bad record mac"), "transfer failed (SSLError)"),
    ],
    ids=["protocol", "read-timeout", "decode", "other"],
)
def test_urllib3_errors_while_reading_become_a_plain_reason(error: Any, reason: str) -> None:
    # (the reasons are producer_common.http.transfer_reason's, as the feed fetch reports them too)
    with pytest.raises(BodyError) as raised:
        read_capped(response([b"{", error]), 100)
    assert str(raised.value) == reason
