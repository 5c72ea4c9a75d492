"""`make start-lambda` with the project's template: boto3's Lambda client gets each handler's summary."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.support.lambda_endpoint import start_lambda
from tools.services.broker import EmbeddedBroker, read_topic
from tools.services.fixture_server import FixtureServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def endpoint(broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """start_lambda.py as `make start-lambda` runs it, pointed at the fixtures; yields (url, topic suffix)."""
    work = tmp_path_factory.mktemp("start-lambda")
    suffix = uuid.uuid4().hex[:6]
    with FixtureServer() as fixtures:
        environ = {
            **os.environ,
            **fixtures.producer_environment(),
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
            "STATE_PATH": str(work / "state.sqlite"),
        }
        overrides = f"RssTopic=rss-{suffix} PolymarketTopic=pm-{suffix}"  # template parameters, as for sam
        with start_lambda(environ, work / "logs", overrides) as url:
            yield url, suffix


def client(url: str) -> Any:
    return boto3.client(
        "lambda",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"max_attempts": 0}, read_timeout=330),
    )


def test_boto3_invoke_returns_each_handlers_summary(endpoint: tuple[str, str], broker: EmbeddedBroker) -> None:
    url, suffix = endpoint
    lambda_client = client(url)
    event = (ROOT / "events" / "schedule.json").read_bytes()
    for function, topic in (("RssProducerFunction", f"rss-{suffix}"), ("PolymarketProducerFunction", f"pm-{suffix}")):
        response = lambda_client.invoke(FunctionName=function, Payload=event, LogType="Tail")
        assert response["StatusCode"] == 200 and "FunctionError" not in response
        summary = json.loads(response["Payload"].read())
        assert summary["status"] == "ok" and summary["produced"] > 0 and summary["failed"] == 0
        assert len(read_topic(broker.bootstrap, topic)) == summary["produced"]


def test_an_event_invocation_runs_the_producer_in_the_background(
    endpoint: tuple[str, str], broker: EmbeddedBroker
) -> None:
    url, suffix = endpoint
    topic = f"pm-{suffix}"
    before = len(read_topic(broker.bootstrap, topic))
    response = client(url).invoke(FunctionName="PolymarketProducerFunction", InvocationType="Event", Payload=b"{}")
    assert response["StatusCode"] == 202
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(read_topic(broker.bootstrap, topic)) == before:
        time.sleep(0.5)
    assert len(read_topic(broker.bootstrap, topic)) > before
