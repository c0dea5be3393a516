"""moto in server mode on loopback, standing in for the AWS account.

One ``python -m moto.server -H 127.0.0.1 -p PORT`` process (moto[server] from the virtual
environment, run with this interpreter). Its state lives in memory only: a restart empties the
account, and the sandbox provisions it again. ``/moto-api/reset`` would do the same to a running
server; nothing here calls it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from asbuilt_sandbox.parts.base import PartError, Process, free_port, port_open, state_dir

PART = "moto"
HOST = "127.0.0.1"
# Answered by moto itself (its dashboard page), without touching any emulated service.
READY_PATH = "/moto-api/"


def _http_get(url: str, timeout: float) -> int:
    """Status code of a GET to a loopback URL; proxies from the environment are never used."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _argv(port: int) -> list[str]:
    return [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(int(port))]


def _pids_running(argv: list[str]) -> list[int]:
    """Pids whose command line is exactly ``argv``."""
    want = "\0".join(argv).encode() + b"\0"
    pids = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if Path(f"/proc/{entry.name}/cmdline").read_bytes() == want:
                    pids.append(int(entry.name))
    return pids


def _end(pid: int, timeout: float = 10.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


class MotoPart:
    """The moto server of the sandbox."""

    name = PART

    def __init__(self) -> None:
        self.proc = Process(PART, "server", [])

    @property
    def _launch_file(self):
        return state_dir() / "run" / "moto-server.json"

    def _launch(self) -> dict | None:
        try:
            return json.loads(self._launch_file.read_text())
        except (OSError, ValueError):
            return None

    def install(self) -> None:
        """moto[server] is a dependency of asbuilt; fail clearly when it is not importable."""
        try:
            import flask  # noqa: F401  (moto's server extra)
            import moto  # noqa: F401
        except ImportError as exc:
            raise PartError(PART, f"moto[server] is not installed in {sys.prefix}: {exc}") from exc

    def start(self, port: int | None = None, timeout: float = 60.0) -> dict:
        """Start (idempotent: a running server with the same port, or any port when ``port`` is
        None, is kept) and return the facts: endpoint_url, host, port, version, log."""
        self.install()
        launch = self._launch()
        if self.proc.running() and launch and (port is None or launch.get("port") == port) and self._answers(launch["port"]):
            return self.facts()
        self.stop()
        if port is None:
            port = free_port()
        argv = _argv(port)
        if port_open(HOST, port):
            # A server of ours whose pid file was lost (a crashed ``up``) is ended; anything else
            # on the port is not ours to touch.
            for pid in _pids_running(argv):
                _end(pid)
            if port_open(HOST, port):
                raise PartError(PART, f"port {HOST}:{port} is already in use by another program")
        self.proc = Process(PART, "server", argv, env={"PYTHONUNBUFFERED": "1"})
        self.proc.start()
        self._launch_file.write_text(json.dumps({"port": port}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.proc.running():
                raise PartError(PART, f"moto server exited during start-up: {self.proc.log_tail(3)!r}", self.proc.logfile)
            if self._answers(port):
                return self.facts()
            time.sleep(0.2)
        self.stop()
        raise PartError(PART, f"moto server did not answer on {HOST}:{port} within {timeout:.0f}s", self.proc.logfile)

    def _answers(self, port: int) -> bool:
        try:
            return _http_get(f"http://{HOST}:{int(port)}{READY_PATH}", timeout=2) == 200
        except (OSError, ValueError):
            return False

    def facts(self) -> dict:
        from importlib.metadata import version

        port = (self._launch() or {}).get("port")
        return {
            "endpoint_url": f"http://{HOST}:{port}",
            "host": HOST,
            "port": port,
            "version": version("moto"),
            "pid": self.proc.pid(),
            "log": str(self.proc.logfile),
        }

    def stop(self) -> None:
        """Stop the server (its in-memory account is gone with it); idempotent."""
        self.proc.stop(timeout=10)
        with contextlib.suppress(FileNotFoundError):
            self._launch_file.unlink()

    def status(self) -> dict:
        launch = self._launch() or {}
        up = self.proc.running() and bool(launch) and self._answers(launch["port"])
        return {
            "part": PART,
            "up": up,
            "address": f"http://{HOST}:{launch['port']}" if up else None,
            "pid": self.proc.pid() if up else None,
            "log": str(self.proc.logfile),
        }
