"""Whether a process is gone, for the tests that prove nothing outlives what started it."""

from __future__ import annotations

import time
from pathlib import Path


def gone(pid: int, within_s: float = 5.0) -> bool:
    """No such process, or only its zombie (a container's PID 1 may never reap an orphan), within ``within_s``."""
    end = time.monotonic() + within_s
    while True:
        try:
            if "\nState:\tZ" in Path(f"/proc/{pid}/status").read_text():
                return True
        except OSError:
            return True
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
