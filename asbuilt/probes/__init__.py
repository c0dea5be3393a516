"""Probes: read-only collectors of evidence from a live target, each object fetched once per run."""

from __future__ import annotations


class ProbeError(Exception):
    """A probe could not read what it needed (unreachable, unsupported, denied, timed out).

    The controls that needed it end as ``error`` with this one-line message, never as a pass.
    """
