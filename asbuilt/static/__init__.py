"""Static checks: the same rules as the live suite, fed from IaC, charts, manifests and files.

checkov is the engine: its Terraform, CloudFormation and Kubernetes runners parse and render the
code (variables, modules, intrinsics; charts rendered with the real helm first), and asbuilt's
custom checks in ``checks/`` judge it with the rule functions of ``asbuilt.rules``. Relations
between resources are evaluated over a whole-set model of each stack built before the checks
run (``asbuilt.static.estate``). Inputs checkov has no runner for (Helm values, Gradle builds,
Git-tracked JARs, bundle zips, compose files) are read by ``asbuilt.static.files``.

``covered_controls()`` lists the controls that have a static check; ``scan()`` scans paths
in-process (the pipeline, asbuilt.pipeline, runs the same Scan for `run` and `static`).
"""

from __future__ import annotations

from pathlib import Path

from asbuilt.catalogue import Profile


def covered_controls() -> set[str]:
    """Controls declared by a file in checks/ (read without importing checkov)."""
    from asbuilt.static.checkbase import declared_controls

    return declared_controls()


def write_sarif(result, profile: Profile, report_dir: Path, source_root: Path | None = None) -> None:
    from asbuilt.report import sarif

    report_dir.mkdir(parents=True, exist_ok=True)
    sarif.write_sarif(report_dir / "results.sarif", result, profile, source_root)


def scan(paths: list[Path], profile: Profile, values: list[Path], report_dir: Path, builtins: bool = False,
         controls: set[str] | None = None):
    """The whole ScanResult of PATHs (verdicts, per-resource findings, checkov's built-in findings
    when ``builtins``, the inputs found, coverage, timing); results.sarif written to report_dir."""
    from asbuilt.static.engine import Scan, discover_paths

    result = Scan(discover_paths(paths, values), profile, controls, builtins).run()
    write_sarif(result, profile, report_dir)
    return result
