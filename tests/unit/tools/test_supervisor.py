"""tools/services/supervisor.py: a service starts in its own process group, is ready only when its
probe says so, names its log when it is not, is stopped group and all, and dies with its starter."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import gone
from tools.services.supervisor import Service, ServiceError, armed, dies_with_parent

ROOT = Path(__file__).resolve().parents[3]
SPAWNS_A_CHILD = (
    "import subprocess, sys, time; print(subprocess.Popen(['sleep', '300']).pid, flush=True); time.sleep(300)"
)


def test_a_service_that_exits_before_it_is_ready_names_its_log(tmp_path: Path) -> None:
    # Given a command that writes a reason and exits
    log = tmp_path / "service.log"
    service = Service("the example", [sys.executable, "-c", "print('port already taken'); raise SystemExit(3)"], log)
    # When it is started, Then the error says it exited, names the log and quotes it
    with pytest.raises(ServiceError, match=r"(?s)the example exited with status 3 .*service\.log.*port already taken"):
        service.start(lambda: False, timeout_s=10)


def test_a_service_not_ready_by_its_deadline_is_stopped(tmp_path: Path) -> None:
    # Given a process whose probe never succeeds
    service = Service("the sleeper", ["sleep", "300"], tmp_path / "sleeper.log")
    # When its deadline passes
    with pytest.raises(ServiceError, match=r"the sleeper was not ready within 0.5 s; its log \(.*sleeper\.log\)"):
        service.start(lambda: False, timeout_s=0.5)
    # Then it was stopped
    assert service.process is not None and service.process.returncode is not None


def test_stop_ends_every_process_of_the_group(tmp_path: Path) -> None:
    # Given a service that started a child of its own
    log = tmp_path / "parent.log"
    service = Service("the parent", [sys.executable, "-c", SPAWNS_A_CHILD], log).start(
        lambda: log.read_text().strip() != "", timeout_s=10
    )
    child = int(log.read_text())
    assert service.pid is not None and os.getpgid(service.pid) == service.pid  # a group of its own
    # When it is stopped
    service.stop()
    # Then the child is gone too
    assert gone(child)


def test_a_service_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    # Given a process that started a service and was then killed outright
    starter = f"""
import sys, time
sys.path.insert(0, {str(ROOT)!r})
from tests.support.processes import gone
from tools.services.supervisor import Service
service = Service("the sleeper", ["sleep", "300"], None).start(lambda: True, timeout_s=5)
print(service.pid, flush=True)
time.sleep(300)
"""
    parent = subprocess.Popen([sys.executable, "-c", starter], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    # Then the service (in a session of its own, out of reach of a group kill) is gone as well
    assert gone(pid)


def test_start_returns_only_once_the_parent_death_signal_is_asked_for() -> None:
    # Given a command under setpriv, which asks for the signal and then runs the command
    process = subprocess.Popen(dies_with_parent(["sleep", "30"]))
    try:
        # When armed() returns
        armed(process, within_s=5)
        # Then setpriv has run the command, so it asked for the signal first
        assert Path(f"/proc/{process.pid}/comm").read_text().strip() == "sleep"
    finally:
        process.kill()
        process.wait()
