"""`make bench`: the producers' costs, measured side by side with simple alternatives.

Scenarios (each run REPEAT times; median, min, max):
  R  the RSS handler over 200 feeds of 30 items served with 100 ms latency per request, fresh state;
     again with FEED_PARSER=feedparser, and the parse time of the 200 documents with each parser
  R2 the same again with the state of R: every feed answers 304
  P  the Polymarket handler over 2,000 markets, 100 ms latency per request, with its request counts
  R0, P0 the same work done the simple way (tools/bench/baselines.py), side by side; P0 on 200 markets
     (one token after another costs about 7 minutes for 2,000), against P on the same 200
  M  peak memory of R and P, read from `tools/local/invoke.py`'s REPORT line (a fresh interpreter each)
  K  messages through producer_common against a bare confluent-kafka loop, same messages, same broker;
     KA the same on Apache Kafka (tools/services/kafka.py) over PLAINTEXT and over SASL_SSL with SCRAM-SHA-512
  C  cold start: importing each handler module and building its settings in a fresh python3.12 on
     `sam build`'s output, against a bare one and one importing every library in the layer; the
     same without the bytecode the build ships
  F  the value formats json, json_schema and avro, with a real registry (tools/bench/formats.py)
  S  scale: each handler through `tools/local/invoke.py` on a small and a large list; the difference gives
     the CPU and wall time one more feed or market costs, hence how many one 300 s invocation at
     256 MB handles (Lambda gives 256 MB 256/1769 of a vCPU, so CPU counts 1769/256 times)
  L  one shard of a long OPML feed list, per 1,000 feeds, beside the naive way (tools/bench/feed_list.py)
  I  idle time: one-item, unchanged-feed and one-market runs, handler Duration cold and warm, against
     a bare confluent-kafka produce, and the whole `make invoke` against a naive script, on the
     embedded broker and on Apache Kafka (tools/bench/idle.py)
  B  billed: CPU per 1,000 items past start-up, start-up CPU, peak memory and billed Duration at
     256 MB (under a 14.5 % CPU quota where cgroups allow) of RSS (200 feeds x 30 items, 20 hosts)
     and Polymarket (1,000 tokens), beside the naive scripts (tools/bench/cpu.py)

Writes the table to stdout and into docs/performance/figures.md between its marks (the one place the figures live).
`--only K,C` (make bench ONLY=K,C) runs some groups and only prints.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lambda_build.bytecode import python312
from lambda_build.layer import FUNCTION_LAYERS, LIBRARIES, RSS_FETCH_LIBRARIES
from tools.bench.cpu import b_rows, scale_cost
from tools.bench.feed_list import l_rows
from tools.bench.formats import f_rows
from tools.bench.idle import COST, i_rows
from tools.bench.measure import BUILT, built, environment_kept, in_process, invoke, row, timed_bare, timed_module
from tools.local.handler import FUNCTIONS
from tools.services.broker import EmbeddedBroker
from tools.services.fixture_server import FixtureServer

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "layers" / "common" / "python"))  # the CommonLayer, as /opt/python
COMMAND = "make bench"
RSS_CONCURRENCY = 16
PARSERS = ("feedparser-rs", "feedparser")
SCALE_FEEDS = (200, 1000)  # S: small (also M's R) and large lists, concurrency as the template sets it
SCALE_MARKETS = (2000, 6000)
REFERENCE_RSS = "rss with FEED_PARSER=feedparser"
BENCH_HEADERS = {"schema": "bench/1", "source": "bench"}
COLD_ENV = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9", "FEED_URLS": "https://example.org/feed.xml"}


def messages(count: int) -> list[tuple[str, dict[str, object]]]:
    return [
        (f"key-{i}", {"schema": "bench/1", "id": i, "title": f"Item {i}", "summary": "x" * 300}) for i in range(count)
    ]


def run_module(bootstrap: str, payload: list[tuple[str, Any]], security: dict[str, str] | None = None) -> float:
    from producer_common import KafkaSettings

    environ = {"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "KAFKA_TOPIC": f"k-{uuid.uuid4().hex}", **(security or {})}
    return timed_module(KafkaSettings.from_env(environ), payload, BENCH_HEADERS, environ)


def run_bare(bootstrap: str, payload: list[tuple[str, Any]], security: dict[str, str] | None = None) -> float:
    headers: list[tuple[str, str | bytes | None]] = [(name, value.encode()) for name, value in BENCH_HEADERS.items()]
    config = {"bootstrap.servers": bootstrap, **(security or {})}
    return timed_bare(config, f"k-{uuid.uuid4().hex}", payload, lambda value: json.dumps(value).encode(), headers)


def lambda_seconds(interpreter: str, build: Path, code: str, function: str | None = None) -> float:
    """Wall time of a fresh python3.12 running ``code`` on the built code and layers, as Lambda would:
    the function's directory first and current, then its layers (every layer for no function); nothing
    written (read-only there). No site (-S) either: Lambda's adds nothing, but a host's .pth files may
    import from the layers (this machine's imports certifi and appends to its bundle)."""
    every_layer = sorted({layer for layers in FUNCTION_LAYERS.values() for layer in layers})
    paths = [build / BUILT[function]] if function else []
    paths += [build / layer / "python" for layer in (FUNCTION_LAYERS[BUILT[function]] if function else every_layer)]
    env = {"PATH": os.environ.get("PATH", ""), **COLD_ENV, "PYTHONPATH": os.pathsep.join(map(str, paths))}
    started = time.perf_counter()
    subprocess.run([interpreter, "-S", "-B", "-c", code], env=env, check=True, cwd=paths[0])
    return time.perf_counter() - started


def rss_scenario(
    bootstrap: str, repeat: int, feeds: int, items: int, concurrency: int, parser: str = "feedparser-rs"
) -> tuple[list[float], ...]:
    first: list[float] = []
    second: list[float] = []
    with (
        FixtureServer(latency_ms=100, synthetic_feeds=feeds, items=items) as server,
        tempfile.TemporaryDirectory() as state_dir,
    ):
        for attempt in range(repeat):
            env = {"FEED_URLS": ",".join(server.synthetic_feed_urls()), "FEED_PARSER": parser}
            # one local server stands for 200 feed hosts: no per-host limit below the concurrency
            env |= {"FETCH_CONCURRENCY": str(concurrency), "FETCH_PER_HOST": str(concurrency)}
            env |= {"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "STATE_PATH": f"{state_dir}/state-{attempt}.sqlite"}
            for runs, expected in ((first, feeds * items), (second, 0)):
                seconds, summary = in_process("rss_producer", env)
                runs.append(seconds)
                assert summary["produced"] == expected, summary
    return first, second


def polymarket_env(bootstrap: str, server: FixtureServer, markets: int) -> dict[str, str]:
    return {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "POLYMARKET_GAMMA_URL": f"{server.url}/gamma",
        "POLYMARKET_CLOB_URL": f"{server.url}/clob",
        "MAX_MARKETS": str(markets),
    }


def polymarket_scenario(bootstrap: str, repeat: int, markets: int) -> tuple[list[float], dict[str, Any]]:
    times: list[float] = []
    summary: dict[str, Any] = {}
    with FixtureServer(latency_ms=100, synthetic_markets=markets) as server:
        for _ in range(repeat):
            seconds, summary = in_process("polymarket_producer", polymarket_env(bootstrap, server, markets))
            times.append(seconds)
            assert summary["markets"] == markets and summary["produced"] == summary["tokens"], summary
    return times, summary


def simple_rss_seconds(bootstrap: str) -> float:
    """R0: R's 200 feeds done the simple way (tools/bench/baselines.py)."""
    from tools.bench.baselines import simple_rss

    with FixtureServer(latency_ms=100, synthetic_feeds=200, items=30) as server:
        seconds, sent = simple_rss(bootstrap, server.synthetic_feed_urls(), f"r0-{uuid.uuid4().hex}")
    assert sent == 6000, sent
    return seconds


def polymarket_baseline(bootstrap: str, repeat: int) -> dict[str, list[float]]:
    """P0 against P on the same 200 markets, interleaved run by run."""
    from tools.bench.baselines import simple_polymarket

    times: dict[str, list[float]] = {"P0": [], "P200": []}
    with FixtureServer(latency_ms=100, synthetic_markets=200) as server:
        for _ in range(repeat):
            seconds, sent = simple_polymarket(
                bootstrap, f"{server.url}/gamma", f"{server.url}/clob", 200, f"p0-{uuid.uuid4().hex}"
            )
            times["P0"].append(seconds)
            seconds, summary = in_process("polymarket_producer", polymarket_env(bootstrap, server, 200))
            times["P200"].append(seconds)
            # the producer also prices book-less tokens from Gamma; the simple way drops them
            assert summary["produced"] >= sent > 0, (summary["produced"], sent)
    return times


def parse_seconds(parser: str, feeds: int, items: int) -> float:
    """One thread parsing R's documents one after another with ``parser``: the CPU R's parsing costs."""
    sys.path.insert(0, str(FUNCTIONS / "rss_producer"))
    import rss_parse

    from tools.services.fixture_data import synthetic_feed

    bodies = [synthetic_feed(index, items) for index in range(feeds)]
    parse = rss_parse.FeedParser(parser)
    started = time.perf_counter()
    for index, body in enumerate(bodies):
        parse(f"https://bench.example/{index}.xml", body, {})
    return time.perf_counter() - started


def scale_scenario(bootstrap: str, feeds: tuple[int, int], markets: tuple[int, int]) -> dict[str, Any]:
    """Each handler on a small and a large list, through invoke (a cold container each)."""
    runs: dict[str, Any] = {}
    with (
        FixtureServer(latency_ms=100, synthetic_feeds=feeds[1], items=30, synthetic_markets=markets[1]) as server,
        tempfile.TemporaryDirectory() as state_dir,
    ):
        urls = server.synthetic_feed_urls()
        for parser, kind in (("feedparser-rs", "rss"), ("feedparser", REFERENCE_RSS)):
            for count in feeds:
                env = {"FEED_URLS": ",".join(urls[:count]), "STATE_PATH": f"{state_dir}/{parser}-{count}.sqlite"}
                env |= {"FEED_PARSER": parser, "KAFKA_BOOTSTRAP_SERVERS": bootstrap}
                env |= {"FETCH_PER_HOST": str(RSS_CONCURRENCY)}  # one local server stands for many hosts
                runs[f"{kind} {count}"] = invoke("RssProducerFunction", env)
                assert runs[f"{kind} {count}"][3]["produced"] == count * 30, runs[f"{kind} {count}"][3]
        for count in markets:
            runs[f"polymarket {count}"] = invoke("PolymarketProducerFunction", polymarket_env(bootstrap, server, count))
            assert runs[f"polymarket {count}"][3]["markets"] == count, runs[f"polymarket {count}"][3]
    return runs


LAMBDA_VCPU_SHARE = 256 / 1769  # Lambda allots CPU in proportion to memory: one vCPU at 1,769 MB
USABLE_S = 300 - 30  # the template's timeout, less KAFKA_FLUSH_MARGIN_S-style headroom for flush and close


def capacity_rows(kind: str, unit: str, small: int, large: int, runs: dict[str, Any]) -> list[list[str]]:
    wall_small, cpu_small, memory_small, _ = runs[f"{kind} {small}"]
    wall_large, cpu_large, memory_large, _ = runs[f"{kind} {large}"]
    extra = large - small
    cpu_each, wall_each = (cpu_large - cpu_small) / extra, (wall_large - wall_small) / extra
    lambda_each = max(wall_each, cpu_each / LAMBDA_VCPU_SHARE)
    memory_each = (memory_large - memory_small) / extra
    fits = min(USABLE_S / lambda_each, (256 * 0.8 - memory_small) / memory_each + small if memory_each > 0 else 1e9)
    return [
        [
            "S",
            f"{kind}: {small:,} {unit}s / {large:,} {unit}s through invoke: wall, CPU, Max Memory Used",
            f"{wall_small:.2f} / {wall_large:.2f} s",
            f"CPU {cpu_small:.2f} / {cpu_large:.2f} s",
            f"{memory_small:.0f} / {memory_large:.0f} MB",
        ],
        [
            "S",
            f"{kind}: one more {unit}: CPU here, wall here, on a 256 MB Lambda (CPU x 1769/256 or wall)",
            f"{cpu_each * 1000:.2f} ms CPU",
            f"{wall_each * 1000:.2f} ms",
            f"{lambda_each * 1000:.1f} ms",
        ],
        [
            "S",
            f"{kind}: {unit}s one 300 s, 256 MB invocation handles ({USABLE_S} s usable; memory under 80%)",
            f"~{int(fits // 100 * 100):,}",
            "",
            "",
        ],
    ]


def k_comparison(
    args: argparse.Namespace,
    bootstrap: str,
    where: str = "",
    module_env: dict[str, str] | None = None,
    bare_config: dict[str, str] | None = None,
) -> list[list[str]]:
    payload = messages(args.messages)
    run_bare(bootstrap, payload[: args.messages // 10], bare_config)  # warm the broker and librdkafka
    module, bare = [], []
    for _ in range(args.fast_repeat):  # interleaved, so drift hits both alike
        module.append(run_module(bootstrap, payload, module_env))
        bare.append(run_bare(bootstrap, payload, bare_config))
    ratio = statistics.median(bare) / statistics.median(module)
    return [
        row("K", f"{where}{args.messages:,} messages, producer_common", module),
        row("K", f"{where}{args.messages:,} messages, bare confluent-kafka loop", bare),
        ["K", f"{where}throughput ratio module / bare (target ≥ 0.8)", f"{ratio:.2f}", "", ""],
    ]


def ka_rows(args: argparse.Namespace, _bootstrap: str) -> list[list[str]]:
    """K on a real Apache Kafka broker, over PLAINTEXT and over SASL_SSL with SCRAM-SHA-512."""
    from tools.services.kafka import KAFKA_VERSION, running_kafka

    with tempfile.TemporaryDirectory() as directory, running_kafka(Path(directory)) as kafka:
        scram = kafka.client_config("sasl_ssl", "SCRAM-SHA-512")
        user = kafka.users["SCRAM-SHA-512"]
        module_env = {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512"}
        module_env |= {"KAFKA_SSL_CA_LOCATION": kafka.ca_file, "KAFKA_USERNAME": user.username}
        module_env |= {"KAFKA_PASSWORD": user.password}
        bare_config = {name: value for name, value in scram.items() if name != "bootstrap.servers"}
        rows = k_comparison(args, kafka.plaintext, f"Apache Kafka {KAFKA_VERSION}, PLAINTEXT: ")
        rows += k_comparison(
            args, kafka.sasl_ssl, f"Apache Kafka {KAFKA_VERSION}, SASL_SSL/SCRAM-SHA-512: ", module_env, bare_config
        )
    return rows


def r_rows(args: argparse.Namespace, bootstrap: str) -> list[list[str]]:
    with environment_kept():
        first, second = rss_scenario(bootstrap, args.repeat, 200, 30, RSS_CONCURRENCY)
    with environment_kept():
        reference, _ = rss_scenario(bootstrap, args.repeat, 200, 30, RSS_CONCURRENCY, "feedparser")
    with environment_kept():
        simple = [simple_rss_seconds(bootstrap) for _ in range(args.baseline_repeat)]
    parsing = {name: [parse_seconds(name, 200, 30) for _ in range(args.repeat)] for name in PARSERS}
    floor = -(-200 // RSS_CONCURRENCY) * 0.1
    r, parse_s = statistics.median(first), statistics.median(parsing[PARSERS[0]])
    return [
        row("R", f"200 feeds x 30 items, 100 ms/request, concurrency {RSS_CONCURRENCY}: 6,000 produced", first),
        row("R", "the same with FEED_PARSER=feedparser (the reference parser)", reference),
        row("R2", "the same, unchanged (every feed 304): 0 produced", second),
        ["R", f"fetch floor ceil(200/{RSS_CONCURRENCY}) x 100 ms", f"{floor:.3f} s", "", ""],
        *(row("R", f"parse time of R's 200 documents, one thread, {name}", runs) for name, runs in parsing.items()),
        ["R", "R / (fetch floor + parse time) (target ≤ 1.5)", f"{r / (floor + parse_s):.2f}", "", ""],
        ["R2", "R2 / R (target ≤ 0.5)", f"{statistics.median(second) / r:.2f}", "", ""],
        row("R0", "R done the simple way (sequential, kafka-python send per message)", simple),
        ["R0", "R0 / R (target ≥ 12)", f"{statistics.median(simple) / r:.1f}", "", ""],
    ]


def p_rows(args: argparse.Namespace, bootstrap: str) -> list[list[str]]:
    with environment_kept():
        times, summary = polymarket_scenario(bootstrap, args.repeat, 2000)
    with environment_kept():
        baselines = polymarket_baseline(bootstrap, args.baseline_repeat)
    requests_made = ", ".join(f"{name} {count}" for name, count in summary["requests"].items())
    ratio = statistics.median(baselines["P0"]) / statistics.median(baselines["P200"])
    return [
        row("P", f"2,000 markets, 100 ms/request: {summary['tokens']:,} tokens produced", times),
        ["P", f"requests per run: {requests_made}", "", "", ""],
        row("P0", "200 markets the simple way (GET /book per token)", baselines["P0"]),
        row("P", "200 markets, the producer", baselines["P200"]),
        ["P0", "P0 / P on 200 markets (target ≥ 50)", f"{ratio:.1f}", "", ""],
    ]


def s_rows(args: argparse.Namespace, bootstrap: str) -> list[list[str]]:
    scale = scale_scenario(bootstrap, SCALE_FEEDS, SCALE_MARKETS)
    rows = [
        ["M", f"peak memory of {name} (Max Memory Used via invoke; target ≤ 128 MB)", f"{scale[key][2]:.0f} MB", "", ""]
        for name, key in (("R", f"rss {SCALE_FEEDS[0]}"), ("P", f"polymarket {SCALE_MARKETS[0]}"))
    ]
    rows += capacity_rows("rss", "feed", *SCALE_FEEDS, scale)
    rows += capacity_rows(REFERENCE_RSS, "feed", *SCALE_FEEDS, scale)
    return rows + capacity_rows("polymarket", "market", *SCALE_MARKETS, scale)


def c_rows(args: argparse.Namespace, _bootstrap: str) -> list[list[str]]:
    """Cold start as deployed: Lambda's python3.12 on `sam build`'s output, against the same without
    the bytecode the build ships (what every cold start costs when it must compile from source)."""
    interpreter = python312()
    assert interpreter, "C needs a CPython 3.12, Lambda's runtime (see lambda_build/bytecode.py)"
    libraries = "import " + ", ".join([*LIBRARIES, *RSS_FETCH_LIBRARIES])
    handler = "import app; app.settings()"
    cold: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        shipped, sources = built(Path(scratch) / "build")
        for _ in range(args.fast_repeat):  # interleaved, so drift hits each alike
            for build, label in ((shipped, ""), (sources, ", sources only")):
                cold.setdefault(f"bare{label}", []).append(lambda_seconds(interpreter, build, "pass"))
                cold.setdefault(f"libraries{label}", []).append(lambda_seconds(interpreter, build, libraries))
                for function in BUILT:
                    seconds = lambda_seconds(interpreter, build, handler, function)
                    cold.setdefault(f"{function}{label}", []).append(seconds)
    base, everything = statistics.median(cold["bare"]), statistics.median(cold["libraries"])
    rows = [
        row("C", "bare python3.12", cold["bare"]),
        row("C", "import every layer library, as built (bytecode shipped)", cold["libraries"]),
    ]
    for function in BUILT:
        share = (statistics.median(cold[function]) - base) / (everything - base)
        rows.append(row("C", f"{function} handler import + settings, as built", cold[function]))
        rows.append(
            ["C", f"{function}: cost over bare / all libraries' cost over bare (target ≤ 0.6)", f"{share:.2f}", "", ""]
        )
    rows.append(
        row("C", "import every layer library, sources only (no bytecode shipped)", cold["libraries, sources only"])
    )
    for function in BUILT:
        rows.append(row("C", f"{function} handler import + settings, sources only", cold[f"{function}, sources only"]))
    return rows


GROUPS: dict[str, Callable[[argparse.Namespace, str], list[list[str]]]] = {
    "K": k_comparison,
    "KA": ka_rows,
    "R": r_rows,
    "P": p_rows,
    "S": s_rows,
    "L": l_rows,
    "C": c_rows,
    "F": f_rows,
    "I": i_rows,
    "B": b_rows,
}
README_MARKS = ("<!-- bench:begin -->", "<!-- bench:end -->")


COST_MARKS = ("<!-- cost:begin -->", "<!-- cost:end -->")
SCALE_MARKS = ("<!-- cost-scale:begin -->", "<!-- cost-scale:end -->")


def into_readme(readme: Path, table: str, marks: tuple[str, str] = README_MARKS) -> None:
    """Replace the table between ``marks``, so the README carries the latest figures."""
    text = readme.read_text()
    begin, end = text.index(marks[0]) + len(marks[0]), text.index(marks[1])
    readme.write_text(text[:begin] + "\n" + table + text[end:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--fast-repeat", type=int, default=15, help="repeats of K and C, which take a second a run")
    parser.add_argument("--baseline-repeat", type=int, default=3, help="R0/P0 take ~25 s and ~45 s a run")
    parser.add_argument(
        "--only", default="", help="comma-separated groups of " + ",".join(GROUPS) + "; prints, writes nothing"
    )
    parser.add_argument("--readme", type=Path, default=ROOT / "docs" / "performance" / "figures.md")
    args = parser.parse_args(argv)
    chosen = [name.strip().upper() for name in args.only.split(",") if name.strip()] or list(GROUPS)
    unknown = sorted(set(chosen) - set(GROUPS))
    if unknown:
        parser.error(f"unknown group(s) {', '.join(unknown)}; choose from {', '.join(GROUPS)}")

    rows: list[list[str]] = []
    with EmbeddedBroker() as broker:
        for name in chosen:
            rows += [[*cells, f"`{COMMAND} ONLY={name}`"] for cells in GROUPS[name](args, broker.bootstrap)]

    table = "| scenario | figure | median | min | max | command |\n| --- | --- | --- | --- | --- | --- |\n"
    table += "".join("| " + " | ".join(cells) + " |\n" for cells in rows)
    table += (
        f"\nMeasured with `{COMMAND}` (repeat {args.repeat}, K and C {args.fast_repeat}, "
        f"R0 and P0 {args.baseline_repeat}) on {os.cpu_count()} cores, Python {sys.version.split()[0]}.\n"
    )
    print(table)
    cost = COST.get("table")  # group I's cost table, from the same run
    if cost:
        print(cost)
    scale = scale_cost()  # group B's compute at scale, from the same run
    if scale:
        print(scale)
    if not args.only:
        into_readme(args.readme, table)
        if cost:
            into_readme(args.readme, cost, COST_MARKS)
        if scale:
            into_readme(args.readme, scale, SCALE_MARKS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
