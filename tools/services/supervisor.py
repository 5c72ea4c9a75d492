"""One supervisor for every service process (the embedded broker, Apache Kafka, the registry,
LocalStack): start, wait until ready, stop.

- The process starts in a session of its own, so ``stop()`` reaches every process it started:
  SIGTERM to the whole group, SIGKILL to it after a grace period.
- Unless ``detached`` (what `make broker` and the like start, to outlive the command), util-linux's
  setpriv asks the kernel to SIGKILL it when the process that started it dies, however that dies:
  a killed pytest or benchmark leaves no broker, registry or LocalStack behind. (The kernel sends it
  when the starting *thread* ends: start services from the thread that outlives them.)
- ``start(ready)`` returns once ``ready()`` is true: a real operation, as each service defines it. A
  process that exits first, or a deadline that passes, raises ServiceError naming the log and its tail.

Why not mirakuru or pytest-xprocess: pytest-xprocess is a pytest plugin, and `make bench`, `make up`
and the service commands start these too; mirakuru's executors register an atexit clean-up that ends
what they started when the starting interpreter exits, which is what a test wants but not
`make broker` (the service must outlive the command), and neither sets a parent-death signal or
names the log when a start fails, so each service would still need this much around it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Self


class ServiceError(RuntimeError):
    """A service did not become ready: it exited, or its deadline passed; the message names its log."""


def tail(log: Path | None, lines: int = 30) -> str:
    """The last ``lines`` of a log, or why there are none."""
    if log is None:
        return "(no log kept)"
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {log})"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_free(port: int) -> bool:
    """Whether nothing listens on (or holds) that loopback port."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def dies_with_parent(command: Sequence[str]) -> list[str]:
    """``command`` under setpriv --pdeathsig KILL, where util-linux has it (Linux)."""
    setpriv = shutil.which("setpriv") if sys.platform == "linux" else None
    return [setpriv, "--pdeathsig", "KILL", "--", *command] if setpriv else list(command)


def armed(process: subprocess.Popen[bytes], within_s: float) -> None:
    """Returns once setpriv has asked for the parent-death signal, that is once it runs the command
    (or has exited): a starter killed before that would leave the service behind, which happened to
    39 of 200 processes killed right after they were started."""
    # The executable, not the name: Popen returns once the child's exec has closed its descriptors,
    # which is after the new program is its executable but before the kernel renames it (its comm).
    setpriv = os.path.realpath(str(process.args[0])) if isinstance(process.args, list) else ""
    if os.path.basename(setpriv) != "setpriv":
        return  # not wrapped (no setpriv on this machine): nothing to wait for
    end = time.monotonic() + within_s
    while process.poll() is None and time.monotonic() < end:
        try:
            if os.readlink(f"/proc/{process.pid}/exe") != setpriv:
                return
        except OSError:
            return
        time.sleep(0.002)


