"""Helpers for the project's own tests: run the real CLI, write target files."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    def results(self, report_dir: Path) -> dict:
        return json.loads((report_dir / "results.json").read_text())


def asbuilt(*args: str | Path, cwd: Path | None = None, env: dict | None = None, timeout: float = 600) -> CliResult:
    """Run the real `asbuilt` command (as a user would) and capture what it prints."""
    import os

    full_env = {**os.environ, **(env or {})}
    res = subprocess.run(
        [sys.executable, "-m", "asbuilt", *map(str, args)],
        capture_output=True, text=True, cwd=cwd or ROOT, env=full_env, timeout=timeout,
    )
    return CliResult(res.returncode, res.stdout, res.stderr)


def write_yaml(path: Path, data) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def by_id(results: dict) -> dict[str, dict]:
    return {c["id"]: c for c in results["controls"]}


def reset_moto(endpoint: str) -> None:
    """Empty the moto server (its own reset API) so each test provisions a fresh estate."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10).read()
