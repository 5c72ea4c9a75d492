"""When a feed is due again: what it says of itself, within a floor and a ceiling, and back-off after failures.

Pure functions over a clock's ``now`` (epoch seconds) and the stored ``FeedSchedule`` of each feed.
A feed says how long it stays unchanged through HTTP (``Cache-Control: max-age`` less ``Age``, else
``Expires`` against ``Date``, RFC 9111 4.2.1) and through its document (RSS 2.0 ``<ttl>`` in
minutes; ``sy:updatePeriod`` / ``sy:updateFrequency`` of the RSS 1.0 syndication module). The
longest of these is the interval, clamped to ``[floor_s, ceiling_s]``. A feed that failed ``n``
runs in a row waits ``base_s * 2**(n-1)``, capped at ``ceiling_s``: a dead feed costs one request
a ceiling (a day by default), not one a schedule tick.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from producer_common.state import FeedSchedule

DAY_S = 86_400.0
PERIODS_S = {"hourly": 3600.0, "daily": DAY_S, "weekly": 7 * DAY_S, "monthly": 30 * DAY_S, "yearly": 365 * DAY_S}
_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d+)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|[,\s])(?:no-cache|no-store)\b", re.IGNORECASE)
_TTL = re.compile(rb"<ttl\s*>\s*(\d{1,9})\s*</ttl\s*>", re.IGNORECASE)
_PERIOD = re.compile(rb"<(?:[\w.-]+:)?updatePeriod\s*>\s*(\w+)\s*<", re.IGNORECASE)
_FREQUENCY = re.compile(rb"<(?:[\w.-]+:)?updateFrequency\s*>\s*(\d{1,9})\s*<", re.IGNORECASE)


@dataclass(frozen=True)
class Cadence:
    """The rules' settings: ``FEED_MIN_INTERVAL_S``, ``FEED_MAX_INTERVAL_S``, ``FEED_BACKOFF_S``."""

    floor_s: float = 0.0  # a feed is never skipped for less; 0: the schedule decides
    ceiling_s: float = DAY_S  # nor for more, whatever it says, nor while backing off
    backoff_s: float = 900.0  # the first wait after a failure; doubles with each further one
    early_s: float = 60.0  # a feed due within this is due now: schedule ticks are not to the second


def http_freshness_s(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds the response stays fresh by its own headers (lower-case names); None when they do not say."""
    control = headers.get("cache-control", "")
    if _NO_CACHE.search(control):
        return 0.0
    max_age = _MAX_AGE.search(control)
    if max_age:
        age = headers.get("age", "").strip()
        return max(0.0, float(max_age.group(1)) - (float(age) if age.isdigit() else 0.0))
    expires = _http_date(headers.get("expires"))
    if expires is None:
        return 0.0 if "expires" in headers else None  # an unreadable Expires means already expired
    date = _http_date(headers.get("date"))
    return max(0.0, expires - (date if date is not None else now))


def document_interval_s(body: bytes | None) -> float | None:
    """The interval a feed document announces (``<ttl>``, ``sy:updatePeriod``); None when it does not."""
    if not body:
        return None
    found = []
    ttl = _TTL.search(body)
    if ttl:
        found.append(int(ttl.group(1)) * 60.0)
    # The pattern tries at every '<': it starts at the '<' before the element's first mention
    # (no match can start earlier), or not at all in a document that never names it
    named = body.lower().find(b"updateperiod")
    period = _PERIOD.search(body, body.rfind(b"<", 0, named)) if named != -1 else None
    if period and period.group(1).decode("ascii", "replace").lower() in PERIODS_S:
        frequency = _FREQUENCY.search(body)
        times = max(1, int(frequency.group(1))) if frequency else 1
        found.append(PERIODS_S[period.group(1).decode().lower()] / times)
    return max(found) if found else None


def freshness_s(headers: Mapping[str, str], body: bytes | None, now: float) -> float | None:
    """The longest interval the feed's headers and document give; None when neither says anything."""
    hints = [hint for hint in (http_freshness_s(headers, now), document_interval_s(body)) if hint is not None]
    return max(hints) if hints else None


def after_success(now: float, hint_s: float | None, previous: FeedSchedule | None, cadence: Cadence) -> FeedSchedule:
    """The schedule of a feed just fetched: due again once its interval, clamped, has passed.
    A 304 says nothing of itself (``hint_s`` None): the interval it announced before holds."""
    announced = hint_s if hint_s is not None else (previous.interval_s if previous else 0.0)
    interval = min(max(announced, cadence.floor_s), cadence.ceiling_s)
    return FeedSchedule(now + interval, 0, announced)


def after_failure(now: float, previous: FeedSchedule | None, cadence: Cadence) -> FeedSchedule:
    """The schedule of a feed that failed once more: exponential back-off, capped at the ceiling."""
    failures = (previous.failures if previous else 0) + 1
    wait = min(cadence.backoff_s * 2 ** min(failures - 1, 32), cadence.ceiling_s)
    return FeedSchedule(now + max(wait, cadence.floor_s), failures, previous.interval_s if previous else 0.0)


def is_due(schedule: FeedSchedule | None, now: float, cadence: Cadence) -> bool:
    return schedule is None or schedule.due_at - cadence.early_s <= now


def worth_saving(new: FeedSchedule, previous: FeedSchedule | None, now: float, cadence: Cadence) -> bool:
    """Whether to write ``new``: not when it says what no record says (due at once, no failures)."""
    if new == previous:
        return False
    return new.failures > 0 or not is_due(new, now, cadence) or (previous is not None and previous.failures > 0)


def _http_date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return moment.timestamp() if moment.tzinfo is not None else None
