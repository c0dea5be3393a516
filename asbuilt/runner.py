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
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from asbuilt.catalogue import Catalogue, Profile, load_catalogue, load_profile
from asbuilt.errors import InputError, RunError
from asbuilt.report.results import (
    ControlResult, Selection, combine, counts, exit_code, run_info, utc_now, write_junit, write_results_json,
)
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
) -> int:
    started = utc_now()
    target_path = resolve_target_path(target_arg)
    target = load_target(target_path)
    catalogue = load_catalogue()
    profile = load_profile(profile_arg or target.profile or "conncentric-aws")
    # Bad waiver or baseline files are input errors before anything runs.
    from asbuilt.report.results import load_results_json
    from asbuilt.waivers import apply_waivers, load_waivers

    waivers = load_waivers(waivers_path) if waivers_path is not None else None
    baseline = load_results_json(baseline_path) if baseline_path is not None else None
    selection = Selection(select_controls(catalogue, profile, control_ids), live=live, static=static, strict=strict)
    report_dir.mkdir(parents=True, exist_ok=True)

    verdicts: list[Verdict] = []
    implemented: dict[str, set[str]] = {}
    from asbuilt.suite import live_coverage

    for cid in live_coverage():
        implemented.setdefault(cid, set()).add("live")
    from asbuilt import static as static_engine

    for cid in static_engine.covered_controls():
        implemented.setdefault(cid, set()).add("static")

    extra: dict = {}
    if static:
        verdicts += static_engine.scan_target(target, profile, selection, report_dir)
    aws_calls: dict[str, int] = {}
    from asbuilt import secrets_guard, suite_controls

    for cid in suite_controls.COVERED:
        implemented.setdefault(cid, set()).add("live")
    if live:
        live_verdicts, aws_calls, calls_by_kind = _run_live(target_path, target, profile, catalogue, selection,
                                                            report_dir, allow_mutating, pytest_args or [])
        verdicts += live_verdicts
        extra["aws_api_calls"] = sum(aws_calls.values())
        extra["aws_api_calls_by_operation"] = dict(sorted(aws_calls.items()))
        verdicts += suite_controls.run_verdicts(calls_by_kind)
    else:
        (report_dir / "cucumber.json").write_text("[]\n")
    # SUITE-03, first layer: nothing secret leaves this process in a verdict.
    secret_values = secrets_guard.known_secrets(target)
    redactions = secrets_guard.redact_verdicts(verdicts, secret_values)

    results = combine(catalogue, profile, verdicts, selection, implemented)
    if waivers is not None:
        extra["waivers_file"] = str(waivers_path)
        extra["waivers"] = apply_waivers(results, waivers, profile.name)
    extra["source_verdicts"] = source_verdicts(verdicts)
    if workers:
        extra["workers"] = workers
    mode = "live+static" if live and static else ("live" if live else "static")
    run_doc = run_info(str(target_path), profile, started, target_name=target.name, mode=mode,
                       selected_controls=sorted(selection.control_ids) if selection.control_ids else "all",
                       strict=strict, **extra)
    drift = None
    if baseline is not None:
        from asbuilt.report import drift as drift_mod

        current = json.loads(json.dumps(
            {"run": {**run_doc, "counts": counts(results)}, "controls": [asdict(r) for r in results]}, default=str))
        drift = drift_mod.compare(baseline, current, str(baseline_path), str(report_dir / "results.json"))
        run_doc["drift"] = {"baseline": str(baseline_path), "baseline_started": drift.baseline.get("started"),
                            "drift": drift.drift, "counts": drift.summary_counts()}
        drift_mod.write_files(drift, report_dir / "drift.md", report_dir / "drift.json")
    write_results_json(report_dir / "results.json", run_doc, results)
    write_junit(report_dir / "junit.xml", run_doc, results)
    from asbuilt.report.html import write_html

    write_html(load_results_json(report_dir / "results.json"), report_dir / "report.html", report_dir / "results.json")
    # SUITE-03, second layer: read back every file this run wrote; scrub, then judge what remains.
    suite03 = suite_controls.scan_reports(report_dir, secret_values, redactions)
    if selection.selects(catalogue.get("SUITE-03")):
        for r in results:
            if r.id == "SUITE-03":
                r.status, r.source, r.message = suite03.status, "live", suite03.message
                r.evidence = [{"source": "live", **e} for e in suite03.evidence]
        write_results_json(report_dir / "results.json", run_doc, results)
        write_junit(report_dir / "junit.xml", run_doc, results)
        write_html(load_results_json(report_dir / "results.json"), report_dir / "report.html",
                   report_dir / "results.json")
    code = exit_code(results, strict)
    if code == 0 and drift is not None and drift.drift:
        code = 3
    print_summary(results, profile, code, report_dir)
    for w in extra.get("waivers") or []:
        if w["state"] != "active":
            print(f"  waiver {w['control']} ({w['approver']}, expires {w['expires']}): {w['state']}: {w['note']}")
    if drift is not None:
        from asbuilt.report.drift import text_summary

        print(text_summary(drift))
        print(f"  drift report: {report_dir / 'drift.md'}")
    return code


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
              report_dir: Path, allow_mutating: bool, pytest_args: list[str]) -> tuple[list[Verdict], dict[str, int]]:
    import pytest

    from asbuilt.suite import ROOT, SCENARIO_MODULE

    if target.aws is not None:
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
            *pytest_args,
        ]
        print(f"asbuilt: live scenarios against {target.name} (profile {profile.name})", flush=True)
        cwd = os.getcwd()
        try:
            code = pytest.main(args)
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
    verdicts = [Verdict(v["control"], v["status"], v["message"], v["evidence"], v["source"]) for v in doc["verdicts"]]
    return verdicts, doc.get("aws_calls", {}), doc.get("calls_by_kind", {})


