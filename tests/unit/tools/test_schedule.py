"""EventBridge schedule expressions: rate and six-field cron (with ?, L, W, #), in UTC."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tools.local.schedule import Cron, Rate, ScheduleError, parse


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)  # type: ignore[misc]


def runs(expression: str, start: datetime, count: int = 3) -> list[datetime]:
    schedule = parse(expression)
    moments = [schedule.first(start)]
    while len(moments) < count:
        moments.append(schedule.next_after(moments[-1]))
    return moments


@pytest.mark.parametrize(
    ("expression", "interval"),
    [
        ("rate(1 minute)", timedelta(minutes=1)),
        ("rate(5 minutes)", timedelta(minutes=5)),
        ("rate(1 hour)", timedelta(hours=1)),
        ("rate(12 hours)", timedelta(hours=12)),
        ("rate(1 day)", timedelta(days=1)),
        ("rate( 3  days )", timedelta(days=3)),
    ],
)
def test_a_rate_fires_when_it_starts_and_every_interval_after(expression: str, interval: timedelta) -> None:
    start = utc(2026, 12, 1, 7, 50, 30)
    schedule = parse(expression)
    assert isinstance(schedule, Rate) and schedule.interval == interval
    assert runs(expression, start) == [start, start + interval, start + 2 * interval]


@pytest.mark.parametrize(
    ("expression", "start", "expected"),
    [
        # every 15 minutes from 08:00 to 18:45 on weekdays (Dec 1 2026 is a Tuesday)
        ("cron(0/15 8-18 ? * MON-FRI *)", utc(2026, 12, 1, 7, 50), [utc(2026, 12, 1, 8, 0), utc(2026, 12, 1, 8, 15)]),
        ("cron(0/15 8-18 ? * MON-FRI *)", utc(2026, 12, 4, 18, 45), [utc(2026, 12, 4, 18, 45), utc(2026, 12, 7, 8)]),
        # the minute it starts in counts; seconds are dropped
        ("cron(* * * * ? *)", utc(2026, 12, 1, 7, 50, 30), [utc(2026, 12, 1, 7, 50), utc(2026, 12, 1, 7, 51)]),
        # day-of-month L: the last day, whatever the month's length (2028 is a leap year)
        ("cron(0 12 L * ? *)", utc(2028, 1, 31, 13), [utc(2028, 2, 29, 12), utc(2028, 3, 31, 12)]),
        # day-of-week 6L: the month's last Friday; 2#1: its first Monday (1 = Sunday)
        ("cron(0 9 ? * 6L *)", utc(2026, 12, 1), [utc(2026, 12, 25, 9), utc(2027, 1, 29, 9)]),
        ("cron(0 9 ? * FRIL *)", utc(2026, 12, 1), [utc(2026, 12, 25, 9), utc(2027, 1, 29, 9)]),
        ("cron(0 9 ? * 2#1 *)", utc(2026, 12, 1), [utc(2026, 12, 7, 9), utc(2027, 1, 4, 9)]),
        ("cron(0 9 ? * MON#3 *)", utc(2026, 12, 1), [utc(2026, 12, 21, 9), utc(2027, 1, 18, 9)]),
        # day-of-week L alone: Saturday, the week's last day
        ("cron(0 0 ? * L *)", utc(2026, 12, 1), [utc(2026, 12, 5), utc(2026, 12, 12)]),
        # W: the weekday nearest the day, within the month; LW: the last weekday
        ("cron(0 10 15W * ? *)", utc(2026, 11, 1), [utc(2026, 11, 16, 10), utc(2026, 12, 15, 10)]),
        ("cron(0 10 1W * ? *)", utc(2026, 8, 1), [utc(2026, 8, 3, 10), utc(2026, 9, 1, 10)]),
        ("cron(0 10 LW * ? *)", utc(2027, 1, 1), [utc(2027, 1, 29, 10), utc(2027, 2, 26, 10)]),
        # months and weekdays by name, lists and ranges, a year field
        ("cron(30 2 1 JAN,JUL ? 2027-2028)", utc(2026, 12, 1), [utc(2027, 1, 1, 2, 30), utc(2027, 7, 1, 2, 30)]),
        ("cron(0 18 ? * SAT,SUN 2030)", utc(2026, 12, 1), [utc(2030, 1, 5, 18), utc(2030, 1, 6, 18)]),
        ("cron(5,35 */6 ? * * *)", utc(2026, 12, 1, 0, 6), [utc(2026, 12, 1, 0, 35), utc(2026, 12, 1, 6, 5)]),
    ],
)
def test_cron_fires_on_the_minutes_eventbridge_would(
    expression: str, start: datetime, expected: list[datetime]
) -> None:
    assert isinstance(parse(expression), Cron)
    assert runs(expression, start, len(expected)) == expected


def test_cron_is_read_in_utc() -> None:
    schedule = parse("cron(0 12 * * ? *)")
    noon_in_paris = datetime(2026, 12, 1, 12, tzinfo=timezone(timedelta(hours=1)))  # 11:00 UTC
    assert schedule.first(noon_in_paris) == utc(2026, 12, 1, 12)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("rate(1 minutes)", "singular for 1"),
        ("rate(5 minute)", "singular for 1"),
        ("rate(0 minutes)", "positive integer"),
        ("rate(5 seconds)", "expected rate"),
        ("rate(1.5 hours)", "expected rate"),
        ("every 5 minutes", "expected rate"),
        ("cron(0 12 * * *)", "six fields"),
        ("cron(0 12 * * * *)", "exactly one of day-of-month and day-of-week must be ?"),
        ("cron(0 12 ? * ? *)", "exactly one"),
        ("cron(60 12 * * ? *)", "'60' is not in 0-59"),
        ("cron(0 24 * * ? *)", "'24' is not in 0-23"),
        ("cron(0 12 32 * ? *)", "'32' is not in 1-31"),
        ("cron(0 12 ? * 8 *)", "'8' is not in 1-7"),
        ("cron(0 12 ? * 2#6 *)", "'2#6' is not in 1-7"),
        ("cron(0 12 * FOO ? *)", "'FOO' is not in 1-12"),
        ("cron(0 12 * * ? 1969)", "not in 1970-2199"),
        ("cron(0/x 12 * * ? *)", "bad step"),
        ("cron(0 18-8 * * ? *)", "empty range"),
    ],
)
def test_what_eventbridge_refuses_is_a_schedule_error(expression: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=message.replace("?", r"\?")):
        parse(expression)


def test_a_cron_that_can_never_fire_again_says_so() -> None:
    with pytest.raises(ScheduleError, match="never fires"):
        parse("cron(0 0 1 1 ? 1999)").first(utc(2026, 1, 1))


def test_cron_in_a_time_zone_keeps_its_wall_clock_time_across_daylight_saving() -> None:
    # Given 08:00 every day in Berlin (ScheduleExpressionTimezone), around the switch to summer time
    schedule = parse("cron(0 8 * * ? *)", "Europe/Berlin")
    # When the next runs are asked for, Then each is 08:00 there: 07:00Z in winter, 06:00Z in summer
    first = schedule.next_after(datetime(2026, 3, 28, 0, 0, tzinfo=timezone.utc))
    second = schedule.next_after(first)
    assert first.astimezone(timezone.utc) == datetime(2026, 3, 28, 7, 0, tzinfo=timezone.utc)
    assert second.astimezone(timezone.utc) == datetime(2026, 3, 29, 6, 0, tzinfo=timezone.utc)


def test_a_rate_is_the_same_in_any_time_zone_and_an_unknown_zone_is_refused() -> None:
    assert parse("rate(5 minutes)", "Europe/Berlin") == parse("rate(5 minutes)")
    with pytest.raises(ScheduleError, match="'Mars/Olympus' is not an IANA time zone"):
        parse("cron(0 8 * * ? *)", "Mars/Olympus")
