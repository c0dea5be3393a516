"""`asbuilt static PATH...`: static checks only (contract: shared/interface.md).

Writes results.json (one entry per control of the profile, source ``static``, file:line
evidence), junit.xml, results.sarif and the sign-off report.html to --report-dir; exits 0 (conforming), 1 (a must control
failed) or 2 (the scan could not be carried out: missing path, parse error, helm missing...).
With --with-checkov-builtins, checkov's own checks also run and their failures are listed as
``extra_findings`` in results.json and as ``checkov/<id>`` results in results.sarif, labelled as
not being reference-architecture controls; they never change the exit code.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from asbuilt.catalogue import load_catalogue, load_profile
from asbuilt.report.results import Selection, combine, exit_code, run_info, utc_now, write_junit, write_results_json


def cmd_static(args: argparse.Namespace) -> int:
    from asbuilt import static
    from asbuilt.runner import prepare_report_dir, print_summary, select_controls

    started = utc_now()
    catalogue = load_catalogue()
    profile = load_profile(args.profile or "conncentric-aws")
    report_dir: Path = args.report_dir
    chosen = select_controls(catalogue, profile, getattr(args, "controls", None) or None)
    selection = Selection(chosen, live=False, static=True, strict=bool(getattr(args, "strict", False)))
    builtins = bool(getattr(args, "with_checkov_builtins", False))
    prepare_report_dir(report_dir, keep=("results.sarif",))  # no drift.* from an earlier run
    result = static.scan(list(args.paths), profile, list(args.values or []), report_dir, builtins=builtins,
                         controls=chosen)
    from asbuilt.suite import live_coverage

    implemented: dict[str, set[str]] = {cid: {"live"} for cid in live_coverage()}
    for cid in static.covered_controls():
        implemented.setdefault(cid, set()).add("static")
    results = combine(catalogue, profile, result.verdicts, selection, implemented)
    run_doc = run_info(" ".join(str(p) for p in args.paths), profile, started, mode="static",
                       static_inputs=result.inputs, static_seconds=round(result.seconds, 2),
                       checkov_builtins=builtins, notes=result.notes,
                       selected_controls=sorted(chosen) if chosen else "all")
    write_results_json(report_dir / "results.json", run_doc, results)
    if builtins:
        path = report_dir / "results.json"
        doc = json.loads(path.read_text())
        doc["extra_findings"] = result.builtin_findings
        path.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    write_junit(report_dir / "junit.xml", run_doc, results)
    try:  # the sign-off report, as `asbuilt run` writes it
        from asbuilt.report.html import write_html
        from asbuilt.report.results import load_results_json
    except ImportError:
        write_html = None
    if write_html is not None:
        write_html(load_results_json(report_dir / "results.json"), report_dir / "report.html", report_dir / "results.json")
    code = exit_code(results, selection.strict)
    print_summary(results, profile, code, report_dir)
    if builtins:
        print(f"  checkov built-in checks: {len(result.builtin_findings)} finding(s) listed as extra_findings "
              "(not reference-architecture controls; they do not change the exit code)")
    return code
