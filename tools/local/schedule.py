"""EventBridge schedule expressions: `rate(...)` and six-field `cron(...)`, evaluated in UTC or, as
EventBridge Scheduler does with ScheduleExpressionTimezone, in an IANA time zone.

    schedule = parse("cron(0/15 8-18 ? * MON-FRI *)", "Europe/Berlin")
    schedule.next_after(datetime.now(timezone.utc))

Rules as EventBridge documents them ("Schedule expressions for rules"):
- `rate(value unit)`: a positive integer and minute(s), hour(s) or day(s); the unit singular for 1,
  plural otherwise. The schedule starts when it is created and fires every interval from there.
- `cron(Minutes Hours Day-of-month Month Day-of-week Year)`, in UTC unless a time zone is given
  (then wall-clock time there: 08:00 stays 08:00 across daylight saving time), one-minute granularity.
  `, - * /` in every field; Day-of-month also `?`, `L` (last day), `nW` (weekday nearest n) and
  `LW`; Day-of-week also `?`, `L` (Saturday, the week's last day), `nL` (the month's last
  weekday n) and `n#k` (its k-th weekday n). Months JAN-DEC, weekdays SUN-SAT (1-7, Sunday 1).
  Exactly one of Day-of-month and Day-of-week is `?`.

croniter is not used: its five/six-field format puts seconds or years elsewhere, numbers weekdays
from 0 and reads `?` as `*`, so a translation would be as long as this and less obviously right.
Nor is pyawscron 1.0.7, written for EventBridge's format: of the 15 cron cases of
tests/unit/tools/test_schedule.py it gets 13 right and raises on 2 that EventBridge documents
(`cron(0 0 ? * L *)`: "iter 11 > 10"; `cron(0 10 LW * ? *)`: int('L')), and it has no time zones.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MONTHS = {name.upper(): number for number, name in enumerate(calendar.month_abbr) if name}  # JAN=1
WEEKDAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_UNITS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
FIRST_YEAR, LAST_YEAR = 1970, 2199


class ScheduleError(ValueError):
    """A schedule expression EventBridge would refuse."""


@dataclass(frozen=True)
class Rate:
    """`rate(...)`: every `interval`, counted from the moment the schedule starts."""

    expression: str
    interval: timedelta

    def first(self, started: datetime) -> datetime:
        """The first run: right away, as a rate rule's schedule starts when it is created."""
        return started

    def next_after(self, previous: datetime) -> datetime:
        """The run after the one at `previous`."""
        return previous + self.interval


@dataclass(frozen=True)
class Cron:
    """`cron(...)`: the minutes, hours and days each field allows."""

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int]
    day_of_month: str  # kept as text: L and W depend on the month
    day_of_week: str
    zone: tzinfo = timezone.utc  # where the fields are wall-clock times

    def first(self, started: datetime) -> datetime:
        """The first matching minute from `started` on (that minute included)."""
        return self.next_after(started - timedelta(minutes=1))

    def next_after(self, moment: datetime) -> datetime:
        """The first minute strictly after `moment` that the expression matches."""
        moment = moment.astimezone(self.zone).replace(second=0, microsecond=0)
        day = moment.date()
        for year in sorted(y for y in self.years if y >= day.year):
            for month in sorted(self.months):
                if (year, month) < (day.year, day.month):
                    continue
                first_day = day.day if (year, month) == (day.year, day.month) else 1
                for number in range(first_day, calendar.monthrange(year, month)[1] + 1):
                    candidate = date(year, month, number)
                    if not self._day_matches(candidate):
                        continue
                    after = moment.time() if candidate == day else None
                    found = self._time_on(candidate, after)
                    if found:
                        return found
        raise ScheduleError(f"{self.expression} never fires after {moment.isoformat()}")

    def _time_on(self, day: date, after: time | None) -> datetime | None:
        for hour in sorted(self.hours):
            for minute in sorted(self.minutes):
                if after is None or (hour, minute) > (after.hour, after.minute):
                    return datetime.combine(day, time(hour, minute), tzinfo=self.zone)
        return None

    def _day_matches(self, day: date) -> bool:
        if self.day_of_month == "?":
            return _weekday_matches(self.day_of_week, day)
        return _month_day_matches(self.day_of_month, day)


def parse(expression: str, zone: str = "UTC") -> Rate | Cron:
    """``zone``: an IANA time zone name, for cron (a rate counts from its start wherever it is)."""
    text = expression.strip()
    if text.startswith("rate("):
        return _parse_rate(text)
    if text.startswith("cron(") and text.endswith(")"):
        try:
            where = timezone.utc if zone == "UTC" else ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ScheduleError(f"{zone!r} is not an IANA time zone") from None
        return _parse_cron(text, where)
    raise ScheduleError(f"{expression!r}: expected rate(value unit) or cron(six fields)")


