"""`asbuilt bundle build DIR -o ZIP` and `asbuilt bundle verify ZIP` (BNDL-01).

Exit codes: 0 valid, 1 invalid (each problem on its own line, a summary line last),
2 bad input (a missing file or directory: one line on stderr, raised as InputError and
printed by asbuilt.cli).
"""

from __future__ import annotations

import argparse
import sys

from asbuilt import bundle

DEFAULT_PROFILE = "conncentric-aws"


def _limits(args: argparse.Namespace) -> bundle.Limits:
    return bundle.Limits.from_profile(getattr(args, "profile", None) or DEFAULT_PROFILE)


def _counts(entries: list[bundle.Entry]) -> str:
    def n(kind: str, word: str) -> str:
        k = sum(1 for e in entries if e.kind == kind)
        return f"{k} {word}{'' if k == 1 else 's'}"

    total = sum(e.size for e in entries)
    return f"{n('manifest', 'manifest')}, {n('plugin', 'plugin')}, {n('artifact', 'artifact')}; {total} bytes uncompressed"


def _invalid(problems: list[str], what: str) -> int:
    for p in problems:
        print(p)
    print(f"{what}: INVALID ({len(problems)} problem{'' if len(problems) == 1 else 's'}, BNDL-01)")
    return 1


def cmd_build(args: argparse.Namespace) -> int:
    try:
        res = bundle.build(args.dir, args.output, _limits(args))
    except bundle.BundleError as exc:
        return _invalid(exc.problems, f"bundle source {args.dir}")
    for name in res.skipped:
        print(f"left out: {name} (documents the source tree; not bundle content)")
    print(f"built {res.path}: {_counts(res.entries)}; sha256 {res.sha256}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    result = bundle.scan(args.zip, _limits(args))
    if result.problems:
        return _invalid(result.problems, f"bundle {args.zip}")
    for e in result.entries:
        if e.kind != "directory":
            print(f"{e.sha256}  {e.size:>10}  {e.name}")
    print(f"bundle {args.zip}: valid ({_counts(result.entries)})")
    return 0


def cmd_bundle(args: argparse.Namespace) -> int:
    handlers = {"build": cmd_build, "verify": cmd_verify}
    handler = handlers.get(args.bundle_command)
    if handler is None:  # argparse only lets the two through
        print(f"asbuilt: error: unknown bundle command {args.bundle_command!r}", file=sys.stderr)
        return 2
    return handler(args)
