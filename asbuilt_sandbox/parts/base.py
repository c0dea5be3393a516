"""What every sandbox part shares: where it caches and keeps state, and how it runs processes.

A part is a piece of real software (moto server, PostgreSQL, Kafka, etcd + kube-apiserver, ...)
that the sandbox fetches or builds once into the cache (keyed by version), then starts as
background processes whose pid files and logs live in the sandbox state directory.
Everything a part starts binds to 127.0.0.1 or to an address inside the sandbox's own
network namespaces (see ``asbuilt_sandbox.parts.network``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from asbuilt import paths
from asbuilt.errors import RunError


# Both locations are the product's (asbuilt.paths): `--target sandbox` finds the sandbox's target
# file without importing this package.
cache_dir = paths.cache_dir
state_dir = paths.sandbox_state_dir


class PartError(RunError):
    """A part failed to install or start; the message names the part and its log file."""

    def __init__(self, part: str, reason: str, log: Path | None = None):
        where = f" (log: {log})" if log else ""
        super().__init__(f"sandbox part {part}: {reason}{where}")
        self.part = part
        self.log = log


@dataclass
class Process:
    """A background process of a part, tracked by a pid file so a later command can stop it."""

    part: str
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    netns: str | None = None  # run inside this network namespace (ip netns exec)

    @property
    def pidfile(self) -> Path:
        return state_dir() / "run" / f"{self.part}-{self.name}.pid"

    @property
    def logfile(self) -> Path:
        return state_dir() / "logs" / f"{self.part}-{self.name}.log"

    def start(self) -> int:
        """Start detached (own session, so it outlives the caller); returns the pid."""
        if self.running():
            return self.pid()  # type: ignore[return-value]
        self.pidfile.parent.mkdir(parents=True, exist_ok=True)
        self.logfile.parent.mkdir(parents=True, exist_ok=True)
        argv = list(self.argv)
        if self.netns:
            argv = ["ip", "netns", "exec", self.netns, *argv]
        env = {**os.environ, **self.env}
        with open(self.logfile, "ab") as log:
            try:
                proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.cwd,
                    env=env,
                    start_new_session=True,
                )
            except OSError as exc:
                raise PartError(self.part, f"cannot start {argv[0]}: {exc.strerror}", self.logfile) from exc
        self.pidfile.write_text(str(proc.pid))
        return proc.pid

    def pid(self) -> int | None:
        try:
            return int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None

    def running(self) -> bool:
        pid = self.pid()
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        # A zombie or a recycled pid of another program is not our process.
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            if stat.rsplit(")", 1)[1].split()[0] == "Z":
                return False
        except OSError:
            return False
        return True

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the process group, then SIGKILL after ``timeout``; removes the pid file."""
        pid = self.pid()
        if pid is not None and self.running():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.running():
                time.sleep(0.1)
            if self.running():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
                time.sleep(0.2)
        with contextlib.suppress(FileNotFoundError):
            self.pidfile.unlink()

    def log_tail(self, lines: int = 5) -> str:
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def port_open(host: str, port: int, timeout: float = 0.5, netns: str | None = None) -> bool:
    """True when a TCP connect to host:port succeeds. Only ever called with sandbox addresses."""
    if netns:
        # Connect from inside the namespace: a tiny python one-liner run there.
        code = (
            "import socket,sys\n"
            f"s=socket.socket(socket.AF_INET6 if ':' in {host!r} else socket.AF_INET);s.settimeout({timeout})\n"
            f"sys.exit(0 if s.connect_ex(({host!r},{port}))==0 else 1)"
        )
        res = subprocess.run(["ip", "netns", "exec", netns, "python3", "-c", code],
                             capture_output=True, timeout=timeout + 10)
        return res.returncode == 0
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_port(proc: Process, host: str, port: int, timeout: float = 60.0, netns: str | None = None) -> None:
    """Wait until the process listens; fail with the part's log if it dies or the bound passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(host, port, netns=netns):
            return
        if not proc.running():
            raise PartError(proc.part, f"{proc.name} exited during start-up: {proc.log_tail(3)!r}", proc.logfile)
        time.sleep(0.25)
    raise PartError(proc.part, f"{proc.name} did not listen on {host}:{port} within {timeout:.0f}s", proc.logfile)


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (for parts that need one chosen at run time)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(argv: list[str], part: str, what: str, timeout: float = 1800, **kw) -> subprocess.CompletedProcess:
    """Run a set-up command (build, fetch, init); failure raises PartError with the output tail."""
    try:
        res = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
    except subprocess.TimeoutExpired as exc:
        raise PartError(part, f"{what} timed out after {timeout:.0f}s") from exc
    except OSError as exc:
        raise PartError(part, f"{what}: cannot run {argv[0]}: {exc.strerror}") from exc
    if res.returncode != 0:
        tail = (res.stderr or res.stdout).strip().splitlines()[-3:]
        raise PartError(part, f"{what} failed (exit {res.returncode}): {' | '.join(tail)}")
    return res


def write_private(path: Path, data: bytes) -> None:
    """Write a secret (a key, a password): created 0600 from the start, never world-readable for a moment."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
