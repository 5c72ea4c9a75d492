"""10,000 feeds on 50 loopback hosts (127.0.0.2 to 127.0.0.51), listed in an OPML file, run as 4
shards through `make invoke` (a cold container each, with the template's 256 MB): every item produced
once across the shards, no feed fetched by two shards, no host ever seeing more than FETCH_PER_HOST
requests at once (counted by the hosts), and each shard within its memory.

The shards run one after another, so what a host counts is one invocation's politeness (shards run
at once in AWS, each polite on its own; see the README's "More feeds than one invocation handles").
Small feeds (2 items) keep it quick: the cost per feed is `make bench`'s business (group L)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid
from pathlib import Path

from tools.services.broker import EmbeddedBroker, read_topic
from tools.services.feed_hosts import FeedHosts

ROOT = Path(__file__).resolve().parents[2]
FEEDS, HOSTS, ITEMS, SHARDS, PER_HOST = 10_000, 50, 2, 4, 2


def make_invoke(event: Path, env: dict[str, str]) -> tuple[dict[str, object], float]:
    """One shard through `make invoke`: its summary and its Max Memory Used (MB)."""
    done = subprocess.run(
        ["make", "--no-print-directory", "invoke", "FUNCTION=RssProducerFunction", f"EVENT={event}"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    memory = re.search(r"Max Memory Used: (\d+) MB", done.stderr)
    assert memory, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), float(memory.group(1))


def test_10000_feeds_from_an_opml_list_over_shards(broker: EmbeddedBroker, tmp_path: Path) -> None:
    topic = f"list-scale-{uuid.uuid4().hex[:6]}"
    with FeedHosts(hosts=HOSTS, feeds=FEEDS, items=ITEMS, latency_ms=5) as hosts:
        # Given the feeds exported as OPML
        opml = hosts.write_opml(tmp_path / "feeds.opml")
        summaries, memory = [], []
        for index in range(SHARDS):
            event = tmp_path / f"shard-{index}.json"
            event.write_text(json.dumps({"detail": {"shard": {"index": index, "count": SHARDS}}}))
            # When each shard is invoked with FEED_LIST_URI naming the file
            summary, used_mb = make_invoke(
                event,
                {
                    "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
                    "KAFKA_TOPIC": topic,
                    "FEED_LIST_URI": opml.as_uri(),
                    "FETCH_PER_HOST": str(PER_HOST),
                    "STATE_PATH": str(tmp_path / f"state-{index}.sqlite"),
                    "LOG_LEVEL": "WARNING",
                },
            )
            summaries.append(summary)
            memory.append(used_mb)
    # Then every shard delivered its share in full
    assert [s["status"] for s in summaries] == ["ok"] * SHARDS, summaries
    assert sum(int(s["produced"]) for s in summaries) == FEEDS * ITEMS  # type: ignore[call-overload]
    # and no feed was fetched twice, by one shard or two; every feed was fetched
    assert len(hosts.requests) == FEEDS and set(hosts.requests.values()) == {1}
    shares = [{source["source"] for source in s["sources"]} for s in summaries]  # type: ignore[attr-defined]
    assert sum(map(len, shares)) == FEEDS and set().union(*shares) == set(hosts.urls)
    # and no host ever had more than FETCH_PER_HOST requests in flight (and the limit was reached)
    assert max(hosts.peak_in_flight.values()) == PER_HOST and len(hosts.peak_in_flight) == HOSTS
    # and each shard stayed within the template's 256 MB
    assert max(memory) < 256, memory
    # and every item is on the topic exactly once
    ids = [message["value"]["id"] for message in read_topic(broker.bootstrap, topic, timeout_s=60)]
    assert len(ids) == FEEDS * ITEMS and len(set(ids)) == FEEDS * ITEMS
    print(f"shards' Max Memory Used (MB): {memory}")
