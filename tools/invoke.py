"""Docker-free stand-in for `sam local invoke`.

    python tools/invoke.py <LogicalId> [--event FILE|-] [--env-vars FILE] [--template template.yaml]

Reads the template, applies the function's environment (template default < env-vars file <
caller's environment), puts the code directory and the layers' python/ directories on the path,
runs the handler in a child process with a Lambda-like context, ends it at the template's
Timeout or MemorySize, and prints the return value as one JSON line, last on stdout. Everything
else (the handler's logs included) goes to stderr. Exit status 0 on success, 1 when the handler
raised, 2 on a timeout or memory overrun or a bad call.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `tools` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools.cfn_template import FunctionConfig, TemplateError, effective_environment, function_config, load_template

INIT_ALLOWANCE_S = 10.0  # Lambda's init phase has its own 10 s limit
POLL_S = 0.05


def lambda_environment(config: FunctionConfig, request_id: str) -> dict[str, str]:
    name = config.logical_id
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return {
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(int(config.timeout_s)),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": f"local/{request_id}",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{config.runtime}",
        "LAMBDA_TASK_ROOT": str(config.code_dir),
        "_HANDLER": config.handler,
    }


def peak_rss_mb(pid: int) -> float:
    """VmHWM, the resident high-water mark, from /proc; 0 when unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def error_payload(message: str, error_type: str) -> dict[str, Any]:
    return {"errorMessage": message, "errorType": error_type, "stackTrace": []}


def run(config: FunctionConfig, event: Any, environment: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """Runs the handler in a child; returns the exit status and what to print on stdout."""
    request_id = str(uuid.uuid4())
    read_fd, write_fd = os.pipe()
    spec = {
        "config": {
            "handler": config.handler,
            "code_dir": str(config.code_dir),
            "layer_dirs": [str(p) for p in config.layer_dirs],
            "timeout_s": config.timeout_s,
            "memory_mb": config.memory_mb,
            "name": config.logical_id,
        },
        "event": event,
        "request_id": request_id,
        "result_fd": write_fd,
    }
    child = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("invoke_child.py"))],
        stdin=subprocess.PIPE,
        stdout=sys.stderr,
        stderr=sys.stderr,
        env={**environment, **lambda_environment(config, request_id)},
        pass_fds=(write_fd,),
        cwd=config.code_dir,
        start_new_session=True,
    )
    os.close(write_fd)
    assert child.stdin is not None
    child.stdin.write(json.dumps(spec).encode())
    child.stdin.close()
    started = time.monotonic()
    limit = config.timeout_s + INIT_ALLOWANCE_S
    peak, verdict = 0.0, None
    while child.poll() is None:
        peak = max(peak, peak_rss_mb(child.pid))
        if peak > config.memory_mb:
            verdict = error_payload(
                f"Runtime exited: memory {peak:.0f} MB over MemorySize {config.memory_mb} MB", "Runtime.OutOfMemory"
            )
        elif time.monotonic() - started > limit:
            verdict = error_payload(f"Task timed out after {config.timeout_s:.2f} seconds", "Sandbox.Timedout")
        if verdict:
            os.killpg(child.pid, 9)
            child.wait()
            break
        time.sleep(POLL_S)
    with os.fdopen(read_fd, "rb") as pipe:
        raw = pipe.read()
    duration_ms = (time.monotonic() - started) * 1000
    outcome = json.loads(raw) if raw else {}
    peak = max(peak, outcome.get("max_rss_mb", 0.0))
    print(
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\tMemory Size: {config.memory_mb} MB\t"
        f"Max Memory Used: {peak:.0f} MB",
        file=sys.stderr,
    )
    if verdict is None and peak > config.memory_mb:
        verdict = error_payload(
            f"Runtime exited: memory {peak:.0f} MB over MemorySize {config.memory_mb} MB", "Runtime.OutOfMemory"
        )
    if verdict is not None:
        print(verdict["errorMessage"], file=sys.stderr)
        return 2, verdict
    if "result" in outcome:
        return 0, outcome["result"]
    if "error" in outcome:
        return (2 if outcome["error"]["errorType"] == "Sandbox.Timedout" else 1), outcome["error"]
    return 1, error_payload(f"Runtime exited with status {child.returncode} without a result", "Runtime.ExitError")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("function", help="logical id of an AWS::Serverless::Function")
    parser.add_argument("--event", "-e", default=None, help="event JSON file, or - for stdin (default {})")
    parser.add_argument("--env-vars", "-n", default=None, help="SAM env-vars JSON file")
    parser.add_argument("--template", "-t", default="template.yaml")
    args = parser.parse_args(argv)
    try:
        template_path = Path(args.template).resolve()
        env_vars = json.loads(Path(args.env_vars).read_text()) if args.env_vars else None
        config = function_config(
            load_template(template_path), args.function, template_path.parent, (env_vars or {}).get("Parameters")
        )
        if args.event == "-":
            event = json.load(sys.stdin)
        else:
            event = json.loads(Path(args.event).read_text()) if args.event else {}
    except (OSError, ValueError, TemplateError) as error:
        print(f"invoke: {error}", file=sys.stderr)
        return 2
    for layer in config.skipped_layers:
        print(f"invoke: layer {layer} is not built from this template; its code is not on the path", file=sys.stderr)
    environment = {**os.environ, **effective_environment(config.environment, config.logical_id, env_vars, os.environ)}
    status, payload = run(config, event, environment)
    sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    return status


if __name__ == "__main__":
    sys.exit(main())
