"""`make bench ONLY=I`: a small run costs what its work costs, cold and warm (issue 12).

On the embedded broker (Tansu) and on Apache Kafka (tools/services/kafka.py), side by side:
  - the handler's Duration (REPORT line of tools/local/invoke.py; Init excluded) for a one-item RSS run,
    an unchanged-feed RSS run (a 304) and a one-market Polymarket run: cold (the first invocation
    of a fresh container) and warm (the following invocations of `--repeat`);
  - a bare confluent-kafka script doing the same produce (a producer, one message, flush), cold
    (the first producer of a fresh interpreter, import excluded) and warm (the next ones),
    idempotent as the producers are, and not idempotent (the floor of one acknowledged produce);
  - the whole `make invoke` of a one-item feed against the naive script's whole process
    (tools/bench/baselines.py: python, requests, feedparser, a kafka-python send, flush, close).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tools.bench.measure import environment_kept, in_process
from tools.local import invocation
from tools.services.fixture_data import synthetic_feed
from tools.services.fixture_server import FixtureServer
from tools.services.http_serving import KeptAliveHandler, answer, serving

ROOT = Path(__file__).resolve().parents[2]
RSS, POLYMARKET = "RssProducerFunction", "PolymarketProducerFunction"
BARE = """
import json, sys, time
from confluent_kafka import Producer

bootstrap, topic, idempotent, repeat = sys.argv[1], sys.argv[2], sys.argv[3] == "1", int(sys.argv[4])
seconds = []
for n in range(repeat):
    started = time.perf_counter()
    reports = []
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": idempotent, "acks": "all",
                         "linger.ms": 20})
    producer.produce(topic, b'{"n": %d}' % n, b"key", on_delivery=lambda error, _message: reports.append(error))
    producer.flush(30)
    del producer  # destroyed, as the handler's is before it returns
    seconds.append(time.perf_counter() - started)
    assert reports == [None], reports
print(json.dumps(seconds))
"""


@contextlib.contextmanager
def fresh_feed() -> Iterator[str]:
    """A feed with one item never seen before on every request (no validators): a one-item run each time."""
    served = iter(range(10**9))
    lock = threading.Lock()

    class Handler(KeptAliveHandler):
        def do_GET(self) -> None:
            with lock:
                body = synthetic_feed(next(served), 1)
            answer(self, 200, body, "application/rss+xml")

    with serving(Handler) as url:
        yield f"{url}/fresh.xml"


def invoke(function: str, env: dict[str, str], repeat: int) -> tuple[list[float], str]:
    """The handler's Durations (ms) of one container through tools/local/invoke.py --repeat, and its log."""
    done = invocation.run(function, {"LOG_LEVEL": "WARNING", **env}, repeat=repeat)
    assert done.exit_code == 0, done.log_text[-3000:]
    assert all(result["failed"] == 0 for result in done.values), done.values
    return done.durations_ms, done.log_text


def containers(function: str, env: dict[str, str], count: int, repeat: int) -> tuple[list[float], list[float]]:
    """Cold (each container's first invocation) and warm (the rest) Durations, in ms."""
    return cold_and_warm([invoke(function, env, repeat)[0] for _ in range(count)])


def bare(bootstrap: str, topic: str, idempotent: bool, count: int, repeat: int) -> tuple[list[float], list[float]]:
    """The bare script in ``count`` fresh interpreters of ``repeat`` producers each: cold and warm ms."""
    command = [sys.executable, "-c", BARE, bootstrap, topic, "1" if idempotent else "0", str(repeat)]
    runs = [subprocess.run(command, capture_output=True, text=True, check=True).stdout for _ in range(count)]
    return cold_and_warm([[seconds * 1000 for seconds in json.loads(run)] for run in runs])


def cold_and_warm(runs: list[list[float]]) -> tuple[list[float], list[float]]:
    """Each run's first figure (a fresh container or interpreter: cold) and the others (warm)."""
    return [run[0] for run in runs], [figure for run in runs for figure in run[1:]]


def whole_processes(bootstrap: str, feed: str, state_dir: str, count: int) -> tuple[list[float], list[float]]:
    """Wall seconds of `make invoke` over a one-item feed and of the naive script, interleaved."""
    invoked: list[float] = []
    naive: list[float] = []
    for n in range(count):
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "FEED_URLS": feed,
            "KAFKA_TOPIC": "bench-idle",
            "STATE_PATH": f"{state_dir}/whole-{n}.sqlite",
            "LOG_LEVEL": "WARNING",
        }
        for runs, command in (
            (invoked, ["make", "--no-print-directory", "invoke", f"FUNCTION={RSS}", "EVENT=events/schedule.json"]),
            (naive, [sys.executable, "-m", "tools.bench.baselines", "rss", bootstrap, "bench-idle-naive", feed]),
        ):
            started = time.perf_counter()
            subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=True)
            runs.append(time.perf_counter() - started)
    return invoked, naive


