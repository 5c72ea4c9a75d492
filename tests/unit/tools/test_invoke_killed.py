"""Killing `make invoke` leaves no Lambda runtime behind, whichever way it is killed.

The runtime client runs in a session of its own, so signals sent to the caller's process group do not
reach it: invoke.py must end it on SIGTERM and Ctrl-C, and the kernel must end it when invoke.py itself
is killed outright (SIGKILL of the group, as when a terminal or CI kills `make`).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.processes import gone

DATA = Path(__file__).parent / "data"
INVOKE = Path(__file__).resolve().parents[3] / "tools" / "local" / "invoke.py"


def runtime_pid(caller: subprocess.Popen[str]) -> int:
    """The handler's pid, once it printed it (the runtime is up and inside the handler)."""
    assert caller.stderr is not None
    end = time.monotonic() + 30
    seen = ""
    while time.monotonic() < end:
        line = caller.stderr.readline()
        seen += line
        found = re.search(r"sleeping in pid (\d+)", line)
        if found:
            return int(found.group(1))
    raise AssertionError(f"the handler never started:\n{seen}")


@pytest.mark.parametrize(
    ("how", "kill"),
    [
        ("SIGTERM to invoke", lambda caller: caller.send_signal(signal.SIGTERM)),
        ("Ctrl-C at the terminal", lambda caller: os.killpg(caller.pid, signal.SIGINT)),
        ("SIGKILL of the process group", lambda caller: os.killpg(caller.pid, signal.SIGKILL)),
    ],
)
def test_no_runtime_process_outlives_a_killed_invoke(how: str, kill) -> None:  # type: ignore[no-untyped-def]
    # Given `invoke WaitingFunction` in a process group of its own (as make's), its handler sleeping 30 s
    caller = subprocess.Popen(
        [sys.executable, str(INVOKE), "WaitingFunction", "--template", str(DATA / "template.yaml")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # as at a terminal: a script's background job (CI's, say) starts with SIGINT ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        pid = runtime_pid(caller)

        # When it is killed
        kill(caller)
        caller.wait(timeout=10)

        # Then the runtime process is gone within seconds
        assert gone(pid), f"{how}: the runtime (pid {pid}) outlived invoke"
    finally:
        if caller.poll() is None:
            os.killpg(caller.pid, signal.SIGKILL)
            caller.wait()
