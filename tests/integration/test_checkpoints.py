"""A run killed mid-way re-sends at most what was in flight (issue 22, Checkpoints).

The RSS function runs through tools/local/invoke.py on the recorded feeds plus one feed that does not
answer; once the broker holds every good item (and a checkpoint has passed), the handler's process
(the runtime client invoke.py started, in its own process group) is killed with SIGKILL, as Lambda
ends a function out of memory or time, and invoke.py with it. The next run, on
the same state, must send none of the delivered items again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.http import QuietHandler
from tools.local.invocation import EVENT, command, run
from tools.services.broker import EmbeddedBroker, read_topic
from tools.services.fixture_server import FixtureServer
from tools.services.http_serving import answer, serving

ROOT = Path(__file__).resolve().parents[2]
GOOD_ITEMS = 70  # the entries of tests/fixtures/feeds, each a different item (README there)
LATE_FEED = (  # RSS 2.0, two items: what the stalled feed answers once it answers at all
    b'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>late</title>'
    b"<item><title>one</title><guid>late-1</guid></item><item><title>two</title><guid>late-2</guid></item>"
    b"</channel></rss>"
)


class Stalling(QuietHandler):
    """Holds each request until ``answering`` is set (at most 60 s), then serves LATE_FEED."""

    answering = threading.Event()

    def do_GET(self) -> None:
        self.answering.wait(60)
        answer(self, 200, LATE_FEED, "application/rss+xml")


@pytest.fixture
def stalling() -> Iterator[str]:
    Stalling.answering.clear()
    with serving(Stalling) as url:
        yield f"{url}/late.xml"
        Stalling.answering.set()


def children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def kill_handler(invoke: subprocess.Popen[bytes]) -> None:
    """SIGKILL to the runtime client's process group (the handler), then to invoke.py's."""
    for child in children(invoke.pid):
        os.killpg(child, signal.SIGKILL)
    os.killpg(invoke.pid, signal.SIGKILL)
    invoke.wait(10)


def wait_for(bootstrap: str, topic: str, count: int, timeout_s: float = 60) -> None:
    end = time.monotonic() + timeout_s
    while len(read_topic(bootstrap, topic, timeout_s=2)) < count:
        assert time.monotonic() < end, f"fewer than {count} messages in {topic} after {timeout_s} s"
        time.sleep(0.2)


def test_a_run_killed_mid_way_re_sends_nothing_it_delivered(
    broker: EmbeddedBroker, stalling: str, tmp_path: Path
) -> None:
    # Given the recorded feeds and one feed that does not answer yet
    topic = f"killed-{uuid.uuid4().hex[:8]}"
    with FixtureServer() as good:
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
            "KAFKA_TOPIC": topic,
            "STATE_PATH": str(tmp_path / "state.sqlite"),
            "FETCH_TIMEOUT_S": "60",
            "FEED_URLS": ",".join([*good.feed_urls(), stalling]),
        }
        # When a run is killed (SIGKILL, its whole process group) once the broker holds every good
        # item and a checkpoint has had time to pass, while it still waits for the stalled feed
        killed = subprocess.Popen(
            command("RssProducerFunction", event_file=EVENT),
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            wait_for(broker.bootstrap, topic, GOOD_ITEMS)
            time.sleep(1.5)  # three checkpoint periods (rss_run.CHECKPOINT_S)
            assert killed.poll() is None, "the run ended before it was killed"
        finally:
            kill_handler(killed)
        # and the next run follows on the same state, the stalled feed answering now
        Stalling.answering.set()
        done = run("RssProducerFunction", env, timeout_s=120)
    # Then the next run sent only the stalled feed's two items: nothing delivered before came again
    assert done.exit_code == 0, done.log_text[-3000:]
    summary = done.value
    messages = read_topic(broker.bootstrap, topic)
    assert summary["produced"] == 2, json.dumps(summary)
    assert len(messages) == GOOD_ITEMS + 2 and len({m["key"] for m in messages}) == GOOD_ITEMS + 2
