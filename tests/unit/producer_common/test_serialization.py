"""Wire format: compact UTF-8 JSON values, UTC times."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from producer_common.serialization import encode_headers, encode_value, parse_utc, utc_iso, value_encoder


def test_values_are_compact_utf8_json_with_times_in_utc_naive_ones_taken_as_utc() -> None:
    paris = timezone(timedelta(hours=1))
    raw = encode_value({"title": "Café", "at": datetime(2026, 1, 2, 13, 0, tzinfo=paris), "n": 1.5})
    assert raw == '{"title":"Café","at":"2026-01-02T12:00:00Z","n":1.5}'.encode()
    assert json.loads(raw)["n"] == 1.5
    assert utc_iso(datetime(2026, 5, 1, 8, 30)) == "2026-05-01T08:30:00Z"


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), object()])
def test_values_json_cannot_carry_are_refused(bad: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        encode_value({"x": bad})


VALUES = [
    {"title": 'Café \u2028 "quoted" \\ \n', "emoji": "\U0001f600", "ctl": "\x00\x1f"},
    {"n": [0, -1, 2**70, 1.5, -0.0, 1e-300, 1e300], "flags": [True, False, None]},
    {"nested": {"a": {"b": [{"c": []}, {}]}}, "tags": ("x", "y"), "at": datetime(2026, 1, 2, 3, 4, 5)},
    {7: "int key", 2.5: "float key", None: "null key", False: "bool key"},
    {},
]


def test_the_direct_encoder_is_in_use_and_writes_what_the_reference_writes() -> None:
    fast = value_encoder()
    assert fast is not encode_value  # CPython's C encoder is there, and agreed on the sample
    for value in VALUES:
        assert fast(value) == encode_value(value)


def test_a_cycle_is_refused_and_a_failure_leaves_nothing_behind() -> None:
    encode = value_encoder()
    looped: dict[str, object] = {"a": [1]}
    looped["self"] = looped
    with pytest.raises(ValueError, match="Circular"):
        encode(looped)
    refused = {"inner": [{"x": float("nan")}]}
    with pytest.raises(ValueError, match="not JSON compliant"):
        encode(refused)
    refused["inner"][0]["x"] = 1.0  # the same containers again: a leftover mark would call them a cycle
    assert encode(refused) == b'{"inner":[{"x":1.0}]}'
    shared = [1, 2]
    assert encode({"a": shared, "b": shared}) == b'{"a":[1,2],"b":[1,2]}'


def test_headers_are_utf8_bytes() -> None:
    assert encode_headers({"schema": "rss_item/1", "source": "https://é.example"}) == [
        ("schema", b"rss_item/1"),
        ("source", "https://é.example".encode()),
    ]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-12-10T12:00:00Z", "2026-12-10T12:00:00Z"),
        ("2026-12-10T13:00:00+01:00", "2026-12-10T12:00:00Z"),
        ("2026-12-10", "2026-12-10T00:00:00Z"),
        ("soon", None),
        (None, None),
        ("", None),
    ],
)
def test_source_times_are_reemitted_in_utc(raw: object, expected: str | None) -> None:
    assert parse_utc(raw) == expected
