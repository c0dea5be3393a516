"""One pipeline for `asbuilt run`, `asbuilt run --static-only` and `asbuilt static`.

    select → read + evaluate (static scan, live scenarios) → the suite's SUITE-01/02
    → combine (one result per control) → waivers → SUITE-03 → drift → write every report → exit

Each step runs once, in that order. SUITE-03 (no secret in any report) is judged on the reports
as they will be written: they are rendered into a staging folder first, scanned there together
with the files the reading steps already wrote (cucumber.json, results.sarif), and only then
written to the report folder. Drift against a baseline is computed after the suite's own
controls are decided, so two identical runs do not drift.

A run that examined nothing (no static input and no live part) is not a pass: exit 2.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from asbuilt.catalogue import Catalogue, Profile, load_catalogue
from asbuilt.errors import RunError
from asbuilt.report.results import (
    ControlResult, Selection, combine, counts, exit_code, run_info, utc_now, write_junit, write_results_json,
)
from asbuilt.rules import Verdict

LIVE_ONLY = "live only; this run had no live target"
SUITE_LIVE = ("SUITE-01", "SUITE-02")


@dataclass
class Request:
    """What one run is asked to do."""

    label: str                      # the target file, or the scanned paths, as results.json names it
    profile: Profile
    report_dir: Path
    selection: Selection
    target: Any = None              # asbuilt.target.Target, for `run`
    target_path: Path | None = None
    static_inputs: Any = None       # asbuilt.static.engine.Inputs, for `static PATH...` (else the target's)
    builtins: bool = False          # --with-checkov-builtins
    allow_mutating: bool = False
    pytest_args: list[str] = field(default_factory=list)
    waivers_path: Path | None = None
    baseline_path: Path | None = None
    workers: str | None = None
    timeout: float | None = None    # --timeout: the whole run's deadline, in seconds
    extra: dict[str, Any] = field(default_factory=dict)
    source_root: Path | None = None  # --source-root: what SARIF URIs are relative to (default: git top level)
    formats: tuple[str, ...] | None = None  # -o/--output: the report files to keep (None: every default one)


@dataclass
class Outcome:
    verdicts: list[Verdict] = field(default_factory=list)
    implemented: dict[str, set[str]] = field(default_factory=dict)
    coverage: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    examined: bool = False
    builtin_findings: list[dict] | None = None
    live_ran: bool = False


def implemented_controls() -> dict[str, set[str]]:
    """Control ID -> the sources ("live", "static") that have a scenario or a check."""
    from asbuilt import static as static_engine
    from asbuilt import suite_controls
    from asbuilt.suite import live_coverage

    out: dict[str, set[str]] = {}
    for cid in live_coverage():
        out.setdefault(cid, set()).add("live")
    for cid in static_engine.covered_controls():
        out.setdefault(cid, set()).add("static")
    for cid in suite_controls.COVERED:
        out.setdefault(cid, set()).add("live")
    return out


def execute(req: Request) -> int:
    """The run (see the module docstring). What it prints on stdout and stderr is scanned for the
    target's secrets (and redacted) from here to the end: SUITE-03 covers the console too."""
    from asbuilt import secrets_guard

    from asbuilt.console import SETTINGS

    if req.formats is None:
        req.formats = SETTINGS.formats
    if req.source_root is None:
        req.source_root = SETTINGS.source_root
    secret_values = secrets_guard.known_secrets(req.target) if req.target is not None else []
    if not SETTINGS.to_stdout:
        with secrets_guard.ConsoleGuard(secret_values) as console:
            return _execute(req, secret_values, console)
    # `-o json` without --report-dir: results.json is the only thing on stdout, the rest on stderr
    import contextlib

    with tempfile.TemporaryDirectory(prefix="asbuilt-out-") as tmp, \
            secrets_guard.ConsoleGuard(secret_values) as console:
        req.report_dir = Path(tmp)
        out = sys.stdout
        with contextlib.redirect_stdout(sys.stderr):
            code = _execute(req, secret_values, console)
        out.write((Path(tmp) / "results.json").read_text())
        out.flush()
        return code


