"""The producers' schedules from template.yaml and one scheduled function's runs: what `make up`
drives (tools/local/up.py) and shows (tools/local/up_view.py)."""

from __future__ import annotations

import collections
import json
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tools.local.cfn_template import ACCOUNT_ID, Resolver
from tools.local.invocation import Invocation, Result, scheduled_event
from tools.local.schedule import Cron, Rate, parse

HISTORY = 5  # runs shown per function
SCHEDULE_EVENTS = ("Schedule", "ScheduleV2")
DEFAULT_EVENT_AGE_S = 6 * 3600  # Lambda's default MaximumEventAgeInSeconds


@dataclass(frozen=True)
class ScheduledFunction:
    """A function and one of its enabled Schedule events, resolved."""

    function: str
    rule: str  # the rule's name as SAM generates it: <Function><EventName>
    expression: str
    schedule: Rate | Cron
    max_event_age: timedelta
    input: Any = None  # the event's Input: sent instead of the scheduled event, as EventBridge does
    kind: str = "Schedule"  # or ScheduleV2 (EventBridge Scheduler): its ARN names a schedule, not a rule


def scheduled_functions(
    template: Mapping[str, Any], overrides: Mapping[str, str] | None = None, region: str | None = None
) -> list[ScheduledFunction]:
    """Every enabled `Type: Schedule` (EventBridge rule) or `ScheduleV2` (EventBridge Scheduler) event
    of every AWS::Serverless::Function."""
    resolver = Resolver(template, overrides, region)
    found = []
    for name, resource in (template.get("Resources") or {}).items():
        if resource.get("Type") != "AWS::Serverless::Function" or not _created(resolver, resource):
            continue
        for event_name, event in _events(resource).items():
            if event.get("Type") not in SCHEDULE_EVENTS:
                continue
            props = event.get("Properties") or {}
            state = resolver.resolve(props["State"]) if "State" in props else None
            enabled = resolver.resolve(props["Enabled"]) if "Enabled" in props else True
            if state == "DISABLED" or enabled in (False, "false"):
                continue
            expression = str(resolver.resolve(props.get("Schedule") or props["ScheduleExpression"]))
            zone = str(resolver.resolve(props.get("ScheduleExpressionTimezone") or "UTC"))
            age = (resolver.resolve(props.get("RetryPolicy") or {}) or {}).get("MaximumEventAgeInSeconds")
            given = resolver.resolve(props["Input"]) if "Input" in props else None
            found.append(
                ScheduledFunction(
                    function=name,
                    rule=f"{name}{event_name}",
                    expression=expression,
                    schedule=parse(expression, zone),
                    max_event_age=timedelta(seconds=int(age or DEFAULT_EVENT_AGE_S)),
                    input=json.loads(given) if isinstance(given, str) else None,
                    kind=event["Type"],
                )
            )
    return found


def scheduled_state_machines(template: Mapping[str, Any], overrides: Mapping[str, str] | None = None) -> list[str]:
    """State machines the template schedules (RssFanOut with RssShards > 1): not run locally."""
    resolver = Resolver(template, overrides)
    return [
        name
        for name, resource in (template.get("Resources") or {}).items()
        if resource.get("Type") == "AWS::Serverless::StateMachine"
        and _created(resolver, resource)
        and any(e.get("Type") in SCHEDULE_EVENTS for e in _events(resource).values())
    ]


def _events(resource: Mapping[str, Any]) -> Mapping[str, Any]:
    return (resource.get("Properties") or {}).get("Events") or {}


def _created(resolver: Resolver, resource: Mapping[str, Any]) -> bool:
    condition = resource.get("Condition")
    return condition is None or resolver.condition(condition)


class Clock:
    """Schedule time: starts at the wall clock and runs `speedup` times faster."""

    def __init__(self, speedup: float, start: datetime | None = None) -> None:
        self.speedup = speedup
        self._start = start or datetime.now(timezone.utc)
        self._origin = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=(time.monotonic() - self._origin) * self.speedup)

    def real_seconds_until(self, moment: datetime) -> float:
        return max(0.0, (moment - self.now()).total_seconds() / self.speedup)


@dataclass
class Run:
    """One tick of a schedule, and what came of it."""

    scheduled: str  # schedule time, ISO
    started: str = ""  # wall clock
    duration_s: float | None = None
    status: str = "queued"  # queued, running, ok, partial, error, timed out, stopped, expired
    produced: int | None = None
    failed: int | None = None
    duplicates: int | None = None
    errors: str = ""


