"""Docker-free stand-in for `sam local invoke`.

    python tools/local/invoke.py <LogicalId> [--event FILE|-] [--env-vars FILE] [--template template.yaml]
                           [--parameter-overrides 'Key=Value ...'] [--repeat N]

Reads the template, applies the function's environment (template default < env-vars file <
caller's environment), puts the code directory and the layers' python/ directories on the path,
runs the handler in a child process under AWS's runtime interface client (awslambdaric, against
tools/local/lambda_runtime.py's Runtime API: Lambda's own context, errors and init phase), ends it at the
template's Timeout or MemorySize, and prints the return value as one JSON line, last on stdout. Everything
else (the handler's logs, START/END/REPORT lines) goes to stderr. Exit status: 0 on success,
1 when the handler raised (the error JSON is still the last stdout line), 2 on a timeout, a
memory overrun or a bad call. The handler runs in the caller's working directory, so relative
paths given in the environment mean what the caller means.

`--repeat N` invokes the handler N times, one after another, in the same runtime client, as a
warm Lambda container does: a START/END/REPORT block and a result line each, `Init Duration` on
the first REPORT only. The exit status is the worst of them; a timeout or memory overrun ends the
container, and the invocations left with it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import queue
import shlex
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `tools` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tools.local.cfn_template import (
    ACCOUNT_ID,
    FunctionConfig,
    TemplateError,
    default_region,
    effective_environment,
    function_config,
    load_template,
)
from tools.local.lambda_runtime import RuntimeAPI, client_command, client_environment

INIT_LIMIT_S = 10.0  # Lambda's limit on the init phase (imports), before the Timeout starts counting
POLL_S = 0.02
EXIT_OK, EXIT_RAISED, EXIT_STOPPED = 0, 1, 2


@dataclass
class Outcome:
    """How one invocation ended: the exit status, the stdout payload, and what the REPORT line needs."""

    status: int
    payload: Any
    duration_ms: float = 0.0
    init_ms: float = 0.0
    max_memory_mb: float = 0.0


def lambda_environment(config: FunctionConfig, request_id: str, region: str) -> dict[str, str]:
    """The variables Lambda's runtime sets for every function."""
    name = config.logical_id
    return {
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(math.ceil(config.timeout_s)),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": f"local/{request_id}",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{config.runtime}",
        "LAMBDA_TASK_ROOT": str(config.code_dir),
        "_HANDLER": config.handler,
    }


