"""The wire format: JSON values, UTF-8 keys and headers."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import date, datetime, timezone
from typing import Any


def utc_iso(moment: datetime) -> str:
    """ISO-8601 in UTC with a ``Z`` suffix; a naive time is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def parse_utc(value: Any) -> str | None:
    """An ISO-8601 string from a source, re-emitted in UTC; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return utc_iso(moment)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return utc_iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_default)


def encode_value(value: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON; NaN and infinity are refused rather than sent as invalid JSON."""
    return _encoder.encode(value).encode("utf-8")


def value_encoder() -> Callable[[Mapping[str, Any]], bytes]:
    """``encode_value`` at half the cost, for one thread: the C encoder that ``_encoder.encode``
    builds afresh on every call, built once and called directly. It is json's internal, so it is
    used only if it writes exactly what ``encode_value`` writes; otherwise ``encode_value`` it is."""
    make = getattr(json.encoder, "c_make_encoder", None)  # not in typeshed
    if make is None:
        return encode_value
    # Ids of the containers being written, to refuse cycles as ValueError. Only a failed call can
    # leave some behind, so a failure clears them. Shared by every call: hence one thread only.
    markers: dict[int, Any] = {}
    try:
        iterencode = make(markers, _default, json.encoder.encode_basestring, None, ":", ",", False, False, False)
    except TypeError:  # another Python's signature
        return encode_value

    def encode(value: Mapping[str, Any]) -> bytes:
        try:
            return "".join(iterencode(value, 0)).encode("utf-8")
        except BaseException:
            markers.clear()
            raise

    sample = {"é": [1, 2.5, None, True, '\u2028"x'], "at": date(2026, 1, 2), "n": {"m": -0.0}}
    try:
        agrees = encode(sample) == encode_value(sample)
    except Exception:
        agrees = False
    return encode if agrees else encode_value


def encode_key(key: str) -> bytes:
    return key.encode("utf-8")


def encode_headers(headers: Mapping[str, str]) -> list[tuple[str, bytes]]:
    """UTF-8 header values. A run repeats a handful of header sets thousands of times, so each set
    is encoded once; the cache is bounded and the returned list must not be changed."""
    items = tuple(headers.items())
    encoded = _encoded_headers.get(items)
    if encoded is None:
        if len(_encoded_headers) >= _HEADER_SETS:
            _encoded_headers.clear()
        encoded = _encoded_headers[items] = [(name, value.encode("utf-8")) for name, value in items]
    return encoded


_HEADER_SETS = 1024
_encoded_headers: dict[tuple[tuple[str, str], ...], list[tuple[str, bytes]]] = {}
