"""A function's handler loaded in this process as a cold start loads it, the events it is called
with, and the Lambda context: what the tests and the benchmarks call a handler with, in process."""

from __future__ import annotations

import importlib.util
import json
import sys
import time
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "functions"
EVENTS = ROOT / "events"
COMMON_LAYER = ROOT / "layers" / "common" / "python"


def load_handler(function: str) -> ModuleType:
    """A fresh import of functions/<function>/app.py under a unique module name (settings and
    sessions as on a cold start), its directory on the path as Lambda puts it."""
    directory = FUNCTIONS / function
    for path in (COMMON_LAYER, directory):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    spec = importlib.util.spec_from_file_location(f"{function}_app_{uuid.uuid4().hex[:8]}", directory / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_event(name: str = "schedule.json") -> dict[str, Any]:
    """events/<name>."""
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return event


class LambdaContext:
    """The attributes Powertools and the handlers read, with a real countdown from the template's 300 s."""

    def __init__(self, timeout_s: float = 300.0, function_name: str = "local-function") -> None:
        self._end = time.monotonic() + timeout_s
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 256
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._end - time.monotonic()) * 1000))
