# PYTHON_ARGCOMPLETE_OK
"""The `asbuilt` command (contract: shared/interface.md).

Every failure the user can cause ends in one line on stderr and exit 2, never a traceback
(set ASBUILT_DEBUG=1 to see one for an internal error).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from asbuilt import __version__
from asbuilt.console import add_output_options, configure, epilog
from asbuilt.errors import InputError, RunError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # usage errors: one line, exit 2
        self.exit(2, f"asbuilt: error: {message} (see `{self.prog} --help`)\n")


DEFAULT_TIMEOUT = 1800.0


def _workers(value: str) -> str:
    """-n: checked before anything runs (pytest would print its usage after the static phase)."""
    if value in ("auto", "logical") or (value.isdigit() and int(value) <= 256):
        return value
    raise argparse.ArgumentTypeError(f"expected a number of workers (0-256), auto or logical, got {value[:20]!r}")


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {value[:20]!r}") from None
    if not 0 < seconds <= 7 * 24 * 3600 or seconds != seconds:
        raise argparse.ArgumentTypeError("expected a number of seconds between 0 and 604800")
    return seconds


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    p = _Parser(prog="asbuilt", description="Check what was built against the reference architecture.",
                epilog=epilog(), formatter_class=fmt)
    p.add_argument("--version", action="version", version=f"asbuilt {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")

    c = sub.add_parser("controls", help="list the control catalogue", description="List the control catalogue.")
    c.add_argument("--profile", help="only this profile's controls (name or profile file)")
    c.add_argument("--format", choices=["table", "json"], default="table", help="output format (default: table)")

    r = sub.add_parser("run", help="run the scenarios and static checks against a target", epilog=epilog(),
                       formatter_class=fmt, description="Run the live scenarios and static checks that apply to "
                                                        "a target, write the reports, exit 0/1/2/3.")
    r.add_argument("--target", required=True, help="target file, or 'sandbox'")
    r.add_argument("--profile", help="profile name or file (default: the target's, else conncentric-aws)")
    add_output_options(r)
    r.add_argument("--control", action="append", dest="controls", metavar="ID", help="only this control (repeatable)")
    mode = r.add_mutually_exclusive_group()
    mode.add_argument("--live-only", action="store_true", help="only the live scenarios (no static checks)")
    mode.add_argument("--static-only", action="store_true", help="only the static checks of the target's code")
    r.add_argument("--strict", action="store_true", help="should-controls and pending controls fail the gate")
    r.add_argument("--allow-mutating", action="store_true",
                   help="run @mutating scenarios (they write under a dedicated prefix and clean up)")
    r.add_argument("--waivers", type=Path, help="waiver file (YAML, see examples/waivers.yaml)")
    r.add_argument("--baseline", type=Path,
                   help="results.json of an earlier run: writes drift.md/drift.json; exit 3 on drift "
                        "(when nothing failed: 1 and 2 take precedence)")
    r.add_argument("-n", dest="workers", type=_workers, help="parallel workers (pytest-xdist): a number, auto or logical")
    r.add_argument("--timeout", type=_seconds, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help=f"deadline of the whole run (default {DEFAULT_TIMEOUT:g}): what is not checked by then is "
                        "`error` (run deadline reached) and the run exits 2")

    s = sub.add_parser("static", help="static checks only, on IaC (Terraform HCL, plan/state JSON, CloudFormation), "
                       "charts, manifests, compose, Gradle, bundles",
                       epilog=epilog(), formatter_class=fmt,
                       description="Static checks only, on the given folders and files; exit 0/1/2.")
    s.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                   help="IaC folders/files, Helm charts, manifests, compose files, Gradle builds, bundle zips, "
                        "Terraform plan/state JSON")
    s.add_argument("--profile", default="conncentric-aws", help="profile name or file (default: conncentric-aws)")
    s.add_argument("--values", action="append", type=Path, default=[], help="Helm values file (repeatable)")
    s.add_argument("--var-file", action="append", type=Path, default=[], dest="var_files", metavar="FILE",
                   help="Terraform variables file (.tfvars / .tfvars.json), as terraform plan -var-file, for the "
                        "Terraform folders scanned (repeatable)")
    s.add_argument("--var", action="append", default=[], dest="tf_vars", metavar="NAME=VALUE",
                   help="a Terraform variable, as terraform plan -var (repeatable; lists and maps in HCL/JSON form)")
    s.add_argument("--parameter", action="append", default=[], dest="cfn_parameters", metavar="NAME=VALUE",
                   help="a CloudFormation parameter value for the templates scanned, as aws cloudformation deploy "
                        "--parameter-overrides (repeatable); decides Conditions and Fn::If")
    s.add_argument("--parameter-file", action="append", type=Path, default=[], dest="cfn_parameter_files",
                   metavar="FILE", help="CloudFormation parameter values in a file: ParameterKey/ParameterValue "
                   "list (create-stack --parameters file://), {\"Parameters\": {...}} template configuration, "
                   "NAME=VALUE list or mapping (repeatable; --parameter wins)")
    s.add_argument("--release", metavar="NAME", help="Helm release name the charts are rendered as (default: the "
                   "chart's name)")
    s.add_argument("--namespace", metavar="NS", help="namespace the charts are rendered into (default: the release's name)")
    add_output_options(s)
    s.add_argument("--control", action="append", dest="controls", metavar="ID", help="only this control (repeatable)")
    s.add_argument("--strict", action="store_true", help="should-controls fail the gate")
    s.add_argument("--with-checkov-builtins", action="store_true",
                   help="also run checkov's built-in checks; their findings are listed apart (extra_findings)")

    sb = sub.add_parser("sandbox", help="the embedded reference deployment")
    sbs = sb.add_subparsers(dest="sandbox_command", required=True, parser_class=_Parser, metavar="ACTION")
    up = sbs.add_parser("up", help="start it (writes its target file; prints the path last)")
    up.add_argument("--drift", action="append", default=[], metavar="NAME",
                    help="deploy with this drift (repeatable; see `asbuilt sandbox drifts`)")
    up.add_argument("--aws", choices=["moto", "localstack"], default="moto",
                    help="the AWS side: moto (default) or LocalStack community edition in its own namespace")
    sbs.add_parser("down", help="stop it")
    sbs.add_parser("status", help="what runs, where, with which drifts")
    dr = sbs.add_parser("drifts", help="the drifts it can deploy")
    dr.add_argument("--format", choices=["table", "json"], default="table", help="output format (default: table)")

    b = sub.add_parser("bundle", help="build / verify custom bundles")
    bs = b.add_subparsers(dest="bundle_command", required=True, parser_class=_Parser, metavar="ACTION")
    bb = bs.add_parser("build", help="build a bundle zip from a folder")
    bb.add_argument("dir", type=Path, help="the bundle folder (manifests/, artifacts/, plugins/)")
    bb.add_argument("-o", "--output", type=Path, required=True, help="the zip to write")
    bv = bs.add_parser("verify", help="validate a bundle zip (exit 1 when invalid)")
    bv.add_argument("zip", type=Path, help="the bundle zip")

    rep = sub.add_parser("report", help="render the sign-off report from a results file")
    rep.add_argument("results", type=Path, help="a results.json")
    rep.add_argument("--html", type=Path, required=True, help="the HTML file to write")

    d = sub.add_parser("drift", help="compare two results files")
    d.add_argument("--baseline", type=Path, required=True, help="the earlier results.json")
    d.add_argument("--current", type=Path, required=True, help="the later results.json")
    d.add_argument("--markdown", type=Path, help="write a Markdown summary (for a CI comment)")
    d.add_argument("--json", type=Path, help="write the full comparison as JSON")
    return p


def cmd_controls(args: argparse.Namespace) -> int:
    from asbuilt.catalogue import load_catalogue, load_profile, requirement_text

    cat = load_catalogue()
    controls = cat.controls
    profile = None
    if args.profile:
        profile = load_profile(args.profile)
        controls = cat.for_profile(profile.base)
    if args.format == "json":
        out = []
        for c in controls:
            entry = c.model_dump(mode="json")
            entry["where"] = list(c.where)
            if profile:
                entry["requirement"] = requirement_text(c, profile)
                entry["thresholds"] = profile.params(c.id)
            out.append(entry)
        print(json.dumps(out, indent=2))
        return 0
    print(f"{'ID':<12} {'severity':<8} {'where':<12} {'profile':<16} title")
    for c in controls:
        print(f"{c.id:<12} {c.severity:<8} {'+'.join(c.where):<12} {c.profile:<16} {c.title}")
    print(f"\n{len(controls)} controls")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from asbuilt.runner import run

    pytest_args = ["-n", args.workers] if args.workers else []
    return run(
        args.target, args.profile, args.report_dir, args.controls,
        live=not args.static_only, static=not args.live_only, strict=args.strict,
        allow_mutating=args.allow_mutating, pytest_args=pytest_args,
        waivers_path=args.waivers, baseline_path=args.baseline, workers=args.workers,
        timeout=args.timeout,
    )


def cmd_report(args: argparse.Namespace) -> int:
    from asbuilt.report.html import report_command

    return report_command(args.results, args.html)


def cmd_drift(args: argparse.Namespace) -> int:
    from asbuilt.report import drift

    report = drift.compare_files(args.baseline, args.current)
    try:
        drift.write_files(report, args.markdown, args.json)
    except OSError as exc:
        raise InputError(f"cannot write the drift report: {exc.strerror or exc}: {exc.filename}") from None
    from asbuilt.safeio import clean

    print(clean(drift.text_summary(report)))
    return 3 if report.drift else 0


def cmd_static(args: argparse.Namespace) -> int:
    from asbuilt.static.cli import cmd_static as run_static

    return run_static(args)


def cmd_sandbox(args: argparse.Namespace) -> int:
    from asbuilt_sandbox import manager
    from asbuilt_sandbox.drifts import DRIFTS

    if args.sandbox_command == "up":
        from asbuilt_sandbox.drifts import resolve

        resolve(args.drift)  # an unknown drift is an input error before waiting for the lock
        from asbuilt.console import progress

        with manager.exclusive():  # another `up`/`down` or a test holding the sandbox: wait for it
            with progress("sandbox: starting"):
                path = manager.up(args.drift, aws=args.aws)
        print(path)
    elif args.sandbox_command == "down":
        with manager.exclusive():
            manager.down()
        print("sandbox: down")
    elif args.sandbox_command == "status":
        st = manager.status()
        for name, s in st.items():
            if isinstance(s, dict):
                print(f"{name:<10} {'up' if s['up'] else 'down':<5} {s['address']}")
        print(f"drifts     {', '.join(st['drifts']) or 'none'}")
        print(f"target     {st['target'] or '-'}")
    elif args.sandbox_command == "drifts":
        if args.format == "json":
            print(json.dumps([d.as_json() for d in DRIFTS], indent=2))
        else:
            for d in DRIFTS:
                print(f"{d.name:<28} {','.join(d.controls):<20} {d.description}")
    return 0


def _not_yet(what: str) -> int:
    raise RunError(f"{what} is not available yet in this version")


def cmd_bundle(args: argparse.Namespace) -> int:
    from asbuilt.bundle_cli import cmd_bundle as run_bundle

    return run_bundle(args)


COMMANDS = {
    "controls": cmd_controls,
    "run": cmd_run,
    "static": cmd_static,
    "sandbox": cmd_sandbox,
    "bundle": cmd_bundle,
    "report": cmd_report,
    "drift": cmd_drift,
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        import argcomplete  # shell completion: eval "$(register-python-argcomplete asbuilt)"

        argcomplete.autocomplete(parser)
    except ImportError:
        pass
    args = parser.parse_args(argv)
    if args.command in ("run", "static"):
        configure(args)
        from asbuilt.console import no_third_party_colour

        no_third_party_colour()
    handler = COMMANDS.get(args.command)
    try:
        if handler is None:
            return _not_yet(f"`asbuilt {args.command}`")
        return handler(args)
    except (InputError, RunError) as exc:
        from asbuilt.safeio import clean

        print(clean(f"asbuilt: error: {exc}", keep_newlines=False), file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # `asbuilt controls | head`: the reader went away, not an error
        return 0
    except KeyboardInterrupt:
        print("asbuilt: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # an internal defect: still one line, unless debugging
        if os.environ.get("ASBUILT_DEBUG"):
            raise
        from asbuilt.safeio import clean

        print(clean(f"asbuilt: internal error: {type(exc).__name__}: {exc} (ASBUILT_DEBUG=1 for details)",
                    keep_newlines=False), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
