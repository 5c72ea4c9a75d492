"""events/*.json: the scheduled event EventBridge sends, with the documented per-run overrides in `detail`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
SAM = Path(sys.executable).parent / "sam"


def load(name: str) -> dict[str, Any]:
    event = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    assert isinstance(event, dict)
    return event


@pytest.fixture(scope="module")
def generated() -> dict[str, Any]:
    """What `sam local generate-event cloudwatch scheduled-event` prints (offline)."""
    if not SAM.exists():
        pytest.skip(f"no sam executable at {SAM}")
    done = subprocess.run(
        [str(SAM), "local", "generate-event", "cloudwatch", "scheduled-event"],
        capture_output=True,
        text=True,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    event = json.loads(done.stdout)
    assert isinstance(event, dict)
    return event


def test_the_schedule_event_is_the_one_sam_generates(generated: dict[str, Any]) -> None:
    assert load("schedule.json") == {**generated, "detail": {}}


@pytest.mark.parametrize("name", ["rss_override.json", "polymarket_override.json"])
def test_overrides_change_only_the_detail(generated: dict[str, Any], name: str) -> None:
    assert {**load(name), "detail": {}} == {**generated, "detail": {}}


def test_the_rss_override_names_feeds_and_a_shard() -> None:
    detail = load("rss_override.json")["detail"]
    assert set(detail) == {"feeds", "shard"}
    assert detail["feeds"] and all(url.startswith("https://") for url in detail["feeds"])
    assert set(detail["shard"]) == {"index", "count"} and 0 <= detail["shard"]["index"] < detail["shard"]["count"]


def test_the_polymarket_override_names_slugs_and_a_market_limit() -> None:
    detail = load("polymarket_override.json")["detail"]
    assert set(detail) == {"slugs", "max_markets"}
    assert detail["slugs"] and all(isinstance(slug, str) and slug for slug in detail["slugs"])
    assert isinstance(detail["max_markets"], int) and detail["max_markets"] == 10
