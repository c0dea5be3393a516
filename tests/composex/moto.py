"""A private moto server for the composex tests (server mode, loopback, a port of 15150-15199)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request

PORTS = range(15150, 15200)


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _ports() -> list[int]:
    """This xdist worker's share of the range first (gw0: 15150.., gw1: 15160..), then the rest."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    start = (index * 10) % len(PORTS)
    return [*PORTS[start:], *PORTS[:start]]


def _start() -> tuple[subprocess.Popen, str]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    for port in [p for p in _ports() if _free(p)][:5]:
        proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                with opener.open(f"{url}/moto-api/", timeout=1):
                    pass
                time.sleep(1)  # a server answering while ours exits (its port was taken) is someone else's
                if proc.poll() is None:
                    return proc, url
                break
            except OSError:
                time.sleep(0.2)
        _stop(proc)  # the port was taken meanwhile (another worker), or it did not start: the next one
    raise RuntimeError("no moto server could be started on 127.0.0.1:15150-15199")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


@contextlib.contextmanager
def moto_server():
    """Yields the endpoint URL of a fresh moto server; stops exactly that process afterwards."""
    proc, url = _start()
    try:
        saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
        os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                           "AWS_DEFAULT_REGION": "us-east-1"})
        try:
            yield url
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    finally:
        _stop(proc)
