"""`make up` as a user runs it: started, left for two scheduled runs of each producer, stopped with Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from tools.services.broker import free_port, listening, read_topic

ROOT = Path(__file__).resolve().parents[2]


def status(run_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((run_dir / "status.json").read_text())  # type: ignore[no-any-return]
    except (OSError, ValueError):
        return {}


def finished(snapshot: dict[str, Any], function: str) -> list[dict[str, Any]]:
    runs = snapshot.get("functions", {}).get(function, {}).get("runs", [])
    return [run for run in runs if run["status"] not in ("queued", "running")]


def marked_processes(marker: str) -> list[int]:
    """Processes whose environment carries `marker`: everything `make up` started inherits it."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_up_runs_both_producers_on_their_schedules_and_stops_everything(tmp_path: Path) -> None:
    # Given schedules of one minute (a rate and a six-field cron) at 30 times the clock's speed,
    # and no broker: make up starts its own on a free port
    marker = f"UP_TEST_{uuid.uuid4().hex}"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "STATE_PATH", "FEED_URLS")}
    env.update({"BROKER_PORT": str(port), marker: "1"})
    overrides = ["RssSchedule='rate(1 minute)'", "PolymarketSchedule='cron(* * * * ? *)'"]  # quoted as for sam
    argv = [sys.executable, "-m", "tools.local.up", "--speedup", "30", "--run-dir", str(tmp_path)]
    up = subprocess.Popen(
        [*argv, "--parameter-overrides", *overrides],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # When it has run each producer twice
        deadline = time.monotonic() + 120
        snapshot = status(tmp_path)
        while time.monotonic() < deadline and up.poll() is None:
            snapshot = status(tmp_path)
            if all(len(finished(snapshot, f)) >= 2 for f in ("RssProducerFunction", "PolymarketProducerFunction")):
                break
            time.sleep(0.25)
        assert up.poll() is None, up.stderr.read() if up.stderr else ""
        bootstrap = snapshot["broker"]["bootstrap"]
        assert bootstrap == f"127.0.0.1:{port}" and snapshot["broker"]["own"] is True
        rss, polymarket = (finished(snapshot, f) for f in ("RssProducerFunction", "PolymarketProducerFunction"))
        # Then the runs came a schedule minute apart, all ok, with state kept: the second RSS run finds nothing new
        assert len(rss) >= 2 and len(polymarket) >= 2, snapshot
        assert all(run["status"] == "ok" for run in rss + polymarket), snapshot
        assert rss[0]["produced"] > 0 and rss[1]["produced"] == 0
        assert polymarket[0]["produced"] > 0
        functions = snapshot["functions"]
        assert functions["RssProducerFunction"]["schedule"] == "rate(1 minute)"
        assert functions["PolymarketProducerFunction"]["schedule"] == "cron(* * * * ? *)"
        assert len(read_topic(bootstrap, "rss.items")) == rss[0]["produced"]
        assert len(read_topic(bootstrap, "polymarket.prices")) >= polymarket[0]["produced"]
        assert (tmp_path / "RssProducerFunction.log").read_text().count("REPORT RequestId") >= 2
    finally:
        # When Ctrl-C reaches it
        up.send_signal(signal.SIGINT)
        out, err = up.communicate(timeout=60)
    # Then it exits cleanly with the final table, and nothing it started is left running
    assert up.returncode == 0, err[-3000:]
    assert "RssProducerFunction" in out and "PolymarketProducerFunction" in out and "stopped" in out
    assert status(tmp_path)["stopped"] is True
    assert marked_processes(marker) == []
    assert not listening(port), "the broker still listens"
