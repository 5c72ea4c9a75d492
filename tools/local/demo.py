"""`make demo` and `make run`: both producers once, then a look at what they wrote.

    python -m tools.local.demo          # offline: recorded fixtures from a local HTTP server
    python -m tools.local.demo --live   # the real feeds and Polymarket APIs (template defaults)

Uses the broker at KAFKA_BOOTSTRAP_SERVERS when set, else the embedded one on
BROKER_PORT (started and left running, so `make tail` works afterwards).
Each producer runs through tools/local/invoke.py, as `make invoke` would run it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from tools.local.cfn_template import function_environment, load_template
from tools.local.invocation import run
from tools.services import broker

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = {"RssProducerFunction": "rss", "PolymarketProducerFunction": "polymarket"}
SHOW = 3


def bootstrap_servers() -> str:
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "").strip()
    if configured:
        return configured
    port = int(os.environ.get("BROKER_PORT", "9092"))
    if not broker.listening(port) and broker.main(["start", "--port", str(port)]) != 0:
        raise SystemExit(f"no broker on 127.0.0.1:{port}, and another embedded broker is running")
    return f"127.0.0.1:{port}"


@contextlib.contextmanager
def sources(live: bool) -> Iterator[dict[str, str]]:
    """Environment overrides pointing the producers at their sources."""
    # A fresh state file per demo, so every demo shows items being produced.
    state = {"STATE_PATH": str(ROOT / ".run" / f"demo-state-{os.getpid()}.sqlite")}
    if live:
        yield state
        Path(state["STATE_PATH"]).unlink(missing_ok=True)
        return
    from tools.services.fixture_server import FixtureServer

    with FixtureServer() as server:
        yield {**state, **server.producer_environment()}
    for leftover in (ROOT / ".run").glob(f"demo-state-{os.getpid()}.sqlite*"):
        leftover.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--live", action="store_true", help="use the live sources instead of fixtures")
    args = parser.parse_args(argv)

    bootstrap = bootstrap_servers()
    template = load_template(ROOT / "template.yaml")
    logs = ROOT / ".run"
    logs.mkdir(exist_ok=True)
    failures = 0
    with sources(args.live) as overrides:
        for function, name in FUNCTIONS.items():
            environment = {**overrides, "KAFKA_BOOTSTRAP_SERVERS": bootstrap}
            topic = os.environ.get("KAFKA_TOPIC") or function_environment(template, function).get("KAFKA_TOPIC", "")
            log = logs / f"{name}.log"
            log.unlink(missing_ok=True)
            done = run(function, environment, log_path=log)
            result, exit_code = done.value or {"errorMessage": "no output"}, done.exit_code
            print(f"\n== {function} (exit {exit_code}, logs in .run/{name}.log)")
            print(json.dumps(result, indent=2, ensure_ascii=False))
            if exit_code != 0 or (not args.live and not result.get("produced")):
                failures += 1
            messages = broker.read_topic(bootstrap, topic)
            print(f"-- {len(messages)} messages on topic {topic!r}; the latest {min(SHOW, len(messages))}:")
            latest = sorted(messages, key=lambda m: (m["timestamp"], m["offset"]))[-SHOW:]
            for message in latest:
                shown = {field: message[field] for field in ("key", "headers", "value")}
                print(json.dumps(shown, ensure_ascii=False))
    print(f"\nBroker: {bootstrap}. `make tail TOPIC=<topic>` shows more; `make broker-stop` stops it.")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
