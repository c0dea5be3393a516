"""The sandbox as a whole: down leaves nothing behind; up recovers after a crashed part."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from asbuilt_sandbox import manager
from asbuilt_sandbox.parts.base import state_dir

pytestmark = pytest.mark.sandbox


def _netns() -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith("asb-")]


def _live_pids() -> list[int]:
    pids = []
    for f in (state_dir() / "run").glob("*.pid"):
        try:
            pid = int(f.read_text())
            os.kill(pid, 0)
            pids.append(pid)
        except (ValueError, OSError):
            continue
    return pids


def test_down_leaves_nothing_and_up_recovers_from_a_crash(sandbox):
    sandbox()  # takes the machine-wide lock for this test
    manager.down()
    assert _netns() == []
    assert _live_pids() == []
    status = manager.status()
    assert not any(s["up"] for s in status.values() if isinstance(s, dict)), status
    assert status["target"] is None

    manager.up([])
    # crash a part: SIGKILL moto, leaving its pid file behind
    moto_pid = int((state_dir() / "run").joinpath(next(
        p.name for p in (state_dir() / "run").glob("moto*.pid"))).read_text())
    os.kill(moto_pid, signal.SIGKILL)
    time.sleep(0.5)
    assert not manager.status()["moto"]["up"]
    path = manager.up([])  # recovers: stale pid file, port free again
    assert path.exists()
    assert all(s["up"] for s in manager.status().values() if isinstance(s, dict))
