"""template.yaml: linted by both linters, and shaped the way the project promises."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tools.cfn_template import load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
BIN = Path(sys.executable).parent
FUNCTIONS = ("RssProducerFunction", "PolymarketProducerFunction")


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE)


def test_cfn_lint_is_clean() -> None:
    done = subprocess.run([str(BIN / "cfn-lint"), str(TEMPLATE)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_sam_validate_lint_is_clean() -> None:
    done = subprocess.run(
        [str(BIN / "sam"), "validate", "--lint", "--template-file", str(TEMPLATE)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": str(BIN), "AWS_DEFAULT_REGION": "us-east-1", "HOME": str(Path.home())},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "is a valid SAM Template" in done.stdout + done.stderr


def test_globals_give_every_function_the_lambda_shape(template: dict[str, Any]) -> None:
    function = template["Globals"]["Function"]
    assert (function["Runtime"], function["Timeout"], function["MemorySize"]) == ("python3.12", 300, 256)
    assert function["Layers"] == [{"Ref": "KafkaDepsLayer"}, {"Ref": "CommonLayer"}]


@pytest.mark.parametrize(
    ("function", "schedule"),
    [("RssProducerFunction", "rate(15 minutes)"), ("PolymarketProducerFunction", "rate(5 minutes)")],
)
def test_each_function_runs_on_its_schedule(template: dict[str, Any], function: str, schedule: str) -> None:
    properties = template["Resources"][function]["Properties"]
    events = [event for event in properties["Events"].values() if event["Type"] == "Schedule"]
    assert len(events) == 1
    parameter = events[0]["Properties"]["Schedule"]["Ref"]
    assert template["Parameters"][parameter]["Default"] == schedule
    assert properties["Handler"] == "app.lambda_handler"


def test_everything_is_built_by_makefiles(template: dict[str, Any]) -> None:
    for name in ("KafkaDepsLayer", "CommonLayer", *FUNCTIONS):
        assert template["Resources"][name]["Metadata"]["BuildMethod"] == "makefile", name


def statements(template: dict[str, Any], function: str) -> list[dict[str, Any]]:
    found = []
    for policy in template["Resources"][function]["Properties"].get("Policies", []):
        branches = policy["Fn::If"][1:] if "Fn::If" in policy else [policy]
        for branch in branches:
            if isinstance(branch, dict) and "Statement" in branch:
                found += branch["Statement"]
    return found


@pytest.mark.parametrize("function", FUNCTIONS)
def test_policies_name_their_resources(template: dict[str, Any], function: str) -> None:
    granted = statements(template, function)
    assert granted, "expected conditional secret and MSK statements"
    for statement in granted:
        assert statement["Resource"] != "*" and "*" not in str(statement["Action"])
    secret = [s for s in granted if s["Action"] == "secretsmanager:GetSecretValue"]
    assert secret == [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": {"Ref": "KafkaSecretArn"}}
    ]


def test_every_output_is_described(template: dict[str, Any]) -> None:
    assert template["Outputs"]
    assert all(output.get("Description") for output in template["Outputs"].values())


def of_type(template: dict[str, Any], kind: str) -> dict[str, Any]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


@pytest.mark.parametrize(
    ("function", "short"), [("RssProducerFunction", "Rss"), ("PolymarketProducerFunction", "Polymarket")]
)
def test_every_failure_has_somewhere_to_go(template: dict[str, Any], function: str, short: str) -> None:
    properties = template["Resources"][function]["Properties"]
    # Lambda's asynchronous retries are bounded and end in a 14-day queue
    invoke = properties["EventInvokeConfig"]
    assert invoke["MaximumRetryAttempts"] <= 2 and invoke["MaximumEventAgeInSeconds"] <= 6 * 3600
    failure_queue = invoke["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
    assert template["Resources"][failure_queue]["Properties"]["MessageRetentionPeriod"] == 14 * 86_400
    # the schedule retries, then parks what it could not deliver in its own queue
    schedule = properties["Events"]["Schedule"]["Properties"]
    assert schedule["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    schedule_queue = schedule["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    assert schedule_queue != failure_queue and template["Resources"][schedule_queue]["Type"] == "AWS::SQS::Queue"
    # runs never overlap, and logs expire
    assert properties["ReservedConcurrentExecutions"] == 1
    log_group = template["Resources"][properties["LoggingConfig"]["LogGroup"]["Ref"]]
    assert log_group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    # alarms watch errors, failed messages and both queues, all to the alarm topic
    alarms = of_type(template, "AWS::CloudWatch::Alarm")
    watched = {
        (a["Properties"]["MetricName"], json.dumps(a["Properties"]["Dimensions"][0]["Value"]))
        for a in alarms.values()
        if a["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    }
    assert ("Errors", json.dumps({"Ref": function})) in watched
    for queue in (failure_queue, schedule_queue):
        assert ("ApproximateNumberOfMessagesVisible", json.dumps({"Fn::GetAtt": [queue, "QueueName"]})) in watched
    assert any(metric == "MessagesFailed" for metric, _ in watched)


def test_the_state_table_is_encrypted_expiring_and_recoverable(template: dict[str, Any]) -> None:
    table = template["Resources"]["StateTable"]["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["SSESpecification"]["SSEEnabled"] is True
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_table_and_secret_access_name_exactly_one_resource(template: dict[str, Any]) -> None:
    rss = statements(template, "RssProducerFunction")
    table = [s for s in rss if any(str(a).startswith("dynamodb:") for a in s["Action"])]
    assert table == [
        {
            "Effect": "Allow",
            "Action": ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"],
            "Resource": {"Fn::GetAtt": ["StateTable", "Arn"]},
        }
    ]
    assert not any("dynamodb" in str(s["Action"]) for s in statements(template, "PolymarketProducerFunction"))


def test_msk_permissions_exist_only_under_the_msk_iam_condition(template: dict[str, Any]) -> None:
    for function in FUNCTIONS:
        for policy in template["Resources"][function]["Properties"]["Policies"]:
            if "kafka-cluster" in json.dumps(policy):
                assert policy["Fn::If"][0] == "UseMskIam" and policy["Fn::If"][2] == {"Ref": "AWS::NoValue"}
