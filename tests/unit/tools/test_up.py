"""make up's reading of the template's schedules, its clock, and how it reads a run's result."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tools.local.cfn_template import load_template, loads
from tools.local.invocation import Result
from tools.local.schedule import Cron, Rate
from tools.local.scheduler import Clock, outcome, scheduled_functions, scheduled_state_machines, scheduler_input

ROOT = Path(__file__).resolve().parents[3]
PROJECT = load_template(ROOT / "template.yaml")


def test_the_project_templates_schedules_with_their_defaults() -> None:
    specs = {spec.function: spec for spec in scheduled_functions(PROJECT, region="us-east-1")}
    assert set(specs) == {"RssProducerFunction", "PolymarketProducerFunction"}
    rss, polymarket = specs["RssProducerFunction"], specs["PolymarketProducerFunction"]
    assert (rss.expression, rss.rule) == ("rate(15 minutes)", "RssProducerFunctionSchedule")
    assert isinstance(rss.schedule, Rate) and rss.schedule.interval == timedelta(minutes=15)
    assert polymarket.expression == "rate(5 minutes)"
    assert rss.max_event_age == timedelta(seconds=3600)  # the template's RetryPolicy


def test_the_project_schedules_send_the_scheduled_event_the_handlers_take() -> None:
    # Given the template's EventBridge Scheduler schedules
    specs = scheduled_functions(PROJECT, region="us-east-1")
    reference = json.loads((ROOT / "events" / "schedule.json").read_text())
    tick = datetime(2026, 12, 4, 19, 15, tzinfo=timezone.utc)
    for spec in specs:
        assert spec.kind == "ScheduleV2"
        # When a tick comes, Then the event is events/schedule.json's shape, its context filled in
        event = scheduler_input(spec, tick, "us-east-1")
        assert set(event) == set(reference) and event["detail"] == {} and event["source"] == "aws.events"
        assert event["time"] == "2026-12-04T19:15:00Z" and event["region"] == "us-east-1"
        assert event["resources"] == [f"arn:aws:scheduler:us-east-1:123456789012:schedule/default/{spec.rule}"]
        assert "<aws." not in json.dumps(event)


def test_the_schedule_time_zone_parameter_reaches_cron_schedules() -> None:
    overrides = {"PolymarketSchedule": "cron(0 8 * * ? *)", "ScheduleTimezone": "America/New_York"}
    specs = {spec.function: spec for spec in scheduled_functions(PROJECT, overrides, region="us-east-1")}
    after = specs["PolymarketProducerFunction"].schedule.next_after(datetime(2026, 12, 4, 0, 0, tzinfo=timezone.utc))
    assert after.astimezone(timezone.utc) == datetime(2026, 12, 4, 13, 0, tzinfo=timezone.utc)  # 08:00 EST


def test_parameter_overrides_change_the_schedules_and_a_disabled_schedule_is_left_out() -> None:
    overrides = {"PolymarketSchedule": "cron(0/10 * ? * MON-FRI *)", "RssShards": "4"}
    specs = scheduled_functions(PROJECT, overrides, region="us-east-1")
    # RssShards > 1 disables the function's own schedule (State: !If [RssSharded, DISABLED, ENABLED])
    assert [spec.function for spec in specs] == ["PolymarketProducerFunction"]
    assert isinstance(specs[0].schedule, Cron) and specs[0].expression == "cron(0/10 * ? * MON-FRI *)"
    # the fan-out that takes over RSS's schedule is named, since make up does not run it
    assert scheduled_state_machines(PROJECT, overrides) == ["RssFanOut"]
    assert scheduled_state_machines(PROJECT) == []


def test_input_replaces_the_scheduled_event_and_enabled_false_turns_a_schedule_off() -> None:
    template = loads(
        """
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              Events:
                Nightly: {Type: Schedule, Properties: {Schedule: 'cron(0 2 * * ? *)', Input: '{"detail": {"n": 1}}'}}
                Off: {Type: Schedule, Properties: {Schedule: rate(1 day), Enabled: false}}
                Api: {Type: Api, Properties: {Path: /, Method: get}}
        """
    )
    (spec,) = scheduled_functions(template, region="us-east-1")
    assert (spec.rule, spec.input) == ("FnNightly", {"detail": {"n": 1}})
    assert spec.max_event_age == timedelta(hours=6)  # Lambda's default


def test_the_clock_runs_speedup_times_faster() -> None:
    start = datetime(2026, 12, 1, tzinfo=timezone.utc)
    clock = Clock(600, start)
    time.sleep(0.05)
    assert timedelta(seconds=25) <= clock.now() - start < timedelta(seconds=300)
    assert 0.9 < clock.real_seconds_until(start + timedelta(minutes=10)) <= 1.0


def test_a_runs_columns_come_from_the_summary_or_the_error() -> None:
    summary = {
        "status": "partial",
        "produced": 5,
        "failed": 0,
        "duplicates": 1,
        "sources": [{"source": "http://x/feed", "status": "error", "error": "HTTP 404"}, {"status": "ok"}],
    }
    columns = outcome(Result(0, json.dumps(summary).encode(), b"", 1.0))
    counts = {key: value for key, value in summary.items() if key != "sources"}  # the status and counts as given
    assert columns == {**counts, "errors": "1 source(s): http://x/feed: HTTP 404"}
    timeout = {"errorType": "Sandbox.Timedout", "errorMessage": "Task timed out after 300.00 seconds"}
    assert outcome(Result(2, json.dumps(timeout).encode(), b"", 300.0))["status"] == "timed out"
    raised = outcome(Result(1, b'{"errorType": "DeliveryError", "errorMessage": "3 of 3"}', b"", 1.0))
    assert raised == {"status": "error", "errors": "DeliveryError: 3 of 3"}
    assert outcome(Result(2, b"", b"invoke: bad template\n", 0.1))["errors"] == "no result: invoke: bad template"
