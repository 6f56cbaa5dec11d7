"""Child processes of local mode: each in its own process group, stopped as a group, never left behind.

Every process starts in a new session (so Ctrl-C in the terminal reaches only local mode, which then
stops the children in order); stopping sends SIGTERM to the whole group, waits, then SIGKILLs what
remains. ``Supervisor.stop_all`` is registered with ``atexit`` by the launcher, so an exception or a
SIGTERM still cleans up.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


class PortInUseError(RuntimeError):
    """Ports local mode needs are taken by another program; ``taken`` lists them."""

    def __init__(self, message: str, taken: Sequence[int] = ()) -> None:
        super().__init__(message)
        self.taken = list(taken)


class StartupError(RuntimeError):
    """A child process exited or did not answer in time."""


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when a server could listen on ``host:port`` now (same socket options the servers use)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # the servers set SO_REUSEADDR, so a port in TIME_WAIT after a previous run is free for them too
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def check_ports(ports: Mapping[str, int], host: str = "127.0.0.1") -> None:
    """Raise PortInUseError naming every taken port and the variable that moves it."""
    taken = {what: port for what, port in ports.items() if not port_is_free(port, host)}
    if taken:
        named = " and ".join(f"{what} port {port}" for what, port in taken.items())
        raise PortInUseError(f"{named} already in use on {host}", list(taken.values()))


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (for tests and ``--ports auto``)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
    return port


@dataclass
class ManagedProcess:
    """One started child and where its output goes."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


class Supervisor:
    """Starts children in their own process groups and stops them all, newest first."""

    def __init__(self, log_dir: Path, stop_timeout: float = 5.0) -> None:
        self.log_dir = log_dir
        self.stop_timeout = stop_timeout
        self.processes: list[ManagedProcess] = []

    def start(
        self, name: str, command: Sequence[str], env: Mapping[str, str], cwd: Path | None = None
    ) -> ManagedProcess:
        """Start ``command`` with its output in ``<log_dir>/<name>.log``."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("wb") as output:
            process = subprocess.Popen(
                list(command),
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        managed = ManagedProcess(name, process, log_path)
        self.processes.append(managed)
        log.info("started %s (pid %d)", name, process.pid)
        return managed

    def stop_all(self) -> None:
        """SIGTERM each group, newest first; SIGKILL what is still there after ``stop_timeout``."""
        while self.processes:
            self._stop(self.processes.pop())

    def _stop(self, managed: ManagedProcess) -> None:
        group = managed.pid  # start_new_session makes the child its group's leader
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
        try:
            managed.process.wait(timeout=self.stop_timeout)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in %.0f s; killing it", managed.name, self.stop_timeout)
        # grandchildren (a reloader, a terraform run) may outlive the leader: clear the whole group
        deadline = time.monotonic() + self.stop_timeout
        while group_members(group) and time.monotonic() < deadline:
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            managed.process.wait(timeout=self.stop_timeout)
        # SIGKILL is delivered at once but a loaded machine may take a moment to end the processes
        deadline = time.monotonic() + self.stop_timeout
        while group_members(group) and time.monotonic() < deadline:
            time.sleep(0.02)

    def groups(self) -> list[int]:
        return [managed.pid for managed in self.processes]


def group_members(group: int) -> list[int]:
    """Live (non-zombie) processes of process group ``group``, read from /proc (Linux)."""
    members = []
    proc = Path("/proc")
    if not proc.is_dir():  # not Linux: fall back to asking the kernel about the group as a whole
        try:
            os.killpg(group, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [group]
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # fields after the parenthesised command: state ppid pgrp ...
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) >= 3 and int(fields[2]) == group and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def wait_until(
    check: Callable[[], bool], timeout: float, what: str, process: ManagedProcess | None = None, interval: float = 0.1
) -> None:
    """Poll ``check`` until true; StartupError when ``process`` exits first or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if process is not None and not process.running():
            raise StartupError(f"{what} exited with code {process.process.returncode}:\n{process.log_tail()}")
        time.sleep(interval)
    tail = f":\n{process.log_tail()}" if process is not None else ""
    raise StartupError(f"{what} did not answer within {timeout:.0f} s{tail}")


def answers_http(url: str) -> Callable[[], bool]:
    """A check that is true once ``url`` answers any HTTP status."""

    def check() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310  (loopback URL we built)
                return True
        except urllib.error.HTTPError:
            return True
        except (OSError, ValueError):
            return False

    return check