def _execute(req: Request, secret_values: list[str], console: Any) -> int:
    started = utc_now()
    catalogue = load_catalogue()
    from asbuilt.report.results import load_results_json
    from asbuilt.waivers import load_waivers

    # Bad waiver or baseline files are input errors before anything runs.
    waivers = load_waivers(req.waivers_path) if req.waivers_path is not None else None
    baseline = load_results_json(req.baseline_path) if req.baseline_path is not None else None
    from asbuilt.runner import DEADLINE_MESSAGE, prepare_report_dir

    prepare_report_dir(req.report_dir, keep=("drift.md", "drift.json") if baseline is not None else ())
    # The whole run's deadline (--timeout): checked between static stacks and before each scenario;
    # what is not reached by then is `error` ("run deadline reached") and the run exits 2.
    deadline = time.time() + req.timeout if req.timeout else None

    out = Outcome(implemented=implemented_controls(), extra=dict(req.extra))
    _read_static(req, out, deadline)
    _read_live(req, catalogue, out, deadline)
    if not out.examined:
        scoped = out.extra.get("static_scoped_out") or []
        raise RunError(f"{req.label}: nothing to examine: the target names no static input and no live part "
                       "(aws, kubernetes, kafka, postgres) for the selected checks"
                       + (f" ({len(scoped)} static entr{'y is' if len(scoped) == 1 else 'ies are'} scoped to "
                          f"other profiles: {scoped[0]})" if scoped else ""))

    from asbuilt import secrets_guard

    # SUITE-03, first layer: nothing secret leaves this process in a verdict.
    redactions = secrets_guard.redact_verdicts(out.verdicts, secret_values)

    deadline_hit = any(v.status == "error" and v.message.startswith(DEADLINE_MESSAGE) for v in out.verdicts)
    results = combine(catalogue, req.profile, out.verdicts, req.selection, out.implemented)
    _live_only_skipped(results, catalogue, out.live_ran)
    if out.live_ran:  # cucumber.json says what results.json says (skipped/pending/error are not passed scenarios)
        from asbuilt.report.cucumber import rewrite

        rewrite(req.report_dir / "cucumber.json", results)
    run_doc = run_info(req.label, req.profile, started, **_run_fields(req, out))
    if deadline_hit:
        run_doc["deadline"] = {"timeout_seconds": req.timeout, "reached": True}
    # The run's own description (the target's name, paths) is written too: first layer for it as well.
    run_doc, n = secrets_guard.redact(run_doc, secret_values)
    redactions += n
    if waivers is not None:
        from asbuilt.waivers import apply_waivers

        run_doc["waivers_file"] = str(req.waivers_path)
        run_doc["waivers"] = apply_waivers(results, waivers, req.profile.name)

    drift = _decide_suite_03_and_write(req, catalogue, run_doc, results, baseline, out.builtin_findings,
                                       secret_values, redactions, console.findings)

    code = exit_code(results, req.selection.strict)
    if code == 0 and drift is not None and drift.drift:
        code = 3
    if deadline_hit:
        code = 2
    print_summary(results, req.profile, code, req.report_dir, run_doc)
    if deadline_hit:
        print(f"  run deadline reached (--timeout {req.timeout:g} s): the controls not reached are `error`")
    for w in run_doc.get("waivers") or []:
        if w["state"] != "active":
            print(f"  waiver {w['control']} ({w['approver']}, expires {w['expires']}): {w['state']}: {w['note']}")
    if out.builtin_findings is not None:
        print(f"  checkov built-in checks: {len(out.builtin_findings)} finding(s) listed as extra_findings "
              "(not reference-architecture controls; they do not change the exit code)")
    if drift is not None:
        from asbuilt.report.drift import text_summary
        from asbuilt.safeio import clean

        print(clean(text_summary(drift)))
        print(f"  drift report: {req.report_dir / 'drift.md'}")
    return code


# --------------------------------------------------------------------------- read + evaluate


