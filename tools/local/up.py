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
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tools.local.cfn_template import TemplateError, default_region, load_template
from tools.local.invocation import ROOT, command
from tools.local.invoke import parameter_overrides
from tools.local.scheduler import Clock, Producer, scheduled_functions, scheduled_state_machines
from tools.local.up_view import View
from tools.services.broker import EmbeddedBroker, listening
from tools.services.http_serving import stop_signals


@contextlib.contextmanager
def broker(run_dir: Path) -> Iterator[dict[str, Any]]:
    """KAFKA_BOOTSTRAP_SERVERS, a broker already on BROKER_PORT, or one of our own there, stopped at the end."""
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "").strip()
    if configured:
        yield {"bootstrap": configured, "pid": None, "own": False}
        return
    port = int(os.environ.get("BROKER_PORT") or 9092)
    if listening(port):
        yield {"bootstrap": f"127.0.0.1:{port}", "pid": None, "own": False}
        return
    embedded = EmbeddedBroker(port=port, log_path=run_dir / "broker.log").start()
    try:
        yield {"bootstrap": embedded.bootstrap, "pid": embedded.service.pid, "own": True}
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
    stopping = stop_signals()
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