def ms_row(group: str, figure: str, samples: list[float]) -> list[str]:
    return [group, figure, f"{statistics.median(samples):.1f} ms", f"{min(samples):.1f}", f"{max(samples):.1f}"]


def broker_rows(name: str, bootstrap: str, count: int, repeat: int) -> list[list[str]]:
    """The I rows on one broker."""
    rows: list[list[str]] = []
    base = {"KAFKA_BOOTSTRAP_SERVERS": bootstrap}
    with (
        tempfile.TemporaryDirectory() as state_dir,
        fresh_feed() as feed,
        FixtureServer(synthetic_feeds=1, items=1, synthetic_markets=50) as fixtures,
    ):
        scenarios: list[tuple[str, str, dict[str, str]]] = []
        for client in ("confluent", "kafka-python"):
            one_item = {"FEED_URLS": feed, "KAFKA_CLIENT": client, "STATE_PATH": f"{state_dir}/one-{client}.sqlite"}
            scenarios.append((f"RSS one-item run, {client}", RSS, one_item))
        unchanged = {"FEED_URLS": fixtures.synthetic_feed_urls()[0], "STATE_PATH": f"{state_dir}/unchanged.sqlite"}
        invoke(RSS, {**base, **unchanged, "KAFKA_TOPIC": f"i-{uuid.uuid4().hex}"}, 1)  # the feed is seen once
        scenarios.append(("RSS unchanged-feed run (304)", RSS, unchanged))
        one_market = {
            "POLYMARKET_GAMMA_URL": f"{fixtures.url}/gamma",
            "POLYMARKET_CLOB_URL": f"{fixtures.url}/clob",
            "MAX_MARKETS": "1",
        }
        scenarios.append(("Polymarket one-market run", POLYMARKET, one_market))
        for figure, function, env in scenarios:
            topic = f"i-{uuid.uuid4().hex}"
            invoke(function, {**base, **env, "KAFKA_TOPIC": topic}, 1)  # the topic exists before the figures
            cold, warm = containers(function, {**base, **env, "KAFKA_TOPIC": topic}, count, repeat)
            rows += [ms_row("I", f"{name}: {figure}, handler Duration cold", cold)]
            rows += [ms_row("I", f"{name}: {figure}, handler Duration warm", warm)]
        topic = f"i-bare-{uuid.uuid4().hex}"
        bare(bootstrap, topic, True, 1, 1)
        for idempotent, label in ((True, "idempotent, acks=all"), (False, "acks=all, not idempotent")):
            cold, warm = bare(bootstrap, topic, idempotent, count, repeat)
            rows += [ms_row("I", f"{name}: bare confluent-kafka one produce+flush ({label}), cold", cold)]
            rows += [ms_row("I", f"{name}: bare confluent-kafka one produce+flush ({label}), warm", warm)]
        invoked, naive = whole_processes(bootstrap, feed, state_dir, count)
    ratio = statistics.median(invoked) / statistics.median(naive)
    rows += [
        ms_row("I", f"{name}: whole `make invoke` of a one-item feed", [s * 1000 for s in invoked]),
        ms_row("I", f"{name}: the naive script's whole process (tools/bench/baselines.py)", [s * 1000 for s in naive]),
        ["I", f"{name}: make invoke / naive script (target ≤ 1.5)", f"{ratio:.2f}", "", ""],
    ]
    return rows


def i_rows(args: Any, bootstrap: str) -> list[list[str]]:
    """Group I on the embedded broker, then on Apache Kafka."""
    from tools.services.kafka import ApacheKafka

    count, repeat = args.repeat, args.repeat + 1  # containers, and invocations in each
    rows = broker_rows("Tansu", bootstrap, count, repeat)
    with tempfile.TemporaryDirectory() as directory, ApacheKafka(Path(directory)) as kafka:
        rows += broker_rows("Apache Kafka", kafka.plaintext, count, repeat)
    return rows + cost_rows(bootstrap)


# The cost table of the last i_rows run (tools/bench/cost.py), which `make bench` writes into the README.
COST: dict[str, str] = {}
METRICS_LINE = re.compile(r'^\{"_aws":.*$', re.M)


def emf_metrics(log: str) -> frozenset[str]:
    """Each metric an EMF line defines, with its dimensions: what CloudWatch bills as a custom metric."""
    found = set()
    for line in METRICS_LINE.findall(log):
        document = json.loads(line)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            names = sorted(name for group in directive["Dimensions"] for name in group)
            dimensions = ",".join(f"{name}={document[name]}" for name in names)
            found |= {f"{metric['Name']}[{dimensions}]" for metric in directive["Metrics"]}
    return frozenset(found)