def _read_static(req: Request, out: Outcome, deadline: float | None = None) -> None:
    if not req.selection.static:
        return
    from asbuilt import static as static_engine
    from asbuilt.static.engine import DeadlineReached, Scan, discover_target

    inputs = req.static_inputs
    if inputs is None and req.target is not None:
        inputs = discover_target(req.target, req.profile)
        scoped = [n for n in inputs.skipped if "not judged by profile" in n]
        if scoped:  # run.static_scoped_out: the entries static.*.profiles kept out of this profile's run
            out.extra["static_scoped_out"] = scoped
    if inputs is None or inputs.empty():
        if req.static_inputs is not None:
            unread = list(getattr(inputs, "skipped", []) or [])
            raise RunError("nothing to scan: no Terraform, CloudFormation, manifest, Helm chart, compose file, "
                           "Gradle build or bundle zip found"
                           + (f" (not read: {'; '.join(unread[:3])})" if unread else ""))
        return
    scan = Scan(inputs, req.profile, req.selection.control_ids, req.builtins, deadline=deadline)
    from asbuilt.console import progress

    try:
        with progress("static: scanning"):
            result = scan.run()
    except DeadlineReached as exc:
        out.verdicts += [Verdict(c, "error", f"{exc}: not checked", [], "static") for c in sorted(scan.controls)]
        out.examined = True
        return
    static_engine.write_sarif(result, req.profile, req.report_dir, req.source_root)
    out.verdicts += result.verdicts
    out.examined = True
    out.coverage["static"] = result.coverage
    out.extra.update(static_inputs=result.inputs, static_seconds=round(result.seconds, 2), notes=result.notes)
    if req.builtins:
        out.extra["checkov_builtins"] = True
        out.builtin_findings = result.builtin_findings


def _read_live(req: Request, catalogue: Catalogue, out: Outcome, deadline: float | None = None) -> None:
    if not req.selection.live or req.target is None:
        (req.report_dir / "cucumber.json").write_text("[]\n")
        return
    t = req.target
    if not any(getattr(t, part, None) is not None for part in ("aws", "kubernetes", "kafka", "postgres")):
        (req.report_dir / "cucumber.json").write_text("[]\n")
        return
    from asbuilt import suite_controls
    from asbuilt.runner import _run_live

    verdicts, aws_calls, calls_by_kind = _run_live(req.target_path, t, req.profile, catalogue, req.selection,
                                                   req.report_dir, req.allow_mutating, req.pytest_args, deadline)
    out.verdicts += verdicts
    out.verdicts += suite_controls.run_verdicts(calls_by_kind)
    out.extra["aws_api_calls"] = sum(aws_calls.values())
    out.extra["aws_api_calls_by_operation"] = dict(sorted(aws_calls.items()))
    out.coverage["live"] = {"aws_api_calls_by_operation": dict(sorted(aws_calls.items()))}
    out.examined = True
    out.live_ran = True


def _live_only_skipped(results: list[ControlResult], catalogue: Catalogue, live_ran: bool) -> None:
    """A live-only control (and SUITE-01/02, which judge live calls) in a run without a live part
    is skipped with that reason, never pending."""
    if live_ran:
        return
    for r in results:
        control = catalogue.get(r.id)
        live_only = r.id in SUITE_LIVE or (list(control.where) == ["live"])
        if live_only and r.status in ("pending", "skipped") and not r.message.startswith("not selected"):
            r.status, r.source, r.message = "skipped", "none", LIVE_ONLY


def _run_fields(req: Request, out: Outcome) -> dict[str, Any]:
    sel = req.selection
    mode = "live+static" if out.live_ran and sel.static else ("live" if out.live_ran else "static")
    fields: dict[str, Any] = dict(out.extra)
    if req.target is not None:
        fields["target_name"] = req.target.name
    fields.update(mode=mode, selected_controls=sorted(sel.control_ids) if sel.control_ids else "all",
                  strict=sel.strict, coverage=out.coverage)
    from asbuilt.runner import source_verdicts

    fields["source_verdicts"] = source_verdicts(out.verdicts)
    if req.workers:
        fields["workers"] = req.workers
    return fields


# --------------------------------------------------------------------------- SUITE-03 and writing


def _drift(req: Request, baseline: dict, run_doc: dict, results: list[ControlResult]) -> Any:
    from asbuilt.report import drift as drift_mod

    current = json.loads(json.dumps(
        {"run": {**run_doc, "counts": counts(results)}, "controls": [asdict(r) for r in results]}, default=str))
    drift = drift_mod.compare(baseline, current, str(req.baseline_path), str(req.report_dir / "results.json"))
    run_doc["drift"] = {"baseline": str(req.baseline_path), "baseline_started": drift.baseline.get("started"),
                        "drift": drift.drift, "counts": drift.summary_counts()}
    return drift


