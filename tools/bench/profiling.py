"""Where an RSS run's CPU goes, item by item: `python -m tools.bench.profiling` (issue 26).

Runs the RSS handler once, as `make bench ONLY=B` does (a fresh interpreter, 200 feeds x 30 items
on 20 loopback hosts, 100 ms a request, fresh state, the embedded broker), under py-spy sampling
the stack of the thread holding the GIL 1,000 times a second (librdkafka's own threads are not seen),
then files each sample under the first concern its stack shows, from the innermost frame out,
and prints the CPU of each concern per item. Imports (start-up) are counted apart. Then each stage
alone, in one thread, over the same 200 feeds: what an item costs without the run around it.

``--dynamodb``: the sampled profile of the run with its state in DynamoDB (moto's server), as the
template deploys it; the stages alone and the threads are measured on SQLite, so it leaves them out.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from tools.bench.cpu import BENCH_KEYS, FEEDS, HOSTS, ITEMS, ROOT, feed_hosts, handler_process, state_table
from tools.services.aws_stand_in import moto_server
from tools.services.broker import EmbeddedBroker

RATE = 1000
SERVER = (sys.executable, "-m", "tools.services.fixture_server")
# (concern, pattern over one frame "function (file:line)"). The project's own functions are looked
# for first, innermost out (so json.dumps inside content_key counts as identity); then libraries.
OWN = [
    ("start-up: imports", re.compile(r"^(<module>|_find_and_load|_call_with_frames_removed) ")),
    (
        "field cleaning (clean_text, resolve_link, tags, dates)",
        re.compile(r"^(clean_text|resolve_link|clean_tags|published_at)\b"),
    ),
    ("identity and hashing (rss_identity, rss_items)", re.compile(r"\(rss_identity\.py|\(rss_items\.py")),
    ("JSON encoding of values (producer_common.serialization)", re.compile(r"producer_common/serialization\.py")),
    ("producer (producer_common, confluent-kafka)", re.compile(r"producer_common/(producer|backends)")),
    ("state reads and writes (SQLite, or DynamoDB over http.client)", re.compile(r"producer_common/state")),
    ("entity scan (rss_entities)", re.compile(r"\(rss_entities\.py")),
    ("parse (feedparser-rs, rss_parse)", re.compile(r"\(rss_parse\.py")),
    (
        "HTTP: rss_fetch, rss_transfers (libcurl), rss_redirects",
        re.compile(r"\(rss_fetch\.py|\(rss_transfers\.py|\(rss_redirects\.py|producer_common/http"),
    ),
    ("the run loop (rss_run), threads", re.compile(r"\(rss_run\.py")),
]
LIBRARIES = [
    (
        "HTTP: rss_fetch, rss_transfers (libcurl), rss_redirects",
        re.compile(r"requests/|urllib3/|http/client|socket\.py"),
    ),
    ("the run loop (rss_run), threads", re.compile(r"concurrent/|threading\.py|queue\.py")),
    ("logging and metrics (Powertools)", re.compile(r"logging/|aws_lambda_powertools")),
]


def concern(stack: list[str]) -> str:
    for patterns in (OWN, LIBRARIES):
        for frame in reversed(stack):
            for name, pattern in patterns:
                if pattern.search(frame):
                    return name
    return "other (interpreter, dataclasses, environment ...)"


# Run before the handler's driver with state in DynamoDB: how many calls of each operation the run
# made on which records (item#, feed#, due#), and how many keys or items they carried.
DYNAMODB_CALLS = """
import atexit, collections, json
from producer_common.state import dynamodb_client
_calls = collections.Counter()
_call = dynamodb_client.DynamoDBClient._call
def _counted(self, operation, body):
    for requests in body["RequestItems"].values():
        keys = requests["Keys"] if isinstance(requests, dict) else [r["PutRequest"]["Item"] for r in requests]
        kind = keys[0]["pk"]["S"].split("#")[0] if keys else "-"
        _calls[f"{operation} {kind}# calls"] += 1
        _calls[f"{operation} {kind}# keys or items"] += len(keys)
    return _call(self, operation, body)
