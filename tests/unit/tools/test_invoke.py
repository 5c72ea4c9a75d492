"""tools/invoke.py as users run it: a subprocess, the result last on stdout, logs on stderr."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).parent / "data"
INVOKE = Path(__file__).resolve().parents[3] / "tools" / "invoke.py"


def invoke(function: str, *args: str, env: dict[str, str] | None = None, stdin: str | None = None):  # type: ignore[no-untyped-def]
    import os

    return subprocess.run(
        [sys.executable, str(INVOKE), function, "--template", str(DATA / "template.yaml"), *args],
        capture_output=True,
        text=True,
        input=stdin,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


def test_result_is_the_last_stdout_line_and_logs_go_to_stderr(tmp_path: Path) -> None:
    # Given an event file
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"detail": {"n": 1}}))
    # When the echo function is invoked
    done = invoke("EchoFunction", "--event", str(event))
    # Then stdout holds exactly one line, the JSON result, and the handler's prints are on stderr
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["event"] == {"detail": {"n": 1}}
    assert "a log line on stdout" in done.stderr and "a C library writing to fd 1" in done.stderr
    assert "REPORT RequestId:" in done.stderr and "Max Memory Used:" in done.stderr
    # the code directory comes first on the path, the layer is importable, the context counts down
    assert result["path0"] == str(DATA / "fn") and result["layer"] == "shared-layer"
    first, second = result["remaining"]
    assert 1000 < first <= 2000 and first - second >= 150
    assert result["memory"] == 256 and result["env"]["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"


def test_environment_precedence_end_to_end() -> None:
    # Given the env-vars file sets GREETING and EXTRA, and the caller sets SHARED
    done = invoke(
        "EchoFunction",
        "--env-vars",
        str(DATA / "env.json"),
        "--event",
        "-",
        stdin="{}",
        env={"SHARED": "from-caller", "EXTRA": ""},
    )
    env = json.loads(done.stdout.splitlines()[-1])["env"]
    # Then the file beats the template, the caller beats both, undeclared file values are ignored
    assert env["GREETING"] == "from-file"
    assert env["SHARED"] == "from-caller"
    assert env["EXTRA"] == ""


def test_an_exception_gives_lambda_error_json_and_a_non_zero_exit() -> None:
    done = invoke("FailingFunction")
    assert done.returncode == 1
    error = json.loads(done.stdout.splitlines()[-1])
    assert error["errorType"] == "ValueError" and error["errorMessage"] == "bad input"
    assert "Traceback" in done.stderr


def test_the_run_is_stopped_at_the_timeout() -> None:
    started = time.monotonic()
    done = invoke("SlowFunction")
    elapsed = time.monotonic() - started
    assert done.returncode == 2
    assert json.loads(done.stdout.splitlines()[-1])["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in done.stderr
    assert elapsed < 5


def test_memory_over_the_limit_ends_the_run() -> None:
    done = invoke("HungryFunction")
    assert done.returncode == 2
    assert json.loads(done.stdout.splitlines()[-1])["errorType"] == "Runtime.OutOfMemory"


def test_an_unknown_function_is_a_clear_error() -> None:
    done = invoke("NoSuchFunction")
    assert done.returncode == 2 and "EchoFunction" in done.stderr
