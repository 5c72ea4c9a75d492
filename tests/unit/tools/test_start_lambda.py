"""tools/local/start_lambda.py answered by boto3's own Lambda client, over the invoke tests' template."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tools.local.start_lambda import LambdaServer, build_server

DATA = Path(__file__).parent / "data"
CLEAN = {k: v for k, v in os.environ.items() if k not in ("AWS_REGION", "AWS_DEFAULT_REGION", "GREETING", "SHARED")}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LambdaServer]:
    logs = tmp_path_factory.mktemp("logs")
    running = build_server(
        "127.0.0.1", 0, DATA / "template.yaml", log_dir=logs, environ={**CLEAN, "SHARED": "from-caller"}
    )
    thread = threading.Thread(target=running.serve_forever, daemon=True)
    thread.start()
    yield running
    running.shutdown()
    running.close()


@pytest.fixture(scope="module")
def client(server: LambdaServer) -> Any:
    return boto3.client(
        "lambda",
        endpoint_url=f"http://127.0.0.1:{server.server_address[1]}",
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"max_attempts": 0}, read_timeout=60),
    )


def test_a_synchronous_invoke_returns_the_handlers_result(client: Any) -> None:
    response = client.invoke(FunctionName="EchoFunction", Payload=json.dumps({"detail": {"n": 1}}))
    assert response["StatusCode"] == 200 and "FunctionError" not in response
    assert response["ExecutedVersion"] == "$LATEST"
    result = json.loads(response["Payload"].read())
    assert result["event"] == {"detail": {"n": 1}}
    # run as `make invoke` runs it: the template's environment, the server's own environment on top
    assert result["env"]["GREETING"] == "hello" and result["env"]["SHARED"] == "from-caller"
    assert result["context"]["aws_request_id"] == response["ResponseMetadata"]["RequestId"]


def test_an_arn_and_an_empty_payload_are_accepted_and_tail_returns_the_last_4_kb_of_the_logs(client: Any) -> None:
    arn = "arn:aws:lambda:us-east-1:123456789012:function:EchoFunction"
    response = client.invoke(FunctionName=arn, Qualifier="$LATEST", LogType="Tail")
    assert json.loads(response["Payload"].read())["event"] == {}
    logs = base64.b64decode(response["LogResult"])  # base64-encoded
    assert len(logs) <= 4096
    assert b"a Powertools record" in logs and b"REPORT RequestId: " + response["ResponseMetadata"]["RequestId"].encode()
    assert "LogResult" not in client.invoke(FunctionName="EchoFunction")


def test_a_handler_error_is_a_function_error_with_lambdas_error_body(client: Any) -> None:
    response = client.invoke(FunctionName="FailingFunction")
    assert response["StatusCode"] == 200 and response["FunctionError"] == "Unhandled"
    error = json.loads(response["Payload"].read())
    assert error["errorType"] == "ValueError" and error["errorMessage"] == "bad input"


def test_an_unknown_function_is_resource_not_found_and_a_payload_not_json_invalid_content(client: Any) -> None:
    with pytest.raises(client.exceptions.ResourceNotFoundException, match="Function not found: arn:aws:lambda:"):
        client.invoke(FunctionName="NoSuchFunction")
    with pytest.raises(client.exceptions.ResourceNotFoundException, match="EchoFunction:7"):
        client.invoke(FunctionName="EchoFunction", Qualifier="7")
    with pytest.raises(client.exceptions.InvalidRequestContentException, match="Could not parse request body"):
        client.invoke(FunctionName="EchoFunction", Payload=b"{not json")


def test_an_event_invocation_is_accepted_at_once_and_runs_in_the_background(client: Any, server: LambdaServer) -> None:
    log = server.functions["DecimalFunction"]._log_path
    before = log.read_bytes().count(b"RESULT ") if log.exists() else 0
    response = client.invoke(FunctionName="DecimalFunction", InvocationType="Event", Payload=b"{}")
    assert response["StatusCode"] == 202 and response["Payload"].read() == b""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (log.read_bytes().count(b"RESULT ") if log.exists() else 0) == before:
        time.sleep(0.1)
    assert log.read_bytes().count(b"RESULT ") == before + 1
    assert log.read_bytes().rstrip().endswith(b'RESULT {"price": 0.25}')
    assert client.invoke(FunctionName="DecimalFunction", InvocationType="DryRun")["StatusCode"] == 204


def test_invocations_of_one_function_run_one_at_a_time(client: Any) -> None:
    # Given SlowFunction, stopped by its 1 s Timeout
    started = time.monotonic()
    with ThreadPoolExecutor(2) as pool:
        responses = list(pool.map(lambda _: client.invoke(FunctionName="SlowFunction"), range(2)))
    # Then both time out as Lambda reports it, and the second waited for the first
    assert time.monotonic() - started >= 2.0
    for response in responses:
        assert response["FunctionError"] == "Unhandled"
        assert json.loads(response["Payload"].read())["errorType"] == "Sandbox.Timedout"
