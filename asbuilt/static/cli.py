"""`asbuilt static PATH...`: static checks only (contract: shared/interface.md)."""

from __future__ import annotations

import argparse

from asbuilt.errors import RunError


def cmd_static(args: argparse.Namespace) -> int:
    raise RunError("`asbuilt static` is not available yet in this version")
