"""Static checks: the same rules as the live suite, fed from IaC, charts, manifests and files.

checkov is the engine: its Terraform, CloudFormation and Kubernetes runners parse and render the
code (variables, modules, intrinsics; charts rendered with the real helm first), and asbuilt's
custom checks in ``checks/`` judge it with the rule functions of ``asbuilt.rules``. Relations
between resources are evaluated over a whole-set model of each stack built before the checks
run (``asbuilt.static.estate``). Inputs checkov has no runner for (Helm values, Gradle builds,
Git-tracked JARs, bundle zips, compose files) are read by ``asbuilt.static.files``.

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
    """Controls declared by a file in checks/ (read without importing checkov)."""
    from asbuilt.static.checkbase import declared_controls

    return declared_controls()


def _write_sarif(result, profile: Profile, report_dir: Path) -> None:
    from asbuilt.report.sarif import write_sarif

    report_dir.mkdir(parents=True, exist_ok=True)
    write_sarif(report_dir / "results.sarif", result, profile)


def scan_target(target: Target, profile: Profile, selection: Selection, report_dir: Path,
                deadline: float | None = None) -> list[Verdict]:
    """Static verdicts for a target's ``static`` section (nothing when it names no path).
    When ``deadline`` (time.time()) passes mid-scan, every selected static control is ``error``."""
    from asbuilt.static.engine import DeadlineReached, Scan, discover_target

    inputs = discover_target(target)
    if inputs.empty():
        return []
    scan = Scan(inputs, profile, selection.control_ids, deadline=deadline)
    try:
        result = scan.run()
    except DeadlineReached as exc:
        return [Verdict(c, "error", f"{exc}: not checked", [], "static") for c in sorted(scan.controls)]
    _write_sarif(result, profile, report_dir)
    return result.verdicts


def scan_paths(paths: list[Path], profile: Profile, values: list[Path], report_dir: Path) -> list[Verdict]:
    """`asbuilt static PATH...`: the static verdicts (results.sarif written to report_dir)."""
    return scan(paths, profile, values, report_dir).verdicts


def scan(paths: list[Path], profile: Profile, values: list[Path], report_dir: Path, builtins: bool = False,
         controls: set[str] | None = None):
    """Like scan_paths, returning the whole ScanResult (verdicts, per-resource findings, checkov's
    built-in findings when ``builtins``, the inputs found, timing)."""
    from asbuilt.static.engine import Scan, discover_paths

    result = Scan(discover_paths(paths, values), profile, controls, builtins).run()
    _write_sarif(result, profile, report_dir)
    return result
