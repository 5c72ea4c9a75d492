"""Docker-free stand-in for `sam local invoke`.

    python tools/invoke.py <LogicalId> [--event FILE|-] [--env-vars FILE] [--template template.yaml]
                           [--parameter-overrides 'Key=Value ...'] [--repeat N]

Reads the template, applies the function's environment (template default < env-vars file <
caller's environment), puts the code directory and the layers' python/ directories on the path,
runs the handler in a child process with a Lambda-like context, ends it at the template's
Timeout or MemorySize, and prints the return value as one JSON line, last on stdout. Everything
else (the handler's logs, START/END/REPORT lines) goes to stderr. Exit status: 0 on success,
1 when the handler raised (the error JSON is still the last stdout line), 2 on a timeout, a
memory overrun or a bad call. The handler runs in the caller's working directory, so relative
paths given in the environment mean what the caller means.

`--repeat N` invokes the handler N times, one after another, in the same child, as a warm
Lambda container does: a START/END/REPORT block and a result line each, `Init Duration` on the
first REPORT only. The exit status is the worst of them; a timeout or memory overrun ends the
container, and the remaining invocations with it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import select
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
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools.cfn_template import (
    FunctionConfig,
    TemplateError,
    default_region,
    effective_environment,
    function_config,
    load_template,
)

CHILD = Path(__file__).with_name("invoke_child.py")
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


def run(config: FunctionConfig, event: Any, environment: dict[str, str], request_id: str) -> Outcome:
    """Runs the handler once in a child process, watching its time and memory."""
    with contextlib.closing(run_warm(config, event, environment, [request_id])) as outcomes:
        return next(outcomes)


def run_warm(
    config: FunctionConfig, event: Any, environment: dict[str, str], request_ids: list[str]
) -> Generator[Outcome, None, None]:
    """Runs the handler once per request id in one child process (a warm container), watching each
    invocation's time and memory; yields each outcome as it comes. The child is ended when the
    invocations are over, or when the caller stops iterating."""
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
        "request_id": request_ids[0],
        "request_ids": request_ids,
        "result_fd": write_fd,
    }
    child = subprocess.Popen(
        [sys.executable, "-u", str(CHILD)],  # unbuffered: nothing printed is lost when the child is killed
        stdin=subprocess.PIPE,
        stdout=sys.stderr,
        stderr=sys.stderr,
        env=environment,
        pass_fds=(write_fd,),
        cwd=config.code_dir,  # Lambda runs handlers in /var/task, the function's code
        start_new_session=True,  # its own process group: a kill takes what it started too
    )
    os.close(write_fd)
    try:
        assert child.stdin is not None
        with contextlib.suppress(BrokenPipeError):  # it died at start: the watch below reports how
            child.stdin.write(json.dumps(spec).encode())
            child.stdin.close()
        yield from _watch(child, read_fd, config, request_ids)
    finally:
        os.close(read_fd)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)  # the handler is over: nothing it started lives on
        child.wait()


def _watch(
    child: subprocess.Popen[bytes], read_fd: int, config: FunctionConfig, request_ids: list[str]
) -> Generator[Outcome, None, None]:
    """Reads the child's messages, yielding each invocation's outcome, and stops the child at the
    timeout or the memory limit. After the first, an invocation starts as the one before ends."""
    spawned, started, init_ms, peak = time.monotonic(), 0.0, 0.0, 0.0
    readable, buffer = [read_fd], b""
    invocations = iter(request_ids)
    request_id = next(invocations)

    def ended(status: int, payload: Any) -> Outcome:
        now = time.monotonic()
        if not started:  # it never got past init
            return Outcome(status, payload, 0.0, (now - spawned) * 1000, peak)
        return Outcome(status, payload, (now - started) * 1000, init_ms, peak)

    def stopped(text: str, error_type: str) -> Outcome:
        log(text)
        return ended(EXIT_STOPPED, runtime_error(text, error_type))

    def out_of_memory() -> Outcome | None:
        if peak <= config.memory_mb:
            return None
        return stopped(
            f"Runtime exited with error: signal: killed (Max Memory Used {math.ceil(peak)} MB, "
            f"MemorySize {config.memory_mb} MB)",
            "Runtime.OutOfMemory",
        )

    while True:
        ready, _, _ = select.select(readable, [], [], POLL_S)
        if ready:
            chunk = os.read(read_fd, 1 << 20)
            buffer += chunk
            readable = readable if chunk else []  # end of file: the child has exited
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            message = json.loads(line)
            if message.get("init_done"):
                started = time.monotonic()
                init_ms = (started - spawned) * 1000
                log(f"START RequestId: {request_id} Version: $LATEST")
                continue
            peak = max(peak, peak_rss_mb(child.pid), message.get("max_rss_mb", 0.0))
            if (killed := out_of_memory()) is not None:
                yield killed
                return
            yield ended(EXIT_OK, message["result"]) if "result" in message else ended(EXIT_RAISED, message["error"])
            if not started or (following := next(invocations, None)) is None:  # init failed, or all done
                return
            request_id, started, init_ms = following, time.monotonic(), 0.0
            log(f"START RequestId: {request_id} Version: $LATEST")
        peak = max(peak, peak_rss_mb(child.pid))
        if (killed := out_of_memory()) is not None:
            yield killed
            return
        if started and time.monotonic() - started > config.timeout_s:
            yield stopped(f"Task timed out after {config.timeout_s:.2f} seconds", "Sandbox.Timedout")
            return
        if not started and time.monotonic() - spawned > INIT_LIMIT_S:
            yield stopped(f"Init timed out after {INIT_LIMIT_S:.2f} seconds", "Sandbox.Timedout")
            return
        if not ready and child.poll() is not None:  # gone without an outcome: sys.exit(), a crash, a signal
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
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))  # so `run` still stops the child
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
        for request_id, outcome in zip(request_ids, outcomes, strict=False):  # fewer when one is stopped
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
