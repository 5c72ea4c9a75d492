"""Max Memory Used of one RSS run at each list size, measured rather than extrapolated.

    python -m tools.bench.memory 1000 3000 6000 10000

Each size is one run of RssProducerFunction through ``make invoke``'s runner (a fresh interpreter,
peak RSS as Lambda's Max Memory Used) with fresh state, over the benchmark's synthetic feeds of 30
items on the local fixture server (100 ms a request), against the embedded broker: the first run
of a list, when every item is new and a run holds the most. The S rows of ``make bench`` estimate
the same from a 200- and a 1,000-feed run.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from tools.bench.measure import invoke
from tools.bench.suite import RSS_CONCURRENCY
from tools.services.broker import EmbeddedBroker
from tools.services.fixture_server import FixtureServer

MEMORY_MB = 256  # the template's MemorySize


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("feeds", type=int, nargs="+", help="list sizes, in feeds of 30 items")
    args = parser.parse_args(argv)
    print("| feeds | items sent | wall | CPU | Max Memory Used | of 256 MB |")
    print("| --- | --- | --- | --- | --- | --- |")
    with (
        EmbeddedBroker() as broker,
        FixtureServer(latency_ms=100, synthetic_feeds=max(args.feeds), items=30) as server,
        tempfile.TemporaryDirectory() as scratch,
    ):
        urls = server.synthetic_feed_urls()
        for count in args.feeds:
            feed_list = Path(scratch, f"{count}.txt")  # too many URLs for FEED_URLS in an environment
            feed_list.write_text("\n".join(urls[:count]) + "\n")
            env = {"FEED_LIST_URI": feed_list.as_uri(), "STATE_PATH": f"{scratch}/{count}.sqlite"}
            env |= {"KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "FETCH_PER_HOST": str(RSS_CONCURRENCY)}
            wall, cpu, memory_mb, summary = invoke("RssProducerFunction", env)
            print(
                f"| {count:,} | {summary['produced']:,} | {wall:.1f} s | {cpu:.2f} s | {memory_mb:.0f} MB"
                f" | {memory_mb / MEMORY_MB:.0%} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