def alive(pid: int | None) -> bool:
    """Whether a process of that pid exists."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def stop_group(
    pid: int, grace_s: float = 20.0, wait: Callable[[float], object] | None = None, *, kill_first: bool = False
) -> None:
    """SIGTERM to the process group ``pid`` leads, SIGKILL after ``grace_s`` (or at once with
    ``kill_first``); ``wait`` reaps it when it is our own child."""
    for sig in (signal.SIGKILL,) if kill_first else (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            break
        if _ended(pid, grace_s, wait):
            return
    if wait is not None:
        wait(grace_s)


def _ended(pid: int, within_s: float, wait: Callable[[float], object] | None) -> bool:
    end = time.monotonic() + within_s
    while True:
        if wait is not None:
            try:
                wait(0.1)
                return True
            except subprocess.TimeoutExpired:
                pass
        elif not alive(pid):
            return True
        else:
            time.sleep(0.1)
        if time.monotonic() > end:
            return False


class RunFile:
    """What a service left running (`make broker` and the like) tells its clients: .run/<name>.json,
    with at least its ``pid``; it counts only while that process lives."""

    def __init__(self, path: Path, name: str, target: str = "") -> None:
        self.path, self.name, self.target = path, name, target  # target: the make target that starts it

    def reuse(self, port: int | None, address: str, setting: str) -> int | None:
        """Before a start on ``port`` (any, if None): 0 when the recorded service runs there already (it
        is reused), 1 when it runs on another port or something else holds that one; None: start it."""
        state = self.running()
        if state is not None:
            if port in (None, state["port"]):
                print(f"{self.name} already running at {state[address]} (pid {state['pid']})", file=sys.stderr)
                return 0
            print(f"{self.name} is running on port {state['port']}: `make {self.target}-stop` first", file=sys.stderr)
            return 1
        if port is not None and not port_free(port):
            print(f"127.0.0.1:{port} is held by another process; choose another {setting}", file=sys.stderr)
            return 1
        return None

    def running(self) -> dict[str, Any] | None:
        try:
            state: dict[str, Any] = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None
        return state if alive(state.get("pid")) else None

    def write(self, state: Mapping[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(state, indent=2) + "\n")
        self.path.chmod(0o600)  # it may hold passwords

    def stop(self, grace_s: float = 20.0) -> int:
        """Stops the recorded service, if it runs, and forgets it: `make <service>-stop`."""
        state = self.running()
        if state is None:
            print(f"no {self.name} running", file=sys.stderr)
        else:
            stop_group(int(state["pid"]), grace_s)
            print(f"{self.name} stopped (pid {state['pid']})", file=sys.stderr)
        self.path.unlink(missing_ok=True)
        return 0


class Supervised:
    """What each service's class shares: ``service`` supervises its process once ``start()`` made
    it; a ``with`` block starts and stops it."""

    service: Service | None

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        if self.service is not None:
            self.service.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


class Service:
    """One supervised process: ``name`` in messages, ``command`` run in ``cwd`` with ``env``, its
    output appended to ``log`` (discarded when None)."""

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        log: Path | None,
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        detached: bool = False,
        grace_s: float = 20.0,
    ) -> None:
        self.name, self.command, self.log = name, list(command), log
        self.cwd, self.env, self.detached, self.grace_s = cwd, env, detached, grace_s
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, ready: Callable[[], bool], timeout_s: float) -> Service:
        """Starts the process and waits until ``ready()`` (exceptions count as not yet); stops it and
        raises ServiceError when it exits first or ``timeout_s`` passes."""
        if self.running:
            return self
        if self.log:
            self.log.parent.mkdir(parents=True, exist_ok=True)  # .run/ on a fresh checkout
        output = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115 - the child keeps it
        try:
            self.process = subprocess.Popen(
                self.command if self.detached else dies_with_parent(self.command),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=self.cwd,
                env=None if self.env is None else dict(self.env),
                start_new_session=True,
            )
        finally:
            if self.log:
                output.close()  # type: ignore[union-attr]
        try:
            if not self.detached:
                armed(self.process, timeout_s)
            self._wait(ready, timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait(self, ready: Callable[[], bool], timeout_s: float) -> None:
        end = time.monotonic() + timeout_s
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise ServiceError(
                    f"{self.name} exited with status {self.process.returncode} before it was ready; "
                    f"its log ({self.log}) ends:\n{tail(self.log)}"
                )
            try:
                if ready():
                    return
            except Exception:  # not yet: the probe's own errors while it starts
                pass
            if time.monotonic() > end:
                raise ServiceError(
                    f"{self.name} was not ready within {timeout_s:g} s; its log ({self.log}) ends:\n{tail(self.log)}"
                )
            time.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM to its whole process group, SIGKILL after the grace period."""
        if self.process is not None and self.process.returncode is None:
            stop_group(self.process.pid, self.grace_s, self.process.wait)

    def kill(self) -> None:
        """SIGKILL to its whole process group at once (a crash)."""
        if self.process is not None and self.process.returncode is None:
            stop_group(self.process.pid, self.grace_s, self.process.wait, kill_first=True)
