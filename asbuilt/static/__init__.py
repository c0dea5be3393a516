"""Static checks: the same rules as the live suite, fed from IaC, charts, manifests and files.

The engine (checkov with asbuilt's custom checks in checks/) plugs in here:
``covered_controls()`` lists the controls that have a static check, ``scan_target()`` scans
the paths a target file names, ``scan_paths()`` serves `asbuilt static PATH...`.
"""

from __future__ import annotations

from pathlib import Path

from asbuilt.catalogue import Profile
from asbuilt.report.results import Selection
from asbuilt.rules import Verdict
from asbuilt.target import Target


def covered_controls() -> set[str]:
    return set()


def scan_target(target: Target, profile: Profile, selection: Selection, report_dir: Path) -> list[Verdict]:
    return []


def scan_paths(paths: list[Path], profile: Profile, values: list[Path], report_dir: Path) -> list[Verdict]:
    return []