def _preflight_aws(target: Target) -> None:
    """Exit 2 with one line when the AWS endpoint is unreachable or the credentials do not work."""
    from asbuilt.probes import ProbeError
    from asbuilt.probes.aws import AwsProbe

    try:
        AwsProbe(target.aws).preflight()  # type: ignore[arg-type]
    except ProbeError as exc:
        raise RunError(f"target {target.name}: {exc}") from None


_ICON = {"pass": "pass", "fail": "FAIL", "warn": "warn", "waived": "waived", "error": "ERROR",
         "skipped": "skipped", "pending": "pending"}


def print_summary(results: list[ControlResult], profile: Profile, code: int, report_dir: Path) -> None:
    out = sys.stdout
    print("", file=out)
    print(f"{'control':<12} {'sev':<6} {'status':<8} {'source':<7} message", file=out)
    for r in results:
        if r.status in ("skipped",) and r.message.startswith("not selected"):
            continue
        msg = r.message if len(r.message) <= 110 else r.message[:107] + "..."
        print(f"{r.id:<12} {r.severity:<6} {_ICON[r.status]:<8} {r.source:<7} {msg}", file=out)
    c = counts(results)
    summary = ", ".join(f"{n} {s}" for s, n in c.items() if n)
    verdict = {0: "CONFORMING", 1: "NOT CONFORMING", 2: "INCOMPLETE (errors)",
               3: "DRIFT against the baseline"}.get(code, f"exit {code}")
    if code == 0 and c["pending"]:
        verdict = f"NO FAILURES, {c['pending']} CONTROLS NOT YET CHECKED (pending)"
    print(f"\n{verdict}: profile {profile.name}: {summary}. Reports in {report_dir}/ "
          f"(sign-off: {report_dir / 'report.html'})", file=out)
    for o in profile.overrides:
        print(f"  threshold override: {o.control}.{o.key} = {o.value!r} (reference {o.reference!r})", file=out)
