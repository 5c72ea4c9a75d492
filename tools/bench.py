"""`make bench`: the producers' costs, measured side by side with simple alternatives.

Scenarios so far (each run REPEAT times; median, min, max):
  R  the RSS handler over 200 feeds of 30 items served with 100 ms latency per request, fresh state
  R2 the same again with the state of R: every feed answers 304
  P  the Polymarket handler over 2,000 markets, 100 ms latency per request, with its request counts
  R0, P0 the same work done the simple way (tools/baselines.py), side by side; P0 on 200 markets
     (one token after another costs about 7 minutes for 2,000), against P on the same 200
  M  peak memory of R and P, read from `tools/invoke.py`'s REPORT line (a fresh interpreter each)
  K  messages through producer_common against a bare confluent-kafka loop, same messages, same broker
  C  cold start: importing each handler module and building its settings in a fresh interpreter,
     against a bare interpreter and against importing every library in the layer

Writes the table to stdout and to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tools.broker import EmbeddedBroker
from tools.fixture_server import FixtureServer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "layers" / "common" / "python"))  # the CommonLayer, as /opt/python
COMMAND = "make bench"
LAYER_LIBRARIES = [
    "confluent_kafka",
    "kafka",
    "feedparser",
    "feedparser_rs",
    "requests",
    "pytz",
    "aws_lambda_powertools",
    "aws_msk_iam_sasl_signer",
]
HANDLERS = {"rss": ROOT / "functions" / "rss_producer", "polymarket": ROOT / "functions" / "polymarket_producer"}
RSS_CONCURRENCY = 16
COLD_ENV = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9", "FEED_URLS": "https://example.org/feed.xml"}


def messages(count: int) -> list[tuple[str, dict[str, object]]]:
    return [
        (f"key-{i}", {"schema": "bench/1", "id": i, "title": f"Item {i}", "summary": "x" * 300}) for i in range(count)
    ]


def run_module(bootstrap: str, payload: list[tuple[str, dict[str, object]]]) -> float:
    from producer_common import Deadline, KafkaSettings, OutgoingMessage, open_producer

    settings = KafkaSettings.from_env({"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "KAFKA_TOPIC": f"k-{uuid.uuid4().hex}"})
    started = time.perf_counter()
    with open_producer(settings, Deadline(fallback_s=300)) as producer:
        for key, value in payload:
            producer.send(OutgoingMessage(key, value, {"schema": "bench/1", "source": "bench"}))
    elapsed = time.perf_counter() - started
    assert producer.report.ok, producer.report.reasons()
    return elapsed


def run_bare(bootstrap: str, payload: list[tuple[str, dict[str, object]]]) -> float:
    from confluent_kafka import Producer

    topic = f"k-{uuid.uuid4().hex}"
    acked = 0

    def on_delivery(error: object, _message: object) -> None:
        nonlocal acked
        acked += error is None

    started = time.perf_counter()
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "compression.type": "lz4",
            "linger.ms": 20,
            "queue.buffering.max.messages": 1_000_000,
        }
    )
    for key, value in payload:
        producer.produce(
            topic,
            key=key.encode(),
            value=json.dumps(value).encode(),
            headers=[("schema", b"bench/1"), ("source", b"bench")],
            on_delivery=on_delivery,
        )
        producer.poll(0)
    producer.flush(300)
    elapsed = time.perf_counter() - started
    assert acked == len(payload)
    return elapsed


def python_seconds(code: str, extra_path: list[Path] | None = None) -> float:
    """Wall time of a fresh interpreter running ``code`` (bytecode caches warm, as in a deployed layer)."""
    env = {
        **os.environ,
        **COLD_ENV,
        "PYTHONPATH": os.pathsep.join(str(p) for p in [*(extra_path or []), ROOT / "layers" / "common" / "python"]),
    }
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=ROOT)
    return time.perf_counter() - started


def cold_start_code(function: str) -> str:
    return (
        f"import importlib.util as u; s=u.spec_from_file_location('app', {str(HANDLERS[function] / 'app.py')!r}); "
        "m=u.module_from_spec(s); s.loader.exec_module(m); m.settings()"
    )


def load_handler(function: str) -> Any:
    """A fresh import of a function's app.py (settings and sessions as on a cold start)."""
    directory = str(HANDLERS[function])
    if directory not in sys.path:
        sys.path.insert(0, directory)
    spec = importlib.util.spec_from_file_location(
        f"{function}_app_{uuid.uuid4().hex[:6]}", HANDLERS[function] / "app.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Context:
    """A Lambda context with the template's 300 s."""

    function_name, memory_limit_in_mb, aws_request_id = "bench", 256, "bench"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"

    def __init__(self) -> None:
        self._end = time.monotonic() + 300

    def get_remaining_time_in_millis(self) -> int:
        return int((self._end - time.monotonic()) * 1000)


def rss_scenario(bootstrap: str, repeat: int, feeds: int, items: int, concurrency: int) -> tuple[list[float], ...]:
    first: list[float] = []
    second: list[float] = []
    event = json.loads((ROOT / "events" / "schedule.json").read_text())
    with (
        FixtureServer(latency_ms=100, synthetic_feeds=feeds, items=items) as server,
        tempfile.TemporaryDirectory() as state_dir,
    ):
        for attempt in range(repeat):
            os.environ.update(
                {
                    "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                    "KAFKA_TOPIC": f"r-{uuid.uuid4().hex}",
                    "FEED_URLS": ",".join(server.synthetic_feed_urls()),
                    "FETCH_CONCURRENCY": str(concurrency),
                    "LOG_LEVEL": "WARNING",
                    "STATE_PATH": f"{state_dir}/state-{attempt}.sqlite",
                }
            )
            for runs, expected in ((first, feeds * items), (second, 0)):
                handler = load_handler("rss")
                with contextlib.redirect_stdout(io.StringIO()):  # the handler's metrics lines
                    started = time.perf_counter()
                    summary = handler.lambda_handler(event, Context())
                    runs.append(time.perf_counter() - started)
                assert summary["produced"] == expected, summary
    return first, second


def polymarket_scenario(bootstrap: str, repeat: int, markets: int) -> tuple[list[float], dict[str, Any]]:
    times: list[float] = []
    summary: dict[str, Any] = {}
    event = json.loads((ROOT / "events" / "schedule.json").read_text())
    with FixtureServer(latency_ms=100, synthetic_markets=markets) as server:
        for _ in range(repeat):
            os.environ.update(
                {
                    "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                    "KAFKA_TOPIC": f"p-{uuid.uuid4().hex}",
                    "POLYMARKET_GAMMA_URL": f"{server.url}/gamma",
                    "POLYMARKET_CLOB_URL": f"{server.url}/clob",
                    "MAX_MARKETS": str(markets),
                    "LOG_LEVEL": "WARNING",
                }
            )
            handler = load_handler("polymarket")
            with contextlib.redirect_stdout(io.StringIO()):
                started = time.perf_counter()
                summary = handler.lambda_handler(event, Context())
                times.append(time.perf_counter() - started)
            assert summary["markets"] == markets and summary["produced"] == summary["tokens"], summary
    return times, summary


def baseline_scenarios(bootstrap: str, repeat: int) -> dict[str, list[float]]:
    """R0 against R's feeds, and P0 against P on 200 markets, interleaved run by run."""
    from tools.baselines import simple_polymarket, simple_rss

    times: dict[str, list[float]] = {"R0": [], "P0": [], "P200": []}
    with FixtureServer(latency_ms=100, synthetic_feeds=200, items=30, synthetic_markets=200) as server:
        gamma, clob = f"{server.url}/gamma", f"{server.url}/clob"
        for _ in range(repeat):
            seconds, sent = simple_rss(bootstrap, server.synthetic_feed_urls(), f"r0-{uuid.uuid4().hex}")
            assert sent == 6000, sent
            times["R0"].append(seconds)
            seconds, sent = simple_polymarket(bootstrap, gamma, clob, 200, f"p0-{uuid.uuid4().hex}")
            times["P0"].append(seconds)
            os.environ.update(
                {
                    "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                    "KAFKA_TOPIC": f"p-{uuid.uuid4().hex}",
                    "POLYMARKET_GAMMA_URL": gamma,
                    "POLYMARKET_CLOB_URL": clob,
                    "MAX_MARKETS": "200",
                    "LOG_LEVEL": "WARNING",
                }
            )
            handler = load_handler("polymarket")
            with contextlib.redirect_stdout(io.StringIO()):
                started = time.perf_counter()
                summary = handler.lambda_handler(json.loads((ROOT / "events" / "schedule.json").read_text()), Context())
                times["P200"].append(time.perf_counter() - started)
            # the producer also prices book-less tokens from Gamma; the simple way drops them
            assert summary["produced"] >= sent > 0, (summary["produced"], sent)
    return times


def peak_memory_mb(bootstrap: str) -> dict[str, float]:
    """Max Memory Used of one R and one P run, each through tools/invoke.py in a fresh interpreter."""
    peaks = {}
    with (
        FixtureServer(latency_ms=100, synthetic_feeds=200, items=30, synthetic_markets=2000) as server,
        tempfile.TemporaryDirectory() as state_dir,
    ):
        runs = {
            "R": (
                "RssProducerFunction",
                {"FEED_URLS": ",".join(server.synthetic_feed_urls()), "FETCH_CONCURRENCY": str(RSS_CONCURRENCY)},
            ),
            "P": (
                "PolymarketProducerFunction",
                {
                    "POLYMARKET_GAMMA_URL": f"{server.url}/gamma",
                    "POLYMARKET_CLOB_URL": f"{server.url}/clob",
                    "MAX_MARKETS": "2000",
                },
            ),
        }
        for name, (function, env) in runs.items():
            done = subprocess.run(
                [sys.executable, str(ROOT / "tools" / "invoke.py"), function, "--event", "events/schedule.json"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
                env={
                    **os.environ,
                    **env,
                    "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                    "LOG_LEVEL": "WARNING",
                    "KAFKA_TOPIC": f"m-{uuid.uuid4().hex}",
                    "STATE_PATH": f"{state_dir}/{name}.sqlite",
                },
            )
            found = re.search(r"Max Memory Used: (\d+) MB", done.stderr)
            assert found, done.stderr[-2000:]
            peaks[name] = float(found.group(1))
    return peaks


def measure(repeat: int, action: Callable[[], float]) -> list[float]:
    return [action() for _ in range(repeat)]


def row(scenario: str, figure: str, samples: list[float], unit: str = "s") -> list[str]:
    return [scenario, figure, f"{statistics.median(samples):.3f} {unit}", f"{min(samples):.3f}", f"{max(samples):.3f}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--baseline-repeat", type=int, default=3, help="R0/P0 take ~25 s and ~45 s a run")
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args(argv)

    rows: list[list[str]] = []
    payload = messages(args.messages)
    with EmbeddedBroker() as broker:
        run_bare(broker.bootstrap, payload[:1000])  # warm the broker and librdkafka
        module, bare = [], []
        for _ in range(args.repeat):  # interleaved, so drift hits both alike
            module.append(run_module(broker.bootstrap, payload))
            bare.append(run_bare(broker.bootstrap, payload))
        rss_first, rss_second = rss_scenario(broker.bootstrap, args.repeat, 200, 30, RSS_CONCURRENCY)
        pm_times, pm_summary = polymarket_scenario(broker.bootstrap, args.repeat, 2000)
        baselines = baseline_scenarios(broker.bootstrap, args.baseline_repeat)
        peaks = peak_memory_mb(broker.bootstrap)
    floor = -(-200 // RSS_CONCURRENCY) * 0.1
    rows.append(
        row("R", f"200 feeds x 30 items, 100 ms/request, concurrency {RSS_CONCURRENCY}: 6,000 produced", rss_first)
    )
    rows.append(row("R2", "the same, unchanged (every feed 304): 0 produced", rss_second))
    rows.append(["R", f"fetch floor ceil(200/{RSS_CONCURRENCY}) x 100 ms", f"{floor:.3f} s", "", ""])
    rows.append(
        ["R2", "R2 / R (target ≤ 0.5)", f"{statistics.median(rss_second) / statistics.median(rss_first):.2f}", "", ""]
    )
    requests_made = ", ".join(f"{name} {count}" for name, count in pm_summary["requests"].items())
    rows.append(row("P", f"2,000 markets, 100 ms/request: {pm_summary['tokens']:,} tokens produced", pm_times))
    rows.append(["P", f"requests per run: {requests_made}", "", "", ""])
    rows.append(row("R0", "R done the simple way (sequential, kafka-python send per message)", baselines["R0"]))
    rows.append(
        [
            "R0",
            "R0 / R (target ≥ 12)",
            f"{statistics.median(baselines['R0']) / statistics.median(rss_first):.1f}",
            "",
            "",
        ]
    )
    rows.append(row("P0", "200 markets the simple way (GET /book per token)", baselines["P0"]))
    rows.append(row("P", "200 markets, the producer", baselines["P200"]))
    rows.append(
        [
            "P0",
            "P0 / P on 200 markets (target ≥ 50)",
            f"{statistics.median(baselines['P0']) / statistics.median(baselines['P200']):.1f}",
            "",
            "",
        ]
    )
    for name, peak in peaks.items():
        rows.append(["M", f"peak memory of {name} (Max Memory Used; target ≤ 128 MB)", f"{peak:.0f} MB", "", ""])
    n = args.messages
    rows.append(row("K", f"{n:,} messages, producer_common", module))
    rows.append(row("K", f"{n:,} messages, bare confluent-kafka loop", bare))
    ratio = statistics.median(bare) / statistics.median(module)
    rows.append(["K", "throughput ratio module / bare (target ≥ 0.8)", f"{ratio:.2f}", "", ""])

    bare_python = measure(args.repeat, lambda: python_seconds("pass"))
    libraries = measure(args.repeat, lambda: python_seconds("import " + ", ".join(LAYER_LIBRARIES)))
    rows.append(row("C", "bare interpreter", bare_python))
    rows.append(row("C", "import every layer library", libraries))
    base = statistics.median(bare_python)
    for function, path in HANDLERS.items():
        handler = measure(
            args.repeat,
            lambda path=path, function=function: python_seconds(  # type: ignore[misc]
                cold_start_code(function), [path]
            ),
        )
        rows.append(row("C", f"{function} handler import + settings", handler))
        share = (statistics.median(handler) - base) / (statistics.median(libraries) - base)
        rows.append(
            ["C", f"{function}: cost over bare / all libraries' cost over bare (target ≤ 0.6)", f"{share:.2f}", "", ""]
        )

    table = ["| scenario | figure | median | min | max |", "| --- | --- | --- | --- | --- |"]
    table += ["| " + " | ".join(cells) + " |" for cells in rows]
    text = (
        f"# Benchmarks\n\nCommand: `{COMMAND}` (repeat {args.repeat}; {os.cpu_count()} cores; "
        f"Python {sys.version.split()[0]}).\n\n" + "\n".join(table) + "\n"
    )
    args.output.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
