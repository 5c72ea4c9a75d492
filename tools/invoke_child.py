"""The child side of tools/invoke.py: one Lambda invocation in a fresh interpreter.

Reads its instructions as JSON on stdin, and writes {"result": ...} or {"error": ...} (plus the
peak memory) to the file descriptor it is given. Its stdout is already the parent's stderr.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import sys
import threading
import time
import traceback
from typing import Any


class LambdaContext:
    """The attributes of Lambda's context object, with a real countdown."""

    def __init__(self, name: str, memory_mb: int, timeout_s: float, request_id: str) -> None:
        region = os.environ.get("AWS_REGION", "us-east-1")
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:123456789012:function:{name}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = f"local/{request_id}"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _write(fd: int, outcome: dict[str, Any]) -> None:
    outcome["max_rss_mb"] = _max_rss_mb()
    with os.fdopen(fd, "w") as pipe:
        pipe.write(json.dumps(outcome, ensure_ascii=False, default=str))


def main() -> None:
    spec = json.loads(sys.stdin.read())
    config, fd = spec["config"], spec["result_fd"]
    # Lambda's order: the function's code (/var/task) first, then the layers (/opt/python).
    # sys.path[0] is this script's folder: replace it, so no developer tool is importable.
    sys.path[0:1] = [config["code_dir"], *config["layer_dirs"]]
    module_name, _, function_name = config["handler"].rpartition(".")
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception as error:
        _write(fd, {"error": _error(error, "Runtime.ImportModuleError")})
        return
    context = LambdaContext(config["name"], config["memory_mb"], config["timeout_s"], spec["request_id"])

    def time_out() -> None:
        message = f"Task timed out after {config['timeout_s']:.2f} seconds"
        print(message, file=sys.stderr, flush=True)
        _write(fd, {"error": {"errorMessage": message, "errorType": "Sandbox.Timedout", "stackTrace": []}})
        os._exit(2)  # like Lambda: the run is stopped where it stands

    watchdog = threading.Timer(config["timeout_s"], time_out)
    watchdog.daemon = True
    watchdog.start()
    try:
        result = handler(spec["event"], context)
        outcome: dict[str, Any] = {"result": result}
        json.dumps(result)  # Lambda refuses a result it cannot serialise
    except Exception as error:
        outcome = {"error": _error(error, type(error).__name__)}
        traceback.print_exc()
    watchdog.cancel()
    sys.stdout.flush()
    sys.stderr.flush()
    _write(fd, outcome)


def _error(error: BaseException, error_type: str) -> dict[str, Any]:
    return {
        "errorMessage": str(error),
        "errorType": error_type,
        "stackTrace": traceback.format_exception(type(error), error, error.__traceback__),
    }


if __name__ == "__main__":
    main()
