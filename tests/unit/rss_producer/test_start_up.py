"""What the RSS producer's cold start loads: its fetch path is libcurl, so neither requests (~18 ms
of CPU) nor urllib3 (~38 ms on Python 3.11, ~52 on 3.12) is imported by the handler, its
collaborators or a plain fetch and parse. They load where they are needed: a redirect's target,
an S3 feed list through boto3."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.support.http import QuietHandler
from tools.local.handler import COMMON_LAYER, FUNCTIONS, ROOT
from tools.services.http_serving import answer, serving

FEED = b"<rss version='2.0'><channel><title>t</title><item><guid>1</guid><title>one</title></item></channel></rss>"
HEAVY = ("urllib3", "requests")


class Feed(QuietHandler):
    def do_GET(self) -> None:
        answer(self, 200, FEED, "application/rss+xml", {"ETag": '"1"'})


def test_a_cold_start_and_a_fetch_load_neither_requests_nor_urllib3() -> None:
    # Given the handler module imported in a fresh interpreter, as Lambda's runtime does
    code = (
        "import json, sys\n"
        "import app\n"
        "url = app.configured_feeds()[0]\n"
        "fetched = app.fetcher().fetch(url)\n"  # When it fetches and parses a feed
        "parsed = app.parser()(url, fetched.body, fetched.headers)\n"
        f"heavy = sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))\n"
        "print(json.dumps({'entries': len(parsed.entries), 'etag': fetched.validators.etag, 'heavy': heavy}))\n"
    )
    with serving(Feed) as base:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": os.pathsep.join([str(FUNCTIONS / "rss_producer"), str(COMMON_LAYER)]),
            "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
            "FEED_URLS": f"{base}/feed",
            "FEED_ALLOW_PRIVATE_ADDRESSES": "true",
            "POWERTOOLS_METRICS_NAMESPACE": "test",
        }
        out = subprocess.check_output([sys.executable, "-c", code], text=True, env=env, cwd=ROOT)

    # Then the feed was read, and neither library was loaded
    assert json.loads(out.strip().splitlines()[-1]) == {"entries": 1, "etag": '"1"', "heavy": []}
