"""Airflow 3 DAG: run the Kafka producers on demand through Lambda's Invoke API.

One task per producer, each a LambdaInvokeFunctionOperator (apache-airflow-providers-amazon)
that sends the event EventBridge's schedule would send, with `detail` overrides taken from the
DAG run's params: a backfill of chosen feeds, or of chosen markets. A task fails when the
invocation reports a function error (the handler raised: invalid configuration, messages not
delivered) or when the summary's `status` is not `ok` (a source failed).

Configuration, all optional:
- the Airflow connection `aws_producers` (type `aws`): credentials and region for AWS; for the
  Docker-free local endpoint (`make start-lambda`), extra `{"endpoint_url": "http://127.0.0.1:3001"}`.
  Without it, boto3's default credential chain is used.
- the Airflow Variables `rss_producer_function` and `polymarket_producer_function`: the deployed
  functions' names or ARNs (default: the template's logical ids, which the local endpoint uses).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any

from airflow.providers.amazon.aws.operators.lambda_function import LambdaInvokeFunctionOperator
from airflow.sdk import DAG, Param

AWS_CONN_ID = "aws_producers"
# A synchronous invoke waits for the handler (Timeout 300 s); botocore would give up after 60 s,
# and a retry after a read timeout would run the producer twice.
BOTOCORE_CONFIG = {"read_timeout": 330, "connect_timeout": 10, "retries": {"total_max_attempts": 1}}


def scheduled_event(detail: dict[str, Any], region: str) -> dict[str, Any]:
    """The event an EventBridge schedule sends (events/schedule.json), carrying `detail`."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [],
        "detail": detail,
    }


class ProducerInvokeOperator(LambdaInvokeFunctionOperator):
    """Invokes a producer with a scheduled event and fails unless its summary says `ok`.

    `detail_params` maps a DAG param to the `detail` key it sets; a param left empty sets nothing,
    so the function's own configuration applies.
    """

    def __init__(self, *, detail_params: dict[str, str], **kwargs: Any) -> None:
        super().__init__(invocation_type="RequestResponse", log_type="Tail", **kwargs)
        self.detail_params = detail_params

    def execute(self, context: Any) -> Any:
        params = context["params"]
        detail = {key: params[name] for name, key in self.detail_params.items() if params.get(name) not in (None, [])}
        self.payload = json.dumps(scheduled_event(detail, self.hook.conn_region_name or "us-east-1"))
        summary = json.loads(super().execute(context))  # raises on a function error
        if summary.get("status") != "ok":
            failed = [s for s in summary.get("sources") or [] if s.get("status") == "error"]
            raise RuntimeError(f"{self.task_id}: status {summary.get('status')!r}; failed sources: {failed}")
        self.log.info(
            "produced %s, failed %s, duplicates %s", summary["produced"], summary["failed"], summary["duplicates"]
        )
        return summary


with DAG(
    dag_id="kafka_producers",
    description="Runs the RSS and Polymarket producers once, with optional per-run overrides",
    schedule=None,  # EventBridge schedules them in AWS; this DAG is for runs on demand and backfills
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,  # the functions' reserved concurrency is 1
    tags=["kafka", "lambda"],
    params={
        "feeds": Param([], type="array", items={"type": "string"}, description="RSS: feed URLs for this run"),
        "slugs": Param([], type="array", items={"type": "string"}, description="Polymarket: market slugs"),
        "max_markets": Param(None, type=["null", "integer"], minimum=1, description="Polymarket: markets to price"),
    },
) as dag:
    common: dict[str, Any] = {"aws_conn_id": AWS_CONN_ID, "botocore_config": BOTOCORE_CONFIG, "retries": 0}
    ProducerInvokeOperator(
        task_id="rss_producer",
        function_name="{{ var.value.get('rss_producer_function', 'RssProducerFunction') }}",
        detail_params={"feeds": "feeds"},
        **common,
    )
    ProducerInvokeOperator(
        task_id="polymarket_producer",
        function_name="{{ var.value.get('polymarket_producer_function', 'PolymarketProducerFunction') }}",
        detail_params={"slugs": "slugs", "max_markets": "max_markets"},
        **common,
    )
