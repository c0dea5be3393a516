"""Benchmark: warm `asbuilt sandbox up` wall time and the sandbox's total resident memory.

Goals (issue 4): a warm `up` under 60 s; all parts together under 4 GiB resident.
Run as root on a machine where the parts are already installed (a first `up` did that):

    .venv/bin/python benchmarks/sandbox_up.py [--runs 3]

Prints one line per run and a summary; appends nothing anywhere (copy figures to README.md).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def sandbox_rss() -> dict[str, int]:
    """Resident KiB per part: the pid files' processes and all their descendants."""
    from asbuilt_sandbox.parts.base import state_dir

    tree = _children()
    out: dict[str, int] = {}
    for pidfile in sorted((state_dir() / "run").glob("*.pid")):
        try:
            root = int(pidfile.read_text())
        except (OSError, ValueError):
            continue
        seen, stack = set(), [root]
        while stack:
            pid = stack.pop()
            if pid in seen:
                continue
            seen.add(pid)
            stack += tree.get(pid, [])
        part = pidfile.stem.split("-")[0]
        out[part] = out.get(part, 0) + sum(_rss_kib(p) for p in seen)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    exe = [sys.executable, "-m", "asbuilt"]
    times = []
    for i in range(args.runs):
        t = time.monotonic()
        res = subprocess.run([*exe, "sandbox", "up"], capture_output=True, text=True)
        dt = time.monotonic() - t
        if res.returncode != 0:
            print(f"run {i + 1}: sandbox up failed: {res.stderr.strip().splitlines()[-1:]}")
            return 1
        times.append(dt)
        print(f"run {i + 1}: warm sandbox up {dt:.1f} s")
    rss = sandbox_rss()
    total = sum(rss.values())
    print("resident memory by part: " + ", ".join(f"{k} {v / 1024:.0f} MiB" for k, v in sorted(rss.items())))
    print(f"warm up: median {statistics.median(times):.1f} s (goal < 60 s); "
          f"total resident {total / 1024 / 1024:.2f} GiB (goal < 4 GiB)")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    sys.exit(main())
