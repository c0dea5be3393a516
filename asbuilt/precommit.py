"""`asbuilt-pre-commit FILE...`: the pre-commit hook (.pre-commit-hooks.yaml, id asbuilt-static).

pre-commit passes the changed files; Terraform modules and charts are folders, so the hook scans the
folder of each file (once), quietly, with its reports in a temporary folder: what the committer
sees is the table of controls that failed and the exit code (0, 1 a must control failed, 2).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="asbuilt-pre-commit", description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="conncentric-aws", help="profile name or file")
    p.add_argument("--values", action="append", default=[], help="Helm values file (repeatable)")
    p.add_argument("--control", action="append", default=[], metavar="ID", help="only this control (repeatable)")
    p.add_argument("--strict", action="store_true", help="should-controls fail too")
    p.add_argument("filenames", nargs="*", help="the changed files (from pre-commit)")
    args = p.parse_args(argv)
    folders = list(dict.fromkeys(str(Path(f).parent) for f in args.filenames if Path(f).exists()))
    if not folders:
        return 0
    from asbuilt import console
    from asbuilt.cli import main as asbuilt

    console.ANNOUNCE_REPORTS = False  # they are in a temporary folder, gone when the hook ends

    with tempfile.TemporaryDirectory(prefix="asbuilt-pre-commit-") as tmp:
        extra = [a for v in args.values for a in ("--values", v)] + [a for c in args.control for a in ("--control", c)]
        return asbuilt(["static", *folders, "--profile", args.profile, "--report-dir", tmp, "-o", "json",
                        *extra, *(["--strict"] if args.strict else [])])


if __name__ == "__main__":
    sys.exit(main())
