"""orchestration/airflow's DAG in real Airflow 3 (dag.test()), invoking both producers through the
provider's LambdaInvokeFunctionOperator against tools/local/start_lambda.py."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tools.services.broker import read_topic

if TYPE_CHECKING:
    from tests.airflow.conftest import Stack

RUNNER = Path(__file__).with_name("run_dag.py")


def run_dag(python: Path, environ: dict[str, str], *confs: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    """One Airflow process for all the runs: its start-up is most of the cost."""
    done = subprocess.run(
        [str(python), str(RUNNER), json.dumps(list(confs))], env=environ, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-5000:]
    runs = [json.loads(line) for line in done.stdout.splitlines() if line.startswith('{"conf"')]
    return runs, done.stdout + done.stderr  # Airflow's task logs go to either


def test_both_tasks_succeed_and_a_feed_list_that_cannot_be_fetched_fails_its_task(
    airflow_python: Path, airflow_environ: dict[str, str], stack: Stack
) -> None:
    # Given the DAG, a run with no overrides, and a run whose feed list names a feed the server does not have
    missing = f"{stack.fixtures.url}/feeds/no-such-feed.xml"
    one_feed = stack.fixtures.feed_urls()[0]
    # When both runs go through Airflow
    (plain, broken), logs = run_dag(airflow_python, airflow_environ, {}, {"feeds": [one_feed, missing]})
    # Then the plain run succeeds with both tasks, and the messages are on the topics
    assert plain["state"] == "success", logs[-5000:]
    assert plain["tasks"] == {"rss_producer": "success", "polymarket_producer": "success"}
    rss, prices = read_topic(stack.bootstrap, "rss.items"), read_topic(stack.bootstrap, "polymarket.prices")
    assert len(rss) > 0 and len(prices) > 0
    assert {message["value"]["feed_url"] for message in rss} <= set(stack.fixtures.feed_urls())
    # and the run with the undeliverable feed list fails its RSS task only, saying which feed failed
    assert broken["state"] == "failed"
    assert broken["tasks"] == {"rss_producer": "failed", "polymarket_producer": "success"}
    assert "status 'partial'" in logs and "no-such-feed.xml" in logs
    # the override reached the function as the event's detail
    rss_log = (stack.lambda_logs / "RssProducerFunction.log").read_text()
    assert missing in rss_log
