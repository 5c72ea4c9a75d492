"""template.yaml: linted by both linters, and shaped the way the project promises."""

from __future__ import annotations

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
