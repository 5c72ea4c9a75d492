"""`make up`: both producers on template.yaml's schedules, as in AWS, with a live view.

    python -m tools.local.up [--speedup N] [--live] [--parameter-overrides 'Key=Value ...'] [--env-vars FILE]

Starts the embedded broker (unless KAFKA_BOOTSTRAP_SERVERS is set, or a broker already listens on
BROKER_PORT) and the fixture server (unless --live), reads every function's Schedule and ScheduleV2
events from the template (parameters and overrides resolved, disabled schedules left out), and runs each
function at the times its expression gives, each run a subprocess of tools/local/invoke.py with the
scheduled event EventBridge would send. A function runs one invocation at a time (reserved
concurrency 1): a tick that comes while it runs waits, and is dropped once older than the
schedule's MaximumEventAgeInSeconds, as Lambda's event queue drops it. --speedup N makes schedule
time run N times faster than the clock (runs themselves take their real time). State (seen items,
ETags) lives in .run/up/state.sqlite and is kept between runs. Logs: .run/up/<Function>.log, the
broker's .run/up/broker.log; .run/up/status.json has what the view shows. Ctrl-C stops every
process this started and prints the final table.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tools.local.cfn_template import ACCOUNT_ID, Resolver, TemplateError, default_region, load_template
from tools.local.invoke import parameter_overrides
from tools.local.local_invoke import ROOT, Invocation, Result, command, scheduled_event
from tools.local.schedule import Cron, Rate, parse
from tools.services.broker import EmbeddedBroker

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


@contextlib.contextmanager
def broker(run_dir: Path) -> Iterator[dict[str, Any]]:
    """KAFKA_BOOTSTRAP_SERVERS, a broker already on BROKER_PORT, or one of our own there, stopped at the end."""
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "").strip()
    if configured:
        yield {"bootstrap": configured, "pid": None, "own": False}
        return
    port = int(os.environ.get("BROKER_PORT") or 9092)
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            yield {"bootstrap": f"127.0.0.1:{port}", "pid": None, "own": False}
            return
    embedded = EmbeddedBroker(port=port, log_path=run_dir / "broker.log").start()
    try:
        yield {
            "bootstrap": embedded.bootstrap,
            "pid": embedded._process.pid if embedded._process else None,
            "own": True,
        }
    finally:
        embedded.stop()


@contextlib.contextmanager
def sources(live: bool) -> Iterator[dict[str, str]]:
    """Variables pointing the producers at the fixture server; nothing with --live."""
    if live:
        yield {}
        return
    from tools.services.fixture_server import FixtureServer

    with FixtureServer() as server:
        yield server.producer_environment()


def main(argv: list[str] | None = None) -> int:
    from tools.local.up_view import View

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--speedup", type=float, default=float(os.environ.get("SPEEDUP") or 1))
    parser.add_argument("--live", action="store_true", help="the real feeds and Polymarket, not the fixtures")
    parser.add_argument("--template", "-t", type=Path, default=ROOT / "template.yaml")
    parser.add_argument("--env-vars", "-n", type=Path, help="SAM env-vars JSON file, as for make invoke")
    parser.add_argument("--parameter-overrides", nargs="*", default=[], help="template parameters: Key=Value ...")
    parser.add_argument("--run-dir", type=Path, default=ROOT / ".run" / "up", help="logs, state and status.json")
    args = parser.parse_args(argv)
    if args.speedup <= 0:
        parser.error("--speedup must be positive")
    region = default_region(os.environ)
    template_path = args.template.resolve()
    try:
        overrides = parameter_overrides(args.parameter_overrides)
        template = load_template(template_path)
        specs = scheduled_functions(template, overrides, region)
        for machine in scheduled_state_machines(template, overrides):
            print(f"up: warning: {machine} (a scheduled state machine) is not run locally", file=sys.stderr)
    except (OSError, ValueError, TemplateError) as error:  # ScheduleError is a ValueError
        print(f"up: {error}", file=sys.stderr)
        return 2
    if not specs:
        print("up: the template has no enabled Schedule events", file=sys.stderr)
        return 2
    run_dir = args.run_dir.resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    with broker(run_dir) as kafka, sources(args.live) as source_variables:
        environ = {
            **source_variables,
            "STATE_PATH": str(run_dir / "state.sqlite"),
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": kafka["bootstrap"],
            "AWS_REGION": region,
        }
        clock = Clock(args.speedup)
        producers = [
            Producer(
                spec,
                clock,
                command(spec.function, template_path, args.env_vars, args.parameter_overrides),
                environ,
                run_dir / f"{spec.function}.log",
            )
            for spec in specs
        ]
        view = View(producers, clock, kafka, "live sources" if args.live else "fixture server", run_dir)
        for producer in producers:
            producer.start()
        try:
            with view.live():
                while not stopping.wait(0.5):
                    view.update()
                    _write_status(run_dir, view.status())
        finally:
            for producer in producers:
                producer.stop()
            _write_status(run_dir, {**view.status(), "stopped": True})
    view.print_final()
    return 0


def _write_status(run_dir: Path, status: dict[str, Any]) -> None:
    scratch = run_dir / "status.json.tmp"
    scratch.write_text(json.dumps(status, indent=2))
    scratch.replace(run_dir / "status.json")


if __name__ == "__main__":
    sys.exit(main())
