"""Benchmark: the full suite (every control of conncentric-aws) against the warm sandbox,
serial and parallel: wall time and peak resident memory of the `asbuilt run` process tree.

Goal (issue 7): every control in under 60 s on 2 cores, sandbox start excluded.

    .venv/bin/python benchmarks/full_run.py [--runs 3]      # the sandbox must be up

Run it alone: it reads the sandbox as it is (no `up`), and other work on the machine skews it.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def one_run(extra: list[str]) -> tuple[float, int, dict]:
    with tempfile.TemporaryDirectory(prefix="asbuilt-bench-") as tmp:
        t = time.monotonic()
        res = subprocess.run([sys.executable, "-m", "asbuilt", "run", "--target", "sandbox", "--report-dir", tmp,
                              *extra], capture_output=True, text=True)
        wall = time.monotonic() - t
        # peak RSS of the largest child so far (KiB on Linux): the run and its workers
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        counts = json.loads((Path(tmp) / "results.json").read_text())["run"]["counts"] if res.returncode in (0, 1, 2) \
            else {}
    return wall, peak, counts


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    for label, extra in (("serial", []), ("parallel -n 2", ["-n", "2"])):
        walls, peaks = [], []
        for _ in range(args.runs):
            wall, peak, counts = one_run(extra)
            walls.append(wall)
            peaks.append(peak)
        summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        print(f"{label:<14} median {statistics.median(walls):5.1f} s (min {min(walls):.1f}, max {max(walls):.1f}); "
              f"peak RSS {max(peaks) / 1024:.0f} MiB; last run: {summary}")
    print("goal: every control of conncentric-aws in under 60 s on 2 cores (sandbox start excluded)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
