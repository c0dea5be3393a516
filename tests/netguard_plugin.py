"""Test-session network guard: no test may connect outside loopback and the sandbox's networks.

Loaded by tests/conftest.py for the whole session. It wraps ``socket.socket.connect`` and
``connect_ex`` (which ``ssl``, ``asyncio``, urllib3, botocore, kafka-python and psycopg's Python
side all go through) and ``socket.create_connection``; a connect to anything but 127.0.0.0/8,
::1, the sandbox's 198.18.0.0/15 or an AF_UNIX socket is refused on the spot (nothing is sent:
``connect`` raises ConnectionRefusedError naming the address, ``connect_ex`` returns
ECONNREFUSED) and fails the test that made it, even when the code under test swallowed the error.

Out of its reach: child processes (the ``asbuilt`` CLI the tests run, moto, helm, checkov, the
sandbox's servers) and C libraries that open their own sockets (libpq inside psycopg). A test
that wants a Python child guarded too takes the ``child_connect_log`` fixture: its env makes the
child install this same guard (``sitecustomize``) and log each refused connect to a file.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import os
import socket
import threading
from pathlib import Path

ALLOWED = [ipaddress.ip_network(n) for n in ("127.0.0.0/8", "::1/128", "198.18.0.0/15")]
LOG_ENV = "ASBUILT_TEST_CONNECT_LOG"  # set in a child's environment: log refusals there (JSON lines)

_violations: list[dict] = []
_lock = threading.Lock()
_originals: dict[str, object] = {}


def _addresses(host: str) -> list[ipaddress._BaseAddress]:
    host = str(host).split("%", 1)[0]
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:  # a name: connect() would resolve it; judge every address it stands for
        return [ipaddress.ip_address(str(i[4][0]).split("%", 1)[0])
                for i in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)]
    except (OSError, UnicodeError, ValueError):
        return []  # does not resolve: the connect will fail by itself


def allowed(family: int, address) -> bool:
    if family == getattr(socket, "AF_UNIX", None):
        return True
    if family not in (socket.AF_INET, socket.AF_INET6) or not isinstance(address, tuple):
        return False
    for a in _addresses(address[0]):
        if getattr(a, "ipv4_mapped", None):
            a = a.ipv4_mapped
        if not any(a in n for n in ALLOWED if n.version == a.version):
            return False
    return True


def _record(address) -> str:
    text = f"{address[0]}:{address[1]}" if isinstance(address, tuple) and len(address) >= 2 else repr(address)
    entry = {"address": text, "pid": os.getpid()}
    with _lock:
        _violations.append(entry)
    log = os.environ.get(LOG_ENV)
    if log:
        try:
            with open(log, "a") as fh:
                fh.write(json.dumps(entry) + "\n")
        except OSError:
            pass
    return text


def _message(text: str) -> str:
    return (f"test network guard: refused a connect to {text} (tests may connect only to 127.0.0.0/8, ::1, "
            "198.18.0.0/15 and Unix sockets)")


def install() -> None:
    if _originals:
        return
    connect, connect_ex, create = socket.socket.connect, socket.socket.connect_ex, socket.create_connection
    _originals.update(connect=connect, connect_ex=connect_ex, create_connection=create)

    def guarded_connect(self, address):
        if not allowed(self.family, address):
            raise ConnectionRefusedError(errno.ECONNREFUSED, _message(_record(address)))
        return connect(self, address)

    def guarded_connect_ex(self, address):
        if not allowed(self.family, address):
            _record(address)
            return errno.ECONNREFUSED
        return connect_ex(self, address)

    def guarded_create_connection(address, *args, **kwargs):
        host = address[0] if isinstance(address, tuple) and len(address) >= 2 else None
        if host is not None and not allowed(socket.AF_INET6 if ":" in str(host) else socket.AF_INET, address):
            raise ConnectionRefusedError(errno.ECONNREFUSED, _message(_record(address)))
        return create(address, *args, **kwargs)

    socket.socket.connect = guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = guarded_connect_ex  # type: ignore[method-assign]
    socket.create_connection = guarded_create_connection  # type: ignore[assignment]


def uninstall() -> None:
    if _originals:
        socket.socket.connect = _originals["connect"]  # type: ignore[method-assign]
        socket.socket.connect_ex = _originals["connect_ex"]  # type: ignore[method-assign]
        socket.create_connection = _originals["create_connection"]  # type: ignore[assignment]
        _originals.clear()


def take() -> list[dict]:
    """The refusals recorded since the last call (and forget them)."""
    with _lock:
        out = list(_violations)
        _violations.clear()
    return out


# --------------------------------------------------------------------------- pytest hooks

import pytest  # noqa: E402


def pytest_configure(config) -> None:
    install()


def pytest_unconfigure(config) -> None:
    uninstall()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    bad = take()
    if bad:  # the test (or its fixtures) tried to leave the machine: it fails, whatever it caught
        report.outcome = "failed"
        report.longrepr = "\n".join(f"{_message(b['address'])} (during {call.when})" for b in bad)


def pytest_sessionfinish(session, exitstatus) -> None:
    bad = take()  # outside any test (collection, session teardown)
    if bad:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        for b in bad:
            print(f"\n{_message(b['address'])} (outside any test)")


SITECUSTOMIZE = """\
# Written by tests/netguard_plugin.py: this Python child installs the test network guard too.
import sys
sys.path.append({root!r})
try:
    from tests import netguard_plugin
    netguard_plugin.install()
except Exception as exc:  # never break the child; the test sees no log and decides
    sys.stderr.write(f"test network guard not installed in the child: {{exc}}\\n")
"""


def child_env(directory: Path, root: Path) -> tuple[dict[str, str], Path]:
    """Environment for a Python child that installs the guard and logs refusals to the file returned."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sitecustomize.py").write_text(SITECUSTOMIZE.format(root=str(root)))
    log = directory / "refused-connects.jsonl"
    log.touch()
    path = os.pathsep.join(p for p in (str(directory), os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path, LOG_ENV: str(log)}, log