def outcome(result: Result) -> dict[str, Any]:
    """A run's columns from invoke.py's result: the summary's counts, or the error's name."""
    value = result.value if isinstance(result.value, dict) else {}
    if result.exit_code == 0:
        bad = [s for s in value.get("sources") or [] if s.get("status") == "error"]
        errors = "; ".join(f"{s.get('source')}: {s.get('error')}" for s in bad[:3])
        more = f" (+{len(bad) - 3} more)" if len(bad) > 3 else ""
        return {
            "status": str(value.get("status", "?")),
            "produced": value.get("produced"),
            "failed": value.get("failed"),
            "duplicates": value.get("duplicates"),
            "errors": f"{len(bad)} source(s): {errors}{more}" if bad else "",
        }
    error_type = value.get("errorType") or "no result"
    message = str(value.get("errorMessage") or result.logs.decode("utf-8", "replace").strip()[-200:])
    status = "timed out" if error_type == "Sandbox.Timedout" else "error"
    return {"status": status, "errors": f"{error_type}: {message}"[:300]}


class Producer:
    """One function's schedule: ticks go into a queue, a worker runs them one at a time."""

    def __init__(self, spec: ScheduledFunction, clock: Clock, argv: list[str], environ: dict[str, str], logs: Path):
        self.spec, self._clock, self._argv, self._environ, self._log = spec, clock, argv, environ, logs
        self.runs: collections.deque[Run] = collections.deque(maxlen=HISTORY)
        self.total = collections.Counter[str]()
        self.next_run = spec.schedule.first(clock.now())
        self._pending: collections.deque[tuple[datetime, Run]] = collections.deque()
        self._wake = threading.Condition()
        self._stopping = threading.Event()
        self._current: Invocation | None = None
        self._threads = [
            threading.Thread(target=self._tick, name=f"schedule-{spec.function}", daemon=True),
            threading.Thread(target=self._work, name=f"run-{spec.function}", daemon=True),
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stopping.set()
        with self._wake:
            self._wake.notify_all()
            if self._current:
                self._current.stop()
        for thread in self._threads:
            thread.join(timeout=15)

    def _tick(self) -> None:
        while not self._stopping.wait(min(self._clock.real_seconds_until(self.next_run), 1.0)):
            if self._clock.now() < self.next_run:
                continue
            tick, self.next_run = self.next_run, self.spec.schedule.next_after(self.next_run)
            with self._wake:
                self._pending.append((tick, Run(scheduled=_iso(tick))))
                self._wake.notify_all()

    def _work(self) -> None:
        while not self._stopping.is_set():
            with self._wake:
                while not self._pending and not self._stopping.is_set():
                    self._wake.wait()
                if self._stopping.is_set():
                    break
                tick, run = self._pending.popleft()
                self.runs.append(run)  # the view shows runs once they leave the queue
                if self._clock.now() - tick > self.spec.max_event_age:
                    run.status = "expired"  # Lambda's event queue gives up on it
                    self.total[run.status] += 1
                    continue
                if self.spec.input is None:
                    event = scheduled_event(_iso(tick), self.spec.rule, self._environ["AWS_REGION"])
                else:
                    event = scheduler_input(self.spec, tick, self._environ["AWS_REGION"])
                self._current = Invocation(self._argv, event, self._environ, self._log)
                run.status, run.started = "running", datetime.now(timezone.utc).strftime("%H:%M:%S")
            result = self._current.run()
            with self._wake:
                self._current = None
                run.duration_s = result.duration_s
                if self._stopping.is_set() and result.exit_code != 0:
                    run.status = "stopped"
                else:
                    for key, value in outcome(result).items():
                        setattr(run, key, value)
                self.total[run.status] += 1
                self.total["produced"] += run.produced or 0

    def snapshot(self) -> dict[str, Any]:
        with self._wake:
            running = self._current.pid if self._current else None
            return {
                "schedule": self.spec.expression,
                "next_run": _iso(self.next_run),
                "running_pid": running,
                "queued": len(self._pending),  # ticks waiting for the run before them
                "totals": dict(self.total),
                "runs": [asdict(run) for run in self.runs],
            }


def scheduler_input(spec: ScheduledFunction, tick: datetime, region: str) -> Any:
    """The schedule's Input as EventBridge Scheduler sends it: its context attributes filled in
    (a rule's Input goes as it is, and has none)."""
    if spec.kind != "ScheduleV2":
        return spec.input
    attributes = {
        "<aws.scheduler.schedule-arn>": f"arn:aws:scheduler:{region}:{ACCOUNT_ID}:schedule/default/{spec.rule}",
        "<aws.scheduler.scheduled-time>": _iso(tick),
        "<aws.scheduler.execution-id>": str(uuid.uuid4()),
        "<aws.scheduler.attempt-number>": "1",
    }
    text = json.dumps(spec.input)
    for name, value in attributes.items():
        text = text.replace(name, value)
    return json.loads(text)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
