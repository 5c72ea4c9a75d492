"""One invocation through tools/local/invoke.py, exactly as `make invoke` runs it: the one way the
local runners, the demo, the benchmarks and the tests run a function in a subprocess.

Each invocation is a subprocess of tools/local/invoke.py, so the template's environment, layers,
timeout and memory limit apply as they do for `make invoke`, and a run that hangs or crashes takes
nothing else down. ``run()`` is the whole call; ``Invocation`` is one another thread can stop.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.local.cfn_template import ACCOUNT_ID

ROOT = Path(__file__).resolve().parents[2]
INVOKE = ROOT / "tools" / "local" / "invoke.py"
TEMPLATE = ROOT / "template.yaml"
EVENT = ROOT / "events" / "schedule.json"
# tools/local/invoke.py's exit statuses
EXIT_OK, EXIT_RAISED, EXIT_STOPPED = 0, 1, 2
_REQUEST_ID = re.compile(rb"START RequestId: ([0-9a-f-]{36})")
_MAX_MEMORY = re.compile(rb"Max Memory Used: (\d+) MB")
_DURATION = re.compile(rb"^REPORT RequestId: \S+\tDuration: ([\d.]+) ms", re.M)


@dataclass(frozen=True)
class Result:
    """How one invocation ended: invoke.py's exit status, its stdout (a result line per invocation,
    the last the one that counts) and its logs."""

    exit_code: int
    output: bytes
    logs: bytes
    duration_s: float

    @property
    def payload(self) -> bytes:
        """The handler's return value or Lambda's error JSON; empty when the call was bad."""
        lines = self.output.strip().splitlines()
        return lines[-1] if lines else b""

    @property
    def value(self) -> Any:
        try:
            return json.loads(self.payload) if self.payload else None
        except ValueError:
            return None

    @property
    def values(self) -> list[Any]:
        """Each invocation's result (several with --repeat)."""
        return [json.loads(line) for line in self.output.strip().splitlines()]

    @property
    def log_text(self) -> str:
        return self.logs.decode(errors="replace")

    @property
    def text(self) -> str:
        """Everything it wrote, stdout then logs."""
        return self.output.decode(errors="replace") + self.log_text

    def logged(self, message: str) -> dict[str, Any]:
        """The handler's JSON log line with this message (e.g. "run finished")."""
        for line in self.log_text.splitlines():
            if line.startswith("{") and message in line and json.loads(line).get("message") == message:
                return json.loads(line)  # type: ignore[no-any-return]
        raise AssertionError(f"no log line {message!r} in:\n{self.log_text[-3000:]}")

    @property
    def max_memory_mb(self) -> int | None:
        """The REPORT line's Max Memory Used (the last invocation's)."""
        found = _MAX_MEMORY.findall(self.logs)
        return int(found[-1]) if found else None

    @property
    def durations_ms(self) -> list[float]:
        """Each invocation's Duration from its REPORT line (Init excluded)."""
        return [float(ms) for ms in _DURATION.findall(self.logs)]

    @property
    def function_error(self) -> bool:
        """The handler raised, timed out or ran out of memory (Lambda's X-Amz-Function-Error)."""
        return self.exit_code != EXIT_OK and bool(self.payload)

    @property
    def request_id(self) -> str | None:
        found = _REQUEST_ID.search(self.logs)
        return found.group(1).decode() if found else None


def command(
    function: str,
    template: Path = TEMPLATE,
    env_vars: Path | None = None,
    parameter_overrides: Sequence[str] = (),
    repeat: int | None = None,
    event_file: Path | None = None,
) -> list[str]:
    """invoke.py's command line, the event read from ``event_file`` or else from stdin."""
    argv = [sys.executable, str(INVOKE), function, "--event", str(event_file or "-"), "--template", str(template)]
    if env_vars:
        argv += ["--env-vars", str(env_vars)]
    if parameter_overrides:
        argv += ["--parameter-overrides", *parameter_overrides]
    if repeat is not None:
        argv += ["--repeat", str(repeat)]
    return argv


def run(
    function: str,
    env: Mapping[str, str] | None = None,
    *,
    event: Any = None,
    environ: Mapping[str, str] | None = None,
    template: Path = TEMPLATE,
    repeat: int | None = None,
    timeout_s: float | None = None,
    log_path: Path | None = None,
) -> Result:
    """One call of ``function`` as `make invoke` makes it: ``env`` over ``environ`` (the caller's
    environment unless given), ``event`` (events/schedule.json unless given)."""
    if event is None:
        event = json.loads(EVENT.read_text())
    environment = {**(os.environ if environ is None else environ), **(env or {})}
    return Invocation(command(function, template, repeat=repeat), event, environment, log_path).run(timeout_s)


class Invocation:
    """A running invocation that another thread can stop (invoke.py then ends the handler's processes)."""

    def __init__(self, argv: list[str], event: Any, environ: Mapping[str, str], log_path: Path | None = None) -> None:
        self._argv, self._event, self._environ, self._log_path = argv, event, dict(environ), log_path
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._stopped = False

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def run(self, timeout_s: float | None = None) -> Result:
        """To its end, or until ``timeout_s`` (then stopped, TimeoutExpired raised)."""
        started = time.monotonic()
        with self._lock:
            if self._stopped:
                return Result(EXIT_STOPPED, b"", b"stopped before it started\n", 0.0)
            self._process = subprocess.Popen(
                self._argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=self._environ,
                cwd=ROOT,
                start_new_session=True,  # a Ctrl-C at the terminal reaches the runner, which stops this cleanly
            )
        try:
            stdout, stderr = self._process.communicate(json.dumps(self._event).encode(), timeout_s)
        except subprocess.TimeoutExpired:
            self.stop()
            self._process.communicate()
            raise
        result = Result(self._process.returncode, stdout, stderr, time.monotonic() - started)
        if self._log_path:
            self._log_path.parent.mkdir(parents=True, exist_ok=True)
            with open(self._log_path, "ab") as log:
                log.write(stderr)
                log.write(b"RESULT " + result.payload + b"\n")
        return result

    def stop(self) -> None:
        """SIGTERM: invoke.py kills the handler's process group and exits."""
        with self._lock:
            self._stopped = True
            if self._process and self._process.poll() is None:
                self._process.terminate()


def scheduled_event(moment_iso: str, rule: str, region: str, detail: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The event EventBridge sends for a schedule (events/schedule.json's shape)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": moment_iso,
        "region": region,
        "resources": [f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/{rule}"],
        "detail": dict(detail or {}),
    }