def _set_suite_03(results: list[ControlResult], verdict: Verdict) -> None:
    for r in results:
        if r.id == "SUITE-03":
            r.status, r.source, r.message = verdict.status, "live", verdict.message
            r.evidence = [{"source": "live", **e} for e in verdict.evidence]
            r.findings = [{**f.to_json(), "source": "live"} for f in verdict.findings]


def _decide_suite_03_and_write(req: Request, catalogue: Catalogue, run_doc: dict, results: list[ControlResult],
                               baseline: dict | None, builtin_findings: list[dict] | None, secret_values: list[str],
                               redactions: int, console: list[dict] | None) -> Any:
    """SUITE-03, then drift, then every report, each once: the reports are rendered into a
    staging folder (beside the report folder) with SUITE-03 presumed to pass, scanned there with
    the files the reading steps wrote (cucumber.json, results.sarif) and the console; when the
    scan agrees they are moved into place, otherwise they are rendered again with its verdict."""
    from asbuilt import suite_controls

    selected = req.selection.selects(catalogue.get("SUITE-03"))
    from asbuilt.console import FORMAT_FILES, Settings

    kept = Settings(formats=req.formats).kept_files()  # -o: the report files this run keeps
    earlier = [n for n in ("cucumber.json", "results.sarif") if (req.report_dir / n).exists()]
    for name in [n for n in earlier if n not in kept]:
        (req.report_dir / name).unlink()
    earlier = [n for n in earlier if n in kept]
    written = ["results.json", "junit.xml", "report.html", FORMAT_FILES["ocsf"]]
    names = [*earlier, *[n for n in written if n in kept], *(("drift.md", "drift.json") if baseline else ())]
    # what the scan says when it finds nothing (the same function, the same inputs): when it agrees,
    # the staged reports are already the final ones
    presumed = suite_controls.secrets([], len(names), redactions, [] if console is not None else None,
                                      len(secret_values)) if selected else None
    with tempfile.TemporaryDirectory(prefix=".asbuilt-staging-", dir=req.report_dir) as tmp:
        staging = Path(tmp)
        for name in earlier:
            shutil.copy2(req.report_dir / name, staging / name)
        if presumed is not None:
            _set_suite_03(results, presumed)
        drift = _drift(req, baseline, run_doc, results) if baseline is not None else None
        _write_reports(staging, run_doc, results, drift, builtin_findings, req.report_dir, kept)
        if presumed is not None:
            verdict = suite_controls.scan_reports(staging, secret_values, redactions, console)
            if (verdict.status, verdict.message, verdict.evidence) != (presumed.status, presumed.message,
                                                                       presumed.evidence):
                _set_suite_03(results, verdict)  # rare: a secret was met; render again with the finding
                drift = _drift(req, baseline, run_doc, results) if baseline is not None else None
                _write_reports(staging, run_doc, results, drift, builtin_findings, req.report_dir, kept)
                from asbuilt import secrets_guard

                for name in names:
                    if (staging / name).exists():
                        secrets_guard.scrub_file(staging / name, secret_values)
        for name in names:
            if (staging / name).exists():
                os.replace(staging / name, req.report_dir / name)
    for name in set(FORMAT_FILES.values()) - kept:  # -o left it out: no earlier run's copy either
        if (req.report_dir / name).is_file():
            (req.report_dir / name).unlink()
    return drift


