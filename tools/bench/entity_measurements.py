"""What each parser does with entity declarations, alone and behind ``rss_entities``.

    .venv/bin/python -m tools.bench.entity_measurements

Each document is parsed in a fresh process (so peak memory is its own) by feedparser and by
feedparser-rs as they are, and by the producer's parser (``rss_parse.FeedParser``, which reads the
declarations first). One line each: wall time, peak RSS (``ru_maxrss``) and what came out.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "tests" / "unit" / "rss_producer" / "cases"
DOCUMENTS = [
    "internal_entity.xml",
    "external_entity_system.xml",
    "external_entity_public.xml",
    "parameter_entity.xml",
    "entity_bomb_deep.xml",
    "entity_bomb_wide.xml",
]
PARSERS = ("feedparser", "feedparser-rs", "producer")

_CHILD = """
import json, resource, sys, time
sys.path[:0] = [sys.argv[3] + "/functions/rss_producer", sys.argv[3] + "/layers/common/python"]
body, parser = open(sys.argv[1], "rb").read(), sys.argv[2]
import feedparser, feedparser_rs, rss_parse
warm_up = b"<rss version='2.0'><channel><title>w</title></channel></rss>"
rss_parse.FeedParser()("https://feeds.test/feed.xml", warm_up, {})
started = time.perf_counter()  # imports and first use done: time and memory are the document's
try:
    if parser == "feedparser":
        d = feedparser.parse(body, response_headers={"content-type": "application/xml"}, sanitize_html=False)
        bozo = str(d.get("bozo_exception") or "")[:70] if d.get("bozo") else None
        titles = [e.get("title") or "" for e in d.entries]
    elif parser == "feedparser-rs":
        d = feedparser_rs.parse(body, sanitize_html=False)
        bozo = str(d.get("bozo_exception") or "")[:70] if d.bozo else None
        titles = [e.get("title") or "" for e in d.entries]
    else:
        feed = rss_parse.FeedParser()("https://feeds.test/feed.xml", body, {})
        bozo, titles = feed.warning, [e.get("title") or "" for e in feed.entries]
    outcome = {"bozo": bozo, "longest_title": max(map(len, titles), default=0), "first_title": (titles or [""])[0][:30]}
except Exception as error:
    outcome = {"error": f"{type(error).__name__}: {error}"[:90]}
outcome["ms"] = round((time.perf_counter() - started) * 1000, 1)
outcome["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
print(json.dumps(outcome))
"""


def measure(document: str, parser: str) -> dict[str, object]:
    command = [sys.executable, "-c", _CHILD, str(CASES / document), parser, str(ROOT)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    return json.loads(done.stdout) if done.returncode == 0 else {"error": done.stderr.strip()[-200:]}


def main() -> None:
    import pyexpat

    print(f"Python {sys.version.split()[0]}, {pyexpat.EXPAT_VERSION}")
    for document in DOCUMENTS:
        size = (CASES / document).stat().st_size
        for parser in PARSERS:
            print(f"{document} ({size} bytes) {parser}: {json.dumps(measure(document, parser), ensure_ascii=False)}")


if __name__ == "__main__":
    main()
