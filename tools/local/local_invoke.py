"""One invocation through tools/local/invoke.py, exactly as `make invoke` runs it, for the local runners.

`make up` and `make start-lambda` start each invocation as a subprocess of tools/local/invoke.py, so the
template's environment, layers, timeout and memory limit apply as they do for `make invoke`, and
a run that hangs or crashes takes nothing else down.
"""

from __future__ import annotations

import json
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
# tools/local/invoke.py's exit statuses
EXIT_OK, EXIT_RAISED, EXIT_STOPPED = 0, 1, 2
_REQUEST_ID = re.compile(rb"START RequestId: ([0-9a-f-]{36})")


@dataclass(frozen=True)
class Result:
    """How one invocation ended: invoke.py's exit status, its last stdout line and its logs."""

    exit_code: int
    payload: bytes  # the handler's return value or Lambda's error JSON; empty when the call was bad
    logs: bytes
    duration_s: float

    @property
    def value(self) -> Any:
        try:
            return json.loads(self.payload) if self.payload else None
        except ValueError:
            return None

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
    template: Path,
    env_vars: Path | None = None,
    parameter_overrides: Sequence[str] = (),
) -> list[str]:
    argv = [sys.executable, str(INVOKE), function, "--event", "-", "--template", str(template)]
    if env_vars:
        argv += ["--env-vars", str(env_vars)]
    if parameter_overrides:
        argv += ["--parameter-overrides", *parameter_overrides]
    return argv


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

    def run(self) -> Result:
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
        stdout, stderr = self._process.communicate(json.dumps(self._event).encode())
        lines = stdout.strip().splitlines()
        result = Result(self._process.returncode, lines[-1] if lines else b"", stderr, time.monotonic() - started)
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