def _write_reports(report_dir: Path, run_doc: dict, results: list[ControlResult], drift: Any,
                   builtin_findings: list[dict] | None, final_dir: Path | None = None,
                   kept: set[str] | None = None) -> None:
    """Every report into report_dir (the staging folder); the HTML names the results.json of
    final_dir, where the reports will be. The OCSF file only when kept (-o ocsf)."""
    import hashlib

    from asbuilt.report.html import render_html

    doc = write_results_json(report_dir / "results.json", run_doc, results)
    if builtin_findings is not None:
        doc["extra_findings"] = builtin_findings
        (report_dir / "results.json").write_text(json.dumps(doc, indent=2, default=str) + "\n")
    write_junit(report_dir / "junit.xml", run_doc, results)
    # the document just written, not read back: it is ours, built from the same structures
    sha = hashlib.sha256((report_dir / "results.json").read_bytes()).hexdigest()
    shown = (final_dir or report_dir) / "results.json"
    (report_dir / "report.html").write_text(render_html(doc, sha, str(shown)), encoding="utf-8")
    if kept and "results.ocsf.json" in kept:
        from asbuilt.report.ocsf import write_ocsf

        write_ocsf(report_dir / "results.ocsf.json", doc)
    if drift is not None:
        from asbuilt.report import drift as drift_mod

        drift_mod.write_files(drift, report_dir / "drift.md", report_dir / "drift.json")


# --------------------------------------------------------------------------- console


_ICON = {"pass": "pass", "fail": "FAIL", "warn": "warn", "waived": "waived", "error": "ERROR",
         "skipped": "skipped", "pending": "pending"}


def print_summary(results: list[ControlResult], profile: Profile, code: int, report_dir: Path,
                  run_doc: dict | None = None) -> None:
    from asbuilt.console import SETTINGS, paint
    from asbuilt.safeio import clean

    out = sys.stdout
    quiet, verbose = SETTINGS.verbosity < 0, SETTINGS.verbosity > 0
    if not quiet:
        print("", file=out)
        print(f"{'control':<12} {'sev':<6} {'status':<8} {'source':<7} message", file=out)
    for r in results if not quiet else []:
        if r.status in ("skipped",) and r.message.startswith("not selected"):
            continue
        text = clean(r.message, keep_newlines=False)  # no raw escape sequence reaches the terminal
        msg = text if verbose or len(text) <= 110 else text[:107] + "..."
        icon = _ICON.get(r.status, r.status)
        print(f"{clean(r.id):<12} {r.severity:<6} {paint(icon, f'{icon:<8}', out)} {r.source:<7} {msg}", file=out)
    c = counts(results)
    summary = ", ".join(f"{n} {s}" for s, n in c.items() if n)
    verdict = {0: "CONFORMING", 1: "NOT CONFORMING", 2: "INCOMPLETE (errors)",
               3: "DRIFT against the baseline"}.get(code, f"exit {code}")
    if code == 0 and c["pending"]:
        verdict = f"NO FAILURES, {c['pending']} CONTROLS NOT YET CHECKED (pending)"
    from asbuilt import console

    where = "" if SETTINGS.to_stdout or not console.ANNOUNCE_REPORTS else f" Reports in {report_dir}/" + (
        f" (sign-off: {report_dir / 'report.html'})" if (report_dir / "report.html").exists() else "")
    word = {0: "pass", 1: "FAIL", 2: "ERROR", 3: "warn"}.get(code, "")
    print(("" if quiet else "\n") + paint(word, clean(verdict), out)
          + clean(f": profile {profile.name}: {summary}.{where}"), file=out)
    if quiet:
        return
    for note in _coverage_notes((run_doc or {}).get("coverage") or {}):
        print(clean(f"  coverage: {note}", keep_newlines=False), file=out)
    for o in profile.overrides:
        print(f"  threshold override: {o.control}.{o.key} = {o.value!r} (reference {o.reference!r})", file=out)


def _coverage_notes(coverage: dict) -> list[str]:
    st = coverage.get("static") or {}
    notes = []
    if st:
        notes.append(f"read {st.get('files_read', 0)} file(s), {sum((st.get('resources') or {}).values())} "
                     f"resource(s) in {len(st.get('stacks') or [])} stack(s)")
    for m in st.get("modules_unresolved") or []:
        if m.get("fact"):  # a CloudFormation nested stack or macro
            notes.append(f"{m['fact']} is unknown ({m['file']}:{m['line']}: {m['why']}; {m['hint']})")
            continue
        notes.append(f"module {m['module']} ({m['source']}) at {m['file']}:{m['line']} is not on disk: "
                     "what it creates is unknown (a plan file decides it)")
    for f in st.get("not_read") or []:
        notes.append(f"not read: {f}")
    return notes