def _parse_rate(text: str) -> Rate:
    match = _RATE.match(text)
    if not match:
        raise ScheduleError(f"{text!r}: expected rate(value unit), unit minute(s), hour(s) or day(s)")
    value, unit = int(match.group(1)), match.group(2)
    if value < 1:
        raise ScheduleError(f"{text!r}: the value must be a positive integer")
    if (value == 1) == unit.endswith("s"):
        raise ScheduleError(f"{text!r}: the unit is singular for 1 and plural otherwise")
    return Rate(text, value * _UNITS[unit.rstrip("s")])


def _parse_cron(text: str, zone: tzinfo) -> Cron:
    fields = text[len("cron(") : -1].split()
    if len(fields) != 6:
        raise ScheduleError(f"{text!r}: cron takes six fields (minutes hours day-of-month month day-of-week year)")
    minutes, hours, day_of_month, month, day_of_week, year = (field.upper() for field in fields)
    if (day_of_month == "?") == (day_of_week == "?"):
        raise ScheduleError(f"{text!r}: exactly one of day-of-month and day-of-week must be ?")
    if day_of_month != "?":
        _check_days(day_of_month, text, _MONTH_DAY)
    if day_of_week != "?":
        _check_days(day_of_week, text, _WEEK_DAY)
    return Cron(
        expression=text,
        minutes=_values(minutes, 0, 59, {}, text),
        hours=_values(hours, 0, 23, {}, text),
        months=_values(month, 1, 12, MONTHS, text),
        years=_values(year, FIRST_YEAR, LAST_YEAR, {}, text),
        day_of_month=day_of_month,
        day_of_week=day_of_week,
        zone=zone,
    )


def _values(field: str, low: int, high: int, names: dict[str, int], text: str) -> frozenset[int]:
    """A field of `, - * /` parts as the set of numbers it allows."""
    allowed: set[int] = set()
    for part in field.split(","):
        base, slash, step_text = part.partition("/")
        if slash and not step_text.isdigit():
            raise ScheduleError(f"{text!r}: bad step in {part!r}")
        step = int(step_text) if slash else 1
        if base == "*":
            first, last = low, high
        elif "-" in base:
            first, last = (_number(value, low, high, names, text) for value in base.split("-", 1))
        else:
            first = _number(base, low, high, names, text)
            last = high if slash else first  # `5/10`: from 5 to the end, every 10
        if step < 1 or first > last:
            raise ScheduleError(f"{text!r}: empty range {part!r}")
        allowed.update(range(first, last + 1, step))
    return frozenset(allowed)


def _number(value: str, low: int, high: int, names: dict[str, int], text: str) -> int:
    number = names.get(value) if value in names else int(value) if value.isdigit() else None
    if number is None or not low <= number <= high:
        raise ScheduleError(f"{text!r}: {value!r} is not in {low}-{high}")
    return number


_MONTH_DAY = re.compile(r"^(L|LW|\d{1,2}W)$")
_WEEK_DAY = re.compile(r"^(L|[1-7A-Z]{1,3}L|[1-7A-Z]{1,3}#[1-5])$")


def _check_days(field: str, text: str, special: re.Pattern[str]) -> None:
    """Validates a day field: a special form alone, or an ordinary list."""
    if special.match(field):
        if "#" in field or (field.endswith("L") and field != "L"):
            _number(field.split("#")[0].removesuffix("L"), 1, 7, WEEKDAYS, text)
        elif field.endswith("W") and field != "LW":
            _number(field[:-1], 1, 31, {}, text)
        return
    if special is _WEEK_DAY:
        _values(field, 1, 7, WEEKDAYS, text)
    else:
        _values(field, 1, 31, {}, text)


def _month_day_matches(field: str, day: date) -> bool:
    last = calendar.monthrange(day.year, day.month)[1]
    if field == "L":
        return day.day == last
    if field.endswith("W"):
        target = last if field == "LW" else min(int(field[:-1]), last)
        return day == _nearest_weekday(date(day.year, day.month, target))
    return day.day in _values(field, 1, 31, {}, field)


def _nearest_weekday(day: date) -> date:
    """W: the weekday nearest the given day, never leaving its month."""
    if day.weekday() == 5:  # Saturday: Friday, unless that is in the previous month
        return day - timedelta(days=1) if day.day > 1 else day + timedelta(days=2)
    if day.weekday() == 6:  # Sunday: Monday, unless that is in the next month
        last = calendar.monthrange(day.year, day.month)[1]
        return day + timedelta(days=1) if day.day < last else day - timedelta(days=2)
    return day


def _weekday_matches(field: str, day: date) -> bool:
    weekday = (day.weekday() + 1) % 7 + 1  # Python's Monday=0 to EventBridge's Sunday=1
    if field == "L":
        return weekday == WEEKDAYS["SAT"]
    if "#" in field:
        name, nth = field.split("#")
        return weekday == _number(name, 1, 7, WEEKDAYS, field) and (day.day - 1) // 7 + 1 == int(nth)
    if field.endswith("L"):
        last = calendar.monthrange(day.year, day.month)[1]
        return weekday == _number(field[:-1], 1, 7, WEEKDAYS, field) and day.day + 7 > last
    return weekday in _values(field, 1, 7, WEEKDAYS, field)