dynamodb_client.DynamoDBClient._call = _counted
atexit.register(lambda: print("DYNAMODB_CALLS", json.dumps(_calls)))
"""


def profile(
    bootstrap: str, feeds: int, dump: bool = False, dynamodb: bool = False
) -> tuple[collections.Counter[str], int, dict[str, int]]:
    """Samples by concern of one run over ``feeds`` feeds, the items it produced, and with
    ``dynamodb`` (state in a table of moto's DynamoDB server, as the template deploys it) the calls
    the same run made to DynamoDB by operation (counted on the run before, which is not sampled)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    with contextlib.ExitStack() as services:
        scratch = services.enter_context(tempfile.TemporaryDirectory())
        urls = services.enter_context(feed_hosts(FEEDS, ITEMS, HOSTS))
        endpoint = services.enter_context(moto_server()) if dynamodb else ""

        def state(name: str) -> dict[str, str]:
            if not dynamodb:
                return {"STATE_PATH": f"{scratch}/{name}.sqlite"}
            state_table(endpoint, name)
            return {**BENCH_KEYS, "AWS_ENDPOINT_URL_DYNAMODB": endpoint, "STATE_TABLE": name, "STATE_PATH": ""}

        raw = Path(scratch) / "profile.txt"
        env = {"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "FEED_URLS": ",".join(urls[:feeds])}
        # --gil: only the thread holding the GIL, i.e. running Python; --nonblocking: never pause it
        prefix = (spy, "record", "--format", "raw", "--rate", str(RATE), "--gil", "--nonblocking", "-o", str(raw), "--")
        # a first run writes the bytecode the profiled run loads, and counts the DynamoDB calls
        warm = env | state("warm") | {"KAFKA_TOPIC": f"p-{uuid.uuid4().hex}"}
        counted, _ = handler_process("RssProducerFunction", warm, before=DYNAMODB_CALLS if dynamodb else "")
        printed = [line for line in counted.output.splitlines() if line.startswith("DYNAMODB_CALLS ")]
        calls = json.loads(printed[-1].removeprefix("DYNAMODB_CALLS ")) if printed else {}
        env |= state("profiled") | {"KAFKA_TOPIC": f"p-{uuid.uuid4().hex}"}
        _, summary = handler_process("RssProducerFunction", env, prefix=prefix)
        samples: collections.Counter[str] = collections.Counter()
        leaf: collections.Counter[str] = collections.Counter()
        for line in raw.read_text().splitlines():
            frames, _, count = line.rpartition(" ")
            samples[concern(frames.split(";"))] += int(count)
            if dump:
                leaf[";".join(frames.split(";")[-3:])] += int(count)
    if dump:
        for stack, times in leaf.most_common(40):
            print(times, stack)
    return samples, summary["result"]["produced"], calls


# Run before the handler's driver: each Python thread's own CPU (CLOCK_THREAD_CPUTIME_ID) as it ends,
# the main thread's as the process ends; what the whole process used beyond them ran on
# librdkafka's threads (or after the handler: the interpreter's exit). Also the CPU the cyclic
# garbage collector took, on whichever thread set it off (part of the threads' figures).
THREAD_CLOCK = """
import atexit, gc, json, threading, time
_ended = []
_gc = [0.0, 0.0]
def _collecting(phase, info):
    if phase == "start":
        _gc[1] = time.thread_time()
    else:
        _gc[0] += time.thread_time() - _gc[1]
gc.callbacks.append(_collecting)
_run = threading.Thread.run
def _timed(self):
    try:
        _run(self)
    finally:
        _ended.append(time.thread_time())
threading.Thread.run = _timed
@atexit.register
def _report():
    print("THREADS", json.dumps({"main": time.thread_time(), "threads": _ended, "gc": _gc[0]}))
"""


def by_thread(bootstrap: str, feeds: int, repeat: int = 3) -> dict[str, float]:
    """CPU µs an item past start-up on each kind of thread of the run (medians of ``repeat`` pairs of a
    one-feed and a ``feeds``-feed run): the main thread (fetch, parse, normalise, state, send), any
    other Python thread, and the rest (librdkafka's threads, exit); and of all that, the cyclic
    garbage collector's share."""
    with tempfile.TemporaryDirectory() as scratch, feed_hosts(FEEDS, ITEMS, HOSTS) as urls:

        def run(count: int) -> tuple[dict[str, float], int]:
            env = {"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "FEED_URLS": ",".join(urls[:count])}
            env |= {"STATE_PATH": f"{scratch}/{uuid.uuid4().hex}.sqlite", "KAFKA_TOPIC": f"t-{uuid.uuid4().hex}"}
            process, summary = handler_process("RssProducerFunction", env, before=THREAD_CLOCK)
            line = next(line for line in process.output.splitlines() if line.startswith("THREADS "))
            clocks = json.loads(line.removeprefix("THREADS "))
            split = {"main thread": clocks["main"], "Python threads": sum(clocks["threads"])}
            split["the rest: librdkafka, exit"] = process.cpu_s - sum(split.values())
            split["of all this, the garbage collector"] = clocks["gc"]
            return split, summary["result"]["produced"]

        run(1)  # writes the bytecode the measured runs load
        samples: dict[str, list[float]] = collections.defaultdict(list)
        for _ in range(repeat):
            (small, one), (large, many) = run(1), run(feeds)
            for name in large:
                samples[name].append((large[name] - small[name]) / (many - one) * 1e6)
    return {name: statistics.median(values) for name, values in samples.items()}


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def floor(bootstrap: str, repeat: int = 3) -> dict[str, float]:
    """Each stage alone, one thread, over the same 200 feeds: CPU µs an item (median of ``repeat``).
    HTTP is measured against the fixture server in its own process, so only the client's CPU counts;
    once more as the run fetches (16 at once, 100 ms a request), where the core idles between answers."""
    sys.path[:0] = [str(ROOT / "functions" / "rss_producer"), str(ROOT / "layers" / "common" / "python")]
    import rss_fetch
    import rss_items
    import rss_parse
    import urllib3
    from producer_common import Deadline, KafkaSettings, OutgoingMessage, open_producer
    from producer_common.state.sqlite import SqliteStateStore
    from rss_redirects import RedirectGuard
    from rss_transfers import Transfers

    servers = [
        subprocess.Popen(
            [*SERVER, "--synthetic-feeds", str(FEEDS), "--items", str(ITEMS), "--latency-ms", str(latency_ms)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for latency_ms in (0, 100)
    ]
    try:
        base, slow = (json.loads(server.stdout.readline())["url"] for server in servers)  # type: ignore[union-attr]
        urls = [f"{base}/feeds/synthetic/{index}.xml" for index in range(FEEDS)]
        slow_urls = [f"{slow}/feeds/synthetic/{index}.xml" for index in range(FEEDS)]
        fetcher = rss_fetch.Fetcher(Transfers("bench", per_host=16), redirects=RedirectGuard(allow_private=True))
        pool = urllib3.PoolManager(maxsize=16)
        bodies = [fetcher.fetch(url).body or b"" for url in urls]
        parsed = [rss_parse.DEFAULT(url, body, {}) for url, body in zip(urls, bodies, strict=True)]
        items = [
            item
            for url, feed in zip(urls, parsed, strict=True)
            for item in rss_items.to_items(url, feed.title, feed.entries, "2026-12-04T00:00:00Z")
        ]
        count = len(items)

        def fetch_feeds() -> None:
            for url in urls:
                fetcher.fetch(url)

        def fetch_urllib3() -> None:
            for url in urls:
                pool.request("GET", url).data  # noqa: B018

        def fetch_as_the_run() -> None:
            for done in fetcher.fetch_all(slow_urls, {}, concurrency=16):
                assert all(isinstance(fetched, rss_fetch.Fetched) for _, fetched in done)

        def parse() -> None:
            for url, body in zip(urls, bodies, strict=True):
                rss_parse.DEFAULT(url, body, {})

        def normalise() -> None:
            for url, feed in zip(urls, parsed, strict=True):
                rss_items.to_items(url, feed.title, feed.entries, "2026-12-04T00:00:00Z")

        def state() -> None:
            with tempfile.TemporaryDirectory() as scratch:
                store = SqliteStateStore(f"{scratch}/state.sqlite", 30 * 86400)
                for start in range(0, count, ITEMS):
                    store.seen([item.message["id"] for item in items[start : start + ITEMS]])
                store.mark_seen([item.message["id"] for item in items])

        def produce() -> None:
            environ = {"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "KAFKA_TOPIC": f"f-{uuid.uuid4().hex}"}
            with open_producer(KafkaSettings.from_env(environ), Deadline(fallback_s=300), environ) as producer:
                for item in items:
                    headers = {"schema": rss_items.SCHEMA, "source": item.message["feed_url"]}
                    producer.send(OutgoingMessage(item.message["id"], item.message, headers))

        stages = {
            "fetch: rss_fetch.Fetcher on libcurl, one at a time": fetch_feeds,
            "fetch: urllib3.PoolManager alone, one at a time, for comparison": fetch_urllib3,
            "fetch: rss_fetch.Fetcher.fetch_all, 16 at once, 100 ms a request (as in the run)": fetch_as_the_run,
            "parse: entity scan, feedparser-rs, rss_parse entries": parse,
            "normalise: rss_items.to_items (cleaning, identity)": normalise,
            "state: sqlite seen() a feed, one mark_seen()": state,
            "produce: producer_common send, JSON, flush, close (all threads)": produce,
        }
        costs: dict[str, float] = {}
        for name, stage in stages.items():
            samples = []
            for _ in range(repeat):
                started = cpu()
                stage()
                samples.append(cpu() - started)
            costs[name] = statistics.median(samples) / count * 1e6
        return costs
    finally:
        for server in servers:
            server.terminate()
            server.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=int, default=FEEDS)
    parser.add_argument("--stacks", action="store_true", help="also print the 40 commonest innermost stacks")
    parser.add_argument(
        "--dynamodb", action="store_true", help="the sampled profile only, with state in DynamoDB (moto's server)"
    )
    args = parser.parse_args(argv)
    with EmbeddedBroker() as broker:
        samples, items, calls = profile(broker.bootstrap, args.feeds, args.stacks, args.dynamodb)
        # the stages alone and the threads are measured on SQLite state
        stages = {} if args.dynamodb else floor(broker.bootstrap)
        threads = {} if args.dynamodb else by_thread(broker.bootstrap, args.feeds)
    total = sum(samples.values())
    print("| concern | CPU (ms) | per item (µs) | share |\n| --- | --- | --- | --- |")
    for name, count in samples.most_common():
        ms = count * 1000 / RATE
        per_item = "" if name.startswith("start-up") else f"{ms * 1000 / items:.1f}"
        print(f"| {name} | {ms:.0f} | {per_item} | {count / total:.0%} |")
    past = sum(count for name, count in samples.items() if not name.startswith("start-up")) * 1000 / RATE
    print(f"\n{items:,} items; sampled CPU past imports {past:.0f} ms, {past * 1000 / items:.1f} µs an item.\n")
    if args.dynamodb:
        print("| DynamoDB calls of the run (the same run, unsampled) | count |\n| --- | --- |")
        for name, count in sorted(calls.items()):
            print(f"| {name} | {count:,} |")
        return 0
    print("| stage alone, one thread | CPU µs an item |\n| --- | --- |")
    for name, micros in stages.items():
        print(f"| {name} | {micros:.1f} |")
    print("\n| the whole run, by thread (medians of 3) | CPU µs an item |\n| --- | --- |")
    for name, micros in threads.items():
        print(f"| {name} | {micros:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