def dynamodb_units(bootstrap: str, feeds: list[str]) -> list[tuple[int, int]]:
    """DynamoDB read and write request units of an RSS run over ``feeds`` with the DynamoDB state
    store (moto's DynamoDB server on loopback standing in; what the store's client asks is counted
    as it asks), fresh then unchanged. Strongly consistent reads of items under 4 KB and writes of
    items under 1 KB: one unit each."""
    from unittest import mock

    from tools.bench.cpu import BENCH_KEYS, state_table
    from tools.local.handler import COMMON_LAYER
    from tools.services.aws_stand_in import moto_server

    if str(COMMON_LAYER) not in sys.path:  # as load_handler puts it, before the handler's first import
        sys.path.insert(0, str(COMMON_LAYER))
    from producer_common.state.dynamodb_client import DynamoDBClient

    units = [0, 0]
    read, write = DynamoDBClient.batch_get_item, DynamoDBClient.batch_write_item

    def counted_read(self: DynamoDBClient, RequestItems: dict[str, Any]) -> dict[str, Any]:
        units[0] += sum(len(request["Keys"]) for request in RequestItems.values())
        return read(self, RequestItems=RequestItems)

    def counted_write(self: DynamoDBClient, RequestItems: dict[str, Any]) -> dict[str, Any]:
        units[1] += sum(len(request) for request in RequestItems.values())
        return write(self, RequestItems=RequestItems)

    runs: list[tuple[int, int]] = []
    with (
        environment_kept(),
        moto_server() as endpoint,
        mock.patch.object(DynamoDBClient, "batch_get_item", counted_read),
        mock.patch.object(DynamoDBClient, "batch_write_item", counted_write),
    ):
        for name in ("STATE_PATH", "AWS_PROFILE"):
            os.environ.pop(name, None)
        env = {**BENCH_KEYS, "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL_DYNAMODB": endpoint}
        env |= {"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "FEED_URLS": ",".join(feeds), "STATE_TABLE": "bench-state"}
        state_table(endpoint, "bench-state")
        for _ in range(2):
            units[:] = [0, 0]
            in_process("rss_producer", env)
            runs.append((units[0], units[1]))
    return runs


def cost_rows(bootstrap: str) -> list[list[str]]:
    """The default schedules' runs at the template's default sizes (5 feeds of 30 items, 50 markets),
    every source answering after 100 ms as a stand-in for the internet, at LOG_LEVEL INFO; their
    cost inputs, and the cost table from them (COST)."""
    from tools.bench.cost import Run, by_architecture, deployment, table

    rows: list[list[str]] = []
    runs: dict[str, Run] = {}
    with (
        tempfile.TemporaryDirectory() as state_dir,
        FixtureServer(latency_ms=100, synthetic_feeds=5, items=30, synthetic_markets=50) as server,
    ):
        feeds = server.synthetic_feed_urls()
        scenarios = {
            # FETCH_PER_HOST: the one local server stands for five feed hosts
            "rss": (
                RSS,
                {"FEED_URLS": ",".join(feeds), "STATE_PATH": f"{state_dir}/cost.sqlite", "FETCH_PER_HOST": "5"},
            ),
            "polymarket": (
                POLYMARKET,
                {"POLYMARKET_GAMMA_URL": f"{server.url}/gamma", "POLYMARKET_CLOB_URL": f"{server.url}/clob"},
            ),
        }
        units = dynamodb_units(bootstrap, feeds)
        for name, (function, env) in scenarios.items():
            env = {**env, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "KAFKA_TOPIC": f"i-cost-{uuid.uuid4().hex}"}
            durations, log = invoke(function, {**env, "LOG_LEVEL": "INFO"}, 1)
            init = float(re.search(r"Init Duration: ([\d.]+) ms", log).group(1))  # type: ignore[union-attr]
            read, write = units[0] if name == "rss" else (0, 0)
            runs[name] = Run(init + durations[0], len(log.encode()), emf_metrics(log), read, write)
            rows.append(
                [
                    "I",
                    f"cost input, {name} default run (cold): Init + Duration, log bytes, custom metrics",
                    f"{init + durations[0]:.0f} ms",
                    f"{len(log.encode()):,} B",
                    f"{len(runs[name].metrics)} metrics",
                ]
            )
    rows.append(
        [
            "I",
            "cost input, rss default run: DynamoDB read / write units, fresh state, then unchanged",
            f"{units[0][0]} / {units[0][1]}",
            f"{units[1][0]} / {units[1][1]}",
            "",
        ]
    )
    lines, *others = by_architecture(runs, deployment(ROOT / "template.yaml")).values()
    COST["table"] = table(lines, *others)
    rows.append(
        [
            "I",
            "monthly cost of the default deployment, us-east-1 (docs/performance/figures.md, Monthly cost)",
            f"${sum(cost for _, _, cost in lines):.2f}",
            "",
            "",
        ]
    )
    return rows
