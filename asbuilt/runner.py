"""`asbuilt run`: static checks, then the live scenarios through pytest + pytest-bdd, then reports.

After the verdicts are combined (one result per control), waivers (``--waivers``) turn covered
failures into ``waived``; then results.json, junit.xml and the HTML sign-off report.html are
written, and with ``--baseline`` the run is compared with an earlier results.json (drift.md,
drift.json).

Exit code precedence: 1 (a must control failed, or --strict) > 2 (a must control errored) >
3 (drift against the baseline) > 0. Drift is still reported (drift.md, the summary) when the run
also failed; the exit code then says the more urgent thing.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from asbuilt.catalogue import Catalogue, Profile, load_catalogue, load_profile
from asbuilt.errors import InputError, RunError
from asbuilt.report.results import Selection
from asbuilt.rules import Verdict
from asbuilt.target import Target, load_target


def resolve_target_path(arg: str) -> Path:
    if arg == "sandbox":
        from asbuilt.paths import sandbox_target_file

        path = sandbox_target_file()
        if not path.exists():
            raise InputError("the sandbox is not up (no target file): run `asbuilt sandbox up` first")
        return path
    return Path(arg)


def select_controls(catalogue: Catalogue, profile: Profile, ids: list[str] | None) -> set[str] | None:
    if not ids:
        return None
    in_profile = {c.id for c in catalogue.for_profile(profile.base)}
    chosen = set()
    for raw in ids:
        control = catalogue.get(raw)
        if control.id not in in_profile:
            raise InputError(f"control {control.id} is not in profile {profile.name} (it belongs to {control.profile})")
        chosen.add(control.id)
    return chosen


def run(
    target_arg: str,
    profile_arg: str | None = None,
    report_dir: Path = Path("reports"),
    control_ids: list[str] | None = None,
    live: bool = True,
    static: bool = True,
    strict: bool = False,
    allow_mutating: bool = False,
    pytest_args: list[str] | None = None,
    waivers_path: Path | None = None,
    baseline_path: Path | None = None,
    workers: str | None = None,
    timeout: float | None = None,
) -> int:
    """`asbuilt run`: the pipeline (asbuilt.pipeline) over a target file."""
    from asbuilt.pipeline import Request, execute

    target_path = resolve_target_path(target_arg)
    target = load_target(target_path)
    catalogue = load_catalogue()
    profile = load_profile(profile_arg or target.profile or "conncentric-aws")
    selection = Selection(select_controls(catalogue, profile, control_ids), live=live, static=static, strict=strict)
    if live:
        from asbuilt.target import check_tls_files

        check_tls_files(target)
    return execute(Request(
        label=str(target_path), profile=profile, report_dir=report_dir, selection=selection, target=target,
        target_path=target_path, allow_mutating=allow_mutating, pytest_args=list(pytest_args or []),
        waivers_path=waivers_path, baseline_path=baseline_path, workers=workers, timeout=timeout))


DEADLINE_MESSAGE = "run deadline reached"
# Files a run writes only sometimes: removed first, so an earlier run's never pass for this one's.
STALE_REPORTS = ("drift.md", "drift.json", "results.sarif", "results.ocsf.json")


def prepare_report_dir(report_dir: Path, keep: tuple[str, ...] = ()) -> None:
    """Create the report folder (a file in its place is one line, exit 2) and remove the reports of an
    earlier run that this run may not write (results.sarif when no static scan runs, drift.* without
    --baseline); the ones it does write are written again."""
    report_dir = Path(report_dir)
    if report_dir.exists() and not report_dir.is_dir():
        raise InputError(f"--report-dir {report_dir}: exists and is not a directory")
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--report-dir {report_dir}: cannot create it: {exc.strerror or exc}") from None
    for name in STALE_REPORTS:
        stale = report_dir / name
        if name not in keep and (stale.is_file() or stale.is_symlink()):
            stale.unlink()


def source_verdicts(verdicts: list[Verdict]) -> dict[str, list[dict[str, Any]]]:
    """Per-source verdicts of the controls checked both live and static (the report sets them side by side)."""
    by: dict[str, list[Verdict]] = {}
    for v in verdicts:
        by.setdefault(v.control, []).append(v)
    return {
        cid: [{"source": v.source, "status": v.status, "message": v.message} for v in vs]
        for cid, vs in by.items()
        if {v.source for v in vs} >= {"live", "static"}
    }


def _marker_expr(catalogue: Catalogue, profile: Profile, selection: Selection) -> str:
    ids = [c for c in catalogue.for_profile(profile.base) if c.live and selection.selects(c)]
    return " or ".join(c.marker for c in ids) or "nothing_selected"


def _run_live(target_path: Path, target: Target, profile: Profile, catalogue: Catalogue, selection: Selection,
              report_dir: Path, allow_mutating: bool, pytest_args: list[str],
              deadline: float | None = None) -> tuple[list[Verdict], dict[str, int]]:
    import pytest

    from asbuilt.suite import ROOT, SCENARIO_MODULE

    if target.aws is not None and not (deadline is not None and time.time() >= deadline):
        _preflight_aws(target)
    with tempfile.TemporaryDirectory(prefix="asbuilt-") as tmp:
        out = Path(tmp) / "verdicts.json"
        args = [
            str(SCENARIO_MODULE),
            f"--rootdir={ROOT}",
            "-p", "no:terminal",
            "-p", "no:cacheprovider",
            "-o", "addopts=",
            f"--asbuilt-target={target_path}",
            f"--asbuilt-profile={profile.source if profile.source != 'built-in' else profile.name}",
            f"--asbuilt-verdicts={out}",
            f"--cucumberjson={(report_dir / 'cucumber.json').resolve()}",
            "-m", _marker_expr(catalogue, profile, selection),
            "-W", "ignore::DeprecationWarning",
            *(["--asbuilt-allow-mutating"] if allow_mutating else []),
            *([f"--asbuilt-deadline={deadline}"] if deadline is not None else []),
            *pytest_args,
        ]
        print(f"asbuilt: live scenarios against {target.name} (profile {profile.name})", flush=True)
        cwd = os.getcwd()
        from asbuilt.console import ScenarioProgress, progress

        try:
            with progress("live: collecting scenarios") as shown:
                code = pytest.main(args, plugins=[ScenarioProgress(shown)])
        finally:
            os.chdir(cwd)
        if int(code) in (3, 4) or not out.exists():  # internal error / usage error inside pytest
            raise RunError(f"the live suite could not run (pytest exit {int(code)})")
        doc = json.loads(out.read_text())
    if doc.get("crashed"):  # a parallel worker died: its scenarios' controls would silently read "skipped"
        crashed = doc["crashed"]
        raise RunError(f"the live suite could not finish: a parallel worker crashed while running "
                       f"{crashed[0].split('::')[-1]}" + (f" and {len(crashed) - 1} more" if len(crashed) > 1 else "")
                       + "; run again without -n to see why")
    verdicts = [Verdict.from_json(v) for v in doc["verdicts"]]
    return verdicts, doc.get("aws_calls", {}), doc.get("calls_by_kind", {})


def _preflight_aws(target: Target) -> None:
    """Exit 2 with one line when the AWS endpoint is unreachable or the credentials do not work."""
    from asbuilt.probes import ProbeError
    from asbuilt.probes.aws import AwsProbe

    try:
        AwsProbe(target.aws, allowed_networks=target.allowed_networks).preflight()  # type: ignore[arg-type]
    except ProbeError as exc:
        raise RunError(f"target {target.name}: {exc}") from None


from asbuilt.pipeline import print_summary  # noqa: E402,F401  (kept importable from here)
