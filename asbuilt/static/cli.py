"""`asbuilt static PATH...`: static checks only (contract: shared/interface.md), through the one
pipeline (asbuilt.pipeline) that `asbuilt run` uses.

Writes results.json (one entry per control of the profile; live-only controls ``skipped``:
"live only; this run had no live target"), junit.xml, results.sarif and the sign-off
report.html to --report-dir; exits 0 (conforming), 1 (a must control failed) or 2 (the scan could
not be carried out: missing path, parse error, helm missing...). With --with-checkov-builtins,
checkov's own checks also run and their failures are listed as ``extra_findings`` in
results.json and as ``checkov/<id>`` results in results.sarif, labelled as not being
reference-architecture controls; they never change the exit code.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from asbuilt.catalogue import load_catalogue, load_profile
from asbuilt.report.results import Selection


def cmd_static(args: argparse.Namespace) -> int:
    from asbuilt.pipeline import Request, execute
    from asbuilt.runner import select_controls
    from asbuilt.static.engine import discover_paths

    catalogue = load_catalogue()
    profile = load_profile(args.profile or "conncentric-aws")
    report_dir: Path = args.report_dir
    chosen = select_controls(catalogue, profile, getattr(args, "controls", None) or None)
    selection = Selection(chosen, live=False, static=True, strict=bool(getattr(args, "strict", False)))
    inputs = discover_paths(list(args.paths), list(args.values or []), getattr(args, "release", None),
                            getattr(args, "namespace", None))
    from asbuilt.safeio import check_file
    from asbuilt.errors import InputError

    for f in getattr(args, "var_files", None) or []:
        check_file(Path(f).expanduser(), "Terraform variables", "config", InputError)
        inputs.tf_var_files.append(Path(f).expanduser().resolve())
    inputs.tf_vars = list(getattr(args, "tf_vars", None) or [])
    from asbuilt.static.engine import cfn_parameter_file, cfn_parameters

    for f in getattr(args, "cfn_parameter_files", None) or []:  # files first: --parameter wins
        inputs.cfn_parameters.update(cfn_parameter_file(Path(f).expanduser()))
    inputs.cfn_parameters.update(cfn_parameters(list(getattr(args, "cfn_parameters", None) or [])))
    return execute(Request(
        label=" ".join(str(p) for p in args.paths), profile=profile, report_dir=report_dir, selection=selection,
        static_inputs=inputs, builtins=bool(getattr(args, "with_checkov_builtins", False))))
