"""Where an RSS run's CPU goes, item by item: `python -m tools.bench_profile` (issue 26).

Runs the RSS handler once, as `make bench ONLY=B` does (a fresh interpreter, 200 feeds x 30 items
on 20 loopback hosts, 100 ms a request, fresh state, the embedded broker), under py-spy sampling
the stack of the thread holding the GIL 1,000 times a second (librdkafka's own threads are not seen),
then files each sample under the first concern its stack shows, from the innermost frame out,
and prints the CPU of each concern per item. Imports (start-up) are counted apart.
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

from tools.bench_cpu import FEEDS, HOSTS, ITEMS, feed_hosts, handler_process
from tools.broker import EmbeddedBroker

RATE = 1000
# (concern, pattern over one frame "function (file:line)"). The project's own functions are looked
# for first, innermost out (so json.dumps inside content_key counts as identity); then libraries.
OWN = [
    ("start-up: imports", re.compile(r"^(<module>|_find_and_load|_call_with_frames_removed) ")),
    (
        "field cleaning (clean_text, resolve_link, tags, dates)",
        re.compile(r"^(clean_text|resolve_link|clean_tags|published_at)\b"),
    ),
    ("identity and hashing (rss_items ids, rss_seen)", re.compile(r"\(rss_items\.py|\(rss_seen\.py")),
    ("JSON encoding of values (producer_common.serialization)", re.compile(r"producer_common/serialization\.py")),
    ("producer (producer_common, confluent-kafka)", re.compile(r"producer_common/(producer|backends)")),
    ("state reads and writes (sqlite)", re.compile(r"producer_common/state")),
    ("entity scan (rss_entities)", re.compile(r"\(rss_entities\.py")),
    ("parse (feedparser-rs, rss_parse)", re.compile(r"\(rss_parse\.py")),
    (
        "HTTP: rss_fetch, requests, urllib3, http.client, sockets",
        re.compile(r"\(rss_fetch\.py|\(rss_redirects\.py|producer_common/http"),
    ),
    ("threads and the run loop (rss_run, concurrent.futures)", re.compile(r"\(rss_run\.py")),
]
LIBRARIES = [
    (
        "HTTP: rss_fetch, requests, urllib3, http.client, sockets",
        re.compile(r"requests/|urllib3/|http/client|socket\.py"),
    ),
    ("threads and the run loop (rss_run, concurrent.futures)", re.compile(r"concurrent/|threading\.py|queue\.py")),
    ("logging and metrics (Powertools)", re.compile(r"logging/|aws_lambda_powertools")),
]


def concern(stack: list[str]) -> str:
    for patterns in (OWN, LIBRARIES):
        for frame in reversed(stack):
            for name, pattern in patterns:
                if pattern.search(frame):
                    return name
    return "other (interpreter, dataclasses, environment ...)"


def profile(bootstrap: str, feeds: int, dump: bool = False) -> tuple[collections.Counter[str], int]:
    """Samples by concern of one run over ``feeds`` feeds, and the items it produced."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    with tempfile.TemporaryDirectory() as scratch, feed_hosts(FEEDS, ITEMS, HOSTS) as urls:
        raw = Path(scratch) / "profile.txt"
        env = {"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "FEED_URLS": ",".join(urls[:feeds])}
        env |= {"STATE_PATH": f"{scratch}/state.sqlite", "KAFKA_TOPIC": f"p-{uuid.uuid4().hex}"}
        # --gil: only the thread holding the GIL, i.e. running Python; --nonblocking: never pause it
        prefix = (spy, "record", "--format", "raw", "--rate", str(RATE), "--gil", "--nonblocking", "-o", str(raw), "--")
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
    return samples, summary["result"]["produced"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=int, default=FEEDS)
    parser.add_argument("--stacks", action="store_true", help="also print the 40 commonest innermost stacks")
    args = parser.parse_args(argv)
    with EmbeddedBroker() as broker:
        samples, items = profile(broker.bootstrap, args.feeds, args.stacks)
    total = sum(samples.values())
    print("| concern | CPU (ms) | per item (µs) | share |\n| --- | --- | --- | --- |")
    for name, count in samples.most_common():
        ms = count * 1000 / RATE
        per_item = "" if name.startswith("start-up") else f"{ms * 1000 / items:.1f}"
        print(f"| {name} | {ms:.0f} | {per_item} | {count / total:.0%} |")
    past = sum(count for name, count in samples.items() if not name.startswith("start-up")) * 1000 / RATE
    print(f"\n{items:,} items; sampled CPU past imports {past:.0f} ms, {past * 1000 / items:.1f} µs an item.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
