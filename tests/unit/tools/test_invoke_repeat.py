"""tools/local/invoke.py --repeat: several invocations in one warm container, each reported as Lambda does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tools.local.invocation import Result, run

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  WarmFunction:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      CodeUri: fn/
      Handler: warm.handler
      Timeout: 1
      MemorySize: 256
"""
# A module global survives from one invocation to the next only in a warm container.
HANDLER = """\
import os
import time

COUNT = 0


def handler(event, context):
    global COUNT
    COUNT += 1
    if COUNT == event.get("fail_on"):
        raise ValueError(f"invocation {COUNT} fails")
    if COUNT == event.get("hang_on"):
        time.sleep(30)
    return {"count": COUNT, "pid": os.getpid(), "request_id": context.aws_request_id,
            "remaining_ms": context.get_remaining_time_in_millis()}
"""


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("warm")
    (root / "fn").mkdir()
    (root / "fn" / "warm.py").write_text(HANDLER)
    (root / "template.yaml").write_text(TEMPLATE)
    return root / "template.yaml"


def reports(done: Result) -> list[str]:
    return [line for line in done.log_text.splitlines() if line.startswith("REPORT ")]


def test_each_invocation_runs_warm_in_one_process_with_its_own_block(template: Path) -> None:
    # When the handler is invoked three times
    done = run("WarmFunction", event={}, template=template, repeat=3)
    # Then each ran in the same process, after the one before, with its own request id and full time
    assert done.exit_code == 0, done.log_text
    runs = done.values
    assert [run["count"] for run in runs] == [1, 2, 3]
    assert len({run["pid"] for run in runs}) == 1
    assert len({run["request_id"] for run in runs}) == 3
    assert all(run["remaining_ms"] > 900 for run in runs)  # each invocation gets the whole Timeout
    # and each has its START, END and REPORT lines, in order, with Init Duration on the first only
    blocks = re.findall(r"^(START|END|REPORT) RequestId: ([0-9a-f-]{36})", done.log_text, flags=re.M)
    assert blocks == [(kind, run["request_id"]) for run in runs for kind in ("START", "END", "REPORT")]
    assert ["Init Duration" in line for line in reports(done)] == [True, False, False]


def test_an_invocation_that_raises_leaves_the_container_warm(template: Path) -> None:
    # When the second of three invocations raises
    done = run("WarmFunction", event={"fail_on": 2}, template=template, repeat=3)
    # Then the exit status says so, and the third still ran in the same container
    assert done.exit_code == 1
    runs = done.values
    assert runs[1]["errorType"] == "ValueError"
    assert [runs[0]["count"], runs[2]["count"]] == [1, 3]
    assert len(reports(done)) == 3


def test_a_timeout_ends_the_container_and_the_invocations_left(template: Path) -> None:
    # When the second of three invocations runs past the Timeout
    done = run("WarmFunction", event={"hang_on": 2}, template=template, repeat=3)
    # Then it is stopped like Lambda stops it, and no third invocation runs
    assert done.exit_code == 2
    runs = done.values
    assert len(runs) == 2 and runs[0]["count"] == 1
    assert runs[1]["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in done.log_text