def peak_rss_mb(pid: int) -> float:
    """VmHWM, the resident high-water mark, from /proc (psutil is not available); 0 when unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


def runtime_error(message: str, error_type: str) -> dict[str, Any]:
    return {"errorMessage": message, "errorType": error_type, "stackTrace": []}


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run_warm(
    config: FunctionConfig, event: Any, environment: dict[str, str], request_ids: list[str]
) -> Generator[Outcome, None, None]:
    """Runs the handler under awslambdaric against a local Runtime API, watching its time and memory,
    once per request id in one runtime client (a warm container), yielding each outcome as it comes.
    The client is ended when the invocations are over, or when the caller stops."""
    arn = f"arn:aws:lambda:{environment['AWS_REGION']}:{ACCOUNT_ID}:function:{config.logical_id}"
    with RuntimeAPI(event, request_ids, arn, config.timeout_s) as api:
        child = subprocess.Popen(
            client_command(config.handler),  # unbuffered: nothing printed is lost when the child is killed
            stdin=subprocess.DEVNULL,
            stdout=sys.stderr,
            stderr=sys.stderr,
            env={**environment, **client_environment(api, config.layer_dirs)},
            cwd=config.code_dir,  # Lambda runs handlers in /var/task, the function's code
            start_new_session=True,  # its own process group: a kill takes what it started too
        )
        try:
            yield from _watch(child, api.messages, config, len(request_ids))
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)  # the handler is over: nothing it started lives on
            child.wait()


def _watch(
    child: subprocess.Popen[bytes], messages: queue.Queue[dict[str, Any]], config: FunctionConfig, invocations: int
) -> Generator[Outcome, None, None]:
    """Reads the runtime's messages, yielding the outcome of each of ``invocations``, and stops the client
    at the timeout or the memory limit (which ends the container: nothing more is yielded)."""
    spawned, started, init_ms, peak = time.monotonic(), 0.0, None, 0.0  # init_ms: None until init is over

    def ended(status: int, payload: Any) -> Outcome:
        now = time.monotonic()
        if init_ms is None:  # it never got past init
            return Outcome(status, payload, 0.0, (now - spawned) * 1000, peak)
        return Outcome(status, payload, (now - started) * 1000, init_ms, peak)

    def stopped(text: str, error_type: str) -> Outcome:
        log(text)
        return ended(EXIT_STOPPED, runtime_error(text, error_type))

    while True:
        try:
            message = messages.get(timeout=POLL_S)
        except queue.Empty:
            message = {}
        if "next" in message:
            started = time.monotonic()
            if init_ms is None:
                init_ms = (started - spawned) * 1000
            log(f"START RequestId: {message['next']} Version: $LATEST")
        peak = max(peak, peak_rss_mb(child.pid))
        if peak > config.memory_mb:
            yield stopped(
                f"Runtime exited with error: signal: killed (Max Memory Used {math.ceil(peak)} MB, "
                f"MemorySize {config.memory_mb} MB)",
                "Runtime.OutOfMemory",
            )
            return
        if "result" in message or "error" in message:
            yield ended(EXIT_OK, message["result"]) if "result" in message else ended(EXIT_RAISED, message["error"])
            invocations -= 1
            if init_ms is None or not invocations:  # init failed (the container is gone), or all done
                return
            started = 0.0
            continue
        if started and time.monotonic() - started > config.timeout_s:
            yield stopped(f"Task timed out after {config.timeout_s:.2f} seconds", "Sandbox.Timedout")
            return
        if init_ms is None and time.monotonic() - spawned > INIT_LIMIT_S:
            yield stopped(f"Init timed out after {INIT_LIMIT_S:.2f} seconds", "Sandbox.Timedout")
            return
        if not message and child.poll() is not None:  # gone without an outcome: sys.exit(), a crash, a signal
            code = child.returncode
            reason = f"signal: {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
            log(f"Runtime exited with error: {reason}")
            yield ended(EXIT_RAISED, runtime_error(f"Runtime exited with error: {reason}", "Runtime.ExitError"))
            return


def parameter_overrides(values: list[str]) -> dict[str, str]:
    """SAM's --parameter-overrides: `Key=Value` or `ParameterKey=Key,ParameterValue=Value`, space-separated."""
    overrides = {}
    for token in shlex.split(" ".join(values)):
        if token.startswith("ParameterKey="):
            key, _, value = token.removeprefix("ParameterKey=").partition(",ParameterValue=")
        else:
            key, separator, value = token.partition("=")
            if not separator:
                raise ValueError(f"--parameter-overrides: {token!r} is not Key=Value")
        overrides[key] = value
    return overrides


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("function", help="logical id of an AWS::Serverless::Function")
    parser.add_argument("--event", "-e", help="event JSON file, or - for stdin (default {})")
    parser.add_argument("--env-vars", "-n", help="SAM env-vars JSON file: {LogicalId: {...}, Parameters: {...}}")
    parser.add_argument("--template", "-t", default="template.yaml")
    parser.add_argument("--parameter-overrides", nargs="*", default=[], help="template parameters: Key=Value ...")
    parser.add_argument("--repeat", type=int, default=1, help="invocations in one warm container (default 1)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))  # so `run_warm` still stops the child
    try:
        template_path = Path(args.template).resolve()
        env_vars = json.loads(Path(args.env_vars).read_text()) if args.env_vars else {}
        if not isinstance(env_vars, dict) or not all(isinstance(entry, dict) for entry in env_vars.values()):
            raise ValueError(f'{args.env_vars}: expected {{"LogicalId": {{...}}, "Parameters": {{...}}}}')
        # SAM reads the file's Parameters as variables of every function (effective_environment does);
        # here they also set template parameters of the same name, so one file can carry both.
        overrides = {**(env_vars.get("Parameters") or {}), **parameter_overrides(args.parameter_overrides)}
        region = default_region(os.environ)
        config = function_config(load_template(template_path), args.function, template_path.parent, overrides, region)
        if not config.code_dir.is_dir():
            raise TemplateError(f"{args.function}: CodeUri {config.code_dir} is not a directory")
        if args.event == "-":
            event = json.load(sys.stdin)
        else:
            event = json.loads(Path(args.event).read_text()) if args.event else {}
        declared = effective_environment(config.environment, config.logical_id, env_vars, os.environ)
    except (OSError, ValueError, TemplateError) as error:
        log(f"invoke: {error}")
        return EXIT_STOPPED
    for layer in config.skipped_layers:
        log(f"invoke: warning: layer {layer} is not built from this template; its code is not on the path")
    request_ids = [str(uuid.uuid4()) for _ in range(args.repeat)]
    environment = {**os.environ, **declared, **lambda_environment(config, request_ids[0], region)}
    status = EXIT_OK
    with contextlib.closing(run_warm(config, event, environment, request_ids)) as outcomes:
        for request_id, outcome in zip(request_ids, outcomes, strict=False):  # fewer when the container ended
            log(f"END RequestId: {request_id}")
            init = f"\tInit Duration: {outcome.init_ms:.2f} ms" if request_id == request_ids[0] else ""
            log(
                f"REPORT RequestId: {request_id}\tDuration: {outcome.duration_ms:.2f} ms\t"
                f"Billed Duration: {math.ceil(outcome.duration_ms)} ms\tMemory Size: {config.memory_mb} MB\t"
                f"Max Memory Used: {math.ceil(outcome.max_memory_mb)} MB{init}"
            )
            sys.stdout.write(json.dumps(outcome.payload) + "\n")
            sys.stdout.flush()
            status = max(status, outcome.status)
    return status


if __name__ == "__main__":
    sys.exit(main())
