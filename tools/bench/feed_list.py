"""`make bench` group L: one shard of a long feed list, per 1,000 feeds, beside the naive baseline.

L   the RSS function through tools/local/invoke.py (a cold container, the template's 256 MB) over an OPML
    list (FEED_LIST_URI=file://...) of 1,000 and of 3,000 feeds on 50 loopback hosts
    (tools/services/feed_hosts.py; 10 items a feed, 20 ms a request), FETCH_PER_HOST 2: wall time, CPU
    seconds and Max Memory Used, and per 1,000 feeds the difference of the two divided by 2
L0  the naive way (tools/bench/baselines.py: one request after another, feedparser, a kafka-python send
    per message) over the same 1,000 feeds, in a process of its own: wall, CPU, peak memory
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from tools.bench.measure import invoke
from tools.services.feed_hosts import FeedHosts, write_opml

ROOT = Path(__file__).resolve().parents[2]
SIZES = (1_000, 3_000)
HOSTS, ITEMS, LATENCY_MS = 50, 10, 20
NAIVE = """
import json, resource, sys
sys.path[:0] = [".", "layers/common/python"]
from tools.bench.baselines import simple_rss
wall, sent = simple_rss(sys.argv[1], json.loads(sys.stdin.read()), sys.argv[2])
use = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"wall": wall, "cpu": use.ru_utime + use.ru_stime, "mb": use.ru_maxrss / 1024, "sent": sent}))
"""


def naive(bootstrap: str, urls: list[str]) -> dict[str, Any]:
    command = [sys.executable, "-c", NAIVE, bootstrap, f"l0-{uuid.uuid4().hex}"]
    done = subprocess.run(command, input=json.dumps(urls), cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"the naive baseline failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def l_rows(args: argparse.Namespace, bootstrap: str) -> list[list[str]]:

    runs: dict[int, tuple[float, float, float, dict[str, Any]]] = {}
    with (
        FeedHosts(hosts=HOSTS, feeds=max(SIZES), items=ITEMS, latency_ms=LATENCY_MS) as hosts,
        tempfile.TemporaryDirectory() as scratch,
    ):
        for size in SIZES:
            opml = write_opml(hosts.urls[:size], Path(scratch) / f"feeds-{size}.opml")
            env = {
                "FEED_LIST_URI": opml.as_uri(),
                "FETCH_PER_HOST": "2",
                "STATE_PATH": f"{scratch}/state-{size}.sqlite",
                "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                **({"FETCH_CONCURRENCY": os.environ["FETCH_CONCURRENCY"]} if "FETCH_CONCURRENCY" in os.environ else {}),
            }
            runs[size] = invoke("RssProducerFunction", env)
            assert runs[size][3]["produced"] == size * ITEMS, runs[size][3]
            assert max(hosts.peak_in_flight.values()) <= 2, hosts.peak_in_flight
        baseline = naive(bootstrap, hosts.urls[: SIZES[0]])
        assert baseline["sent"] == SIZES[0] * ITEMS, baseline
    small, large = (runs[size] for size in SIZES)
    per = (large[0] - small[0]) / 2, (large[1] - small[1]) / 2, (large[2] - small[2]) / 2
    what = f"{ITEMS} items a feed, {LATENCY_MS} ms a request, {HOSTS} hosts"
    rows = [
        measured("L", f"one shard of {size:,} feeds from OPML ({what}): wall, CPU, Max Memory Used", *run[:3])
        for size, run in runs.items()
    ]
    rows.append(measured("L", "per 1,000 feeds (3,000 less 1,000, halved)", *per))
    naive_way = f"{SIZES[0]:,} feeds the naive way (sequential, feedparser, kafka-python)"
    rows.append(measured("L0", naive_way, baseline["wall"], baseline["cpu"], baseline["mb"]))
    rows.append(["L0", "L0 wall / L's wall per 1,000 feeds", f"{baseline['wall'] / per[0]:.1f}", "", ""])
    return rows


def measured(group: str, figure: str, wall_s: float, cpu_s: float, memory_mb: float) -> list[str]:
    return [group, figure, f"{wall_s:.1f} s, {cpu_s:.1f} s CPU, {memory_mb:.0f} MB", "", ""]
